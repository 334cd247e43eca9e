/**
 * Human-readable figures, the one way schedlab prints them: the terminal (progress lines,
 * summary), the HTML and the Markdown report all format with these. Three significant
 * digits, no trailing zeros. Imports nothing.
 */

/** 0.0123 → "12.3 ms". Seconds in, the unit that keeps 3 significant digits out. */
export function formatSeconds(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs === 0) return '0 s';
  if (abs < 1e-3) return `${round3(seconds * 1e6)} µs`;
  if (abs < 1) return `${round3(seconds * 1e3)} ms`;
  return `${round3(seconds)} s`;
}

/** 1_900_000_000 → "1.9 GB" (decimal units, as disk and network tools print). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : round3(value)} ${units[unit]}`;
}

/** 850 → "850 µs", 12_500 → "12.5 ms". */
export function formatMicros(us: number): string {
  return us >= 1000 ? formatSeconds(us / 1e6) : `${round3(us)} µs`;
}

/** 1.834 → "×1.83". */
export function formatSpeedup(speedup: number): string {
  return `×${round3(speedup)}`;
}

/** 0.123 → "+12.3 %"; signed, for changes and margins. */
export function formatChange(fraction: number): string {
  const pct = round3(fraction * 100);
  return `${pct > 0 ? '+' : ''}${pct} %`;
}

/** 0.123 → "12.3 %". */
export function formatPercent(fraction: number): string {
  return `${round3(fraction * 100)} %`;
}

/** "1m05s", "12s": elapsed and remaining time of a run. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Three significant digits, no trailing zeros. */
function round3(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(3));
}
