/**
 * Worker names for events and task streams: a pool reports a thread id or process id with
 * each batch result; the executor turns it into a small stable name in order of first
 * appearance, so the first worker to answer the start-up ping is `thread-0`.
 */

/** Gives each worker a small stable name (`thread-0`, `process-1`) in order of first appearance. */
export class WorkerNames {
  readonly #names = new Map<number, string>();
  constructor(private readonly prefix: string) {}
  name(tag: number): string {
    let name = this.#names.get(tag);
    if (name === undefined) {
      name = `${this.prefix}-${this.#names.size}`;
      this.#names.set(tag, name);
    }
    return name;
  }
}
