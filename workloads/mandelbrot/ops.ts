/** Op of the mandelbrot workload: long pure-JS compute, a few numbers in and out. */

/** What one tile reports: total escape iterations, pixels that never escaped, and a position-weighted checksum. */
export interface TileSummary {
  iterations: number;
  inside: number;
  checksum: number;
}

/** The complex-plane window rendered (x from -2.2 to 1.0, y from -1.2 to 1.2). */
export const VIEW = { x0: -2.2, x1: 1.0, y0: -1.2, y1: 1.2 } as const;

/**
 * Escape-time iteration counts of the `w`×`h` pixels at (px, py) of a `width`×`height`
 * image, summarised. Pixel (x, y) maps to the centre of its cell in VIEW.
 */
export function renderTile(px: number, py: number, w: number, h: number, width: number, height: number, maxIter: number): TileSummary {
  const dx = (VIEW.x1 - VIEW.x0) / width;
  const dy = (VIEW.y1 - VIEW.y0) / height;
  let iterations = 0;
  let inside = 0;
  let checksum = 0;
  for (let y = py; y < py + h; y++) {
    const ci = VIEW.y0 + (y + 0.5) * dy;
    for (let x = px; x < px + w; x++) {
      const cr = VIEW.x0 + (x + 0.5) * dx;
      let zr = 0;
      let zi = 0;
      let zr2 = 0;
      let zi2 = 0;
      let n = 0;
      while (n < maxIter && zr2 + zi2 <= 4) {
        zi = 2 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        zr2 = zr * zr;
        zi2 = zi * zi;
        n++;
      }
      iterations += n;
      if (n === maxIter) inside++;
      checksum = (checksum + n * ((x * 7 + y * 13) % 101 + 1)) % 1_000_000_007;
    }
  }
  return { iterations, inside, checksum };
}
