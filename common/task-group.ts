/**
 * A task's group, as Dask's "key prefix": the key up to its first `-` (`inc-12` → `inc`,
 * `sum` → `sum`). The dashboard and the saved performance report colour and count by it.
 * Imports nothing.
 */
export function taskGroup(key: string): string {
  const dash = key.indexOf('-');
  return dash > 0 ? key.slice(0, dash) : key || '(empty)';
}
