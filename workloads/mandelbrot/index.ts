/**
 * mandelbrot (the cpu-bound case): a `width`×`height` escape-time image split into
 * `tile`×`tile` pixel tiles, one task each, up to `maxIter` iterations per pixel. Inputs and
 * outputs are a handful of numbers, so any parallel scheduler should approach a speedup
 * equal to its worker count. Tiles near the set cost far more than others (uneven tasks).
 *
 * Verification recomputes a sample of tiles with an independent complex-arithmetic loop.
 */
import { GraphBuilder } from '../../schedulers/graph.js';
import { check, checkResultCount, opNamer, positiveInt } from '../common.js';
import type { Workload } from '../types.js';
import { VIEW, type TileSummary } from './ops.js';
import type * as ops from './ops.js';

const op = opNamer<typeof ops>(new URL('./ops.js', import.meta.url).href);

/** Parameters: image size in pixels, tile edge in pixels, iteration cap. */
export interface MandelbrotParams {
  [name: string]: number;
  width: number;
  height: number;
  tile: number;
  maxIter: number;
}

interface Tile {
  px: number;
  py: number;
  w: number;
  h: number;
}

function tiles(params: MandelbrotParams): Tile[] {
  const width = positiveInt('mandelbrot', params, 'width');
  const height = positiveInt('mandelbrot', params, 'height');
  const tile = positiveInt('mandelbrot', params, 'tile');
  positiveInt('mandelbrot', params, 'maxIter');
  const out: Tile[] = [];
  for (let py = 0; py < height; py += tile) {
    for (let px = 0; px < width; px += tile) out.push({ px, py, w: Math.min(tile, width - px), h: Math.min(tile, height - py) });
  }
  return out;
}

/** Reference: escape count of one pixel, written with an explicit complex square. */
function escapeCount(x: number, y: number, params: MandelbrotParams): number {
  const c = {
    re: VIEW.x0 + (x + 0.5) * ((VIEW.x1 - VIEW.x0) / params.width),
    im: VIEW.y0 + (y + 0.5) * ((VIEW.y1 - VIEW.y0) / params.height),
  };
  let z = { re: 0, im: 0 };
  for (let n = 0; n < params.maxIter; n++) {
    if (z.re * z.re + z.im * z.im > 4) return n;
    z = { re: z.re * z.re - z.im * z.im + c.re, im: 2 * z.re * z.im + c.im };
  }
  return params.maxIter;
}

export const mandelbrot: Workload<MandelbrotParams> = {
  name: 'mandelbrot',
  description:
    'CPU-bound pure JavaScript: Mandelbrot escape-time tiles, one task per tile. Each task computes for a ' +
    'long time on a few numbers in and out, so nothing but compute matters: threads and processes should ' +
    'approach a speedup equal to the worker count (JavaScript has no GIL). Tiles near the set cost much more ' +
    'than others, so it also shows how well a scheduler balances uneven tasks.',
  sizes: {
    quick: { width: 1024, height: 768, tile: 128, maxIter: 600 },
    small: { width: 1600, height: 1200, tile: 100, maxIter: 2_000 },
    medium: { width: 6400, height: 4800, tile: 200, maxIter: 2_000 },
    large: { width: 12800, height: 9600, tile: 200, maxIter: 4_000 },
  },

  build(params) {
    const g = new GraphBuilder();
    const keys = tiles(params).map(
      (t) => g.task(`tile-${t.px}-${t.py}`, op('renderTile'), [t.px, t.py, t.w, t.h, params.width, params.height, params.maxIter]).$ref,
    );
    return { graph: g.graph, keys };
  },

  verify(results, params) {
    const all = tiles(params);
    checkResultCount('mandelbrot', results, all.length);
    all.forEach((t, index) => {
      const s = results[index] as TileSummary | undefined;
      check('mandelbrot', !!s && Number.isInteger(s.iterations) && Number.isInteger(s.inside), () =>
        `tile ${t.px},${t.py} should be { iterations, inside, checksum }, got ${JSON.stringify(s)}`);
      check('mandelbrot', s.inside <= t.w * t.h && s.iterations <= t.w * t.h * params.maxIter, () =>
        `tile ${t.px},${t.py} reports ${s.inside} inside / ${s.iterations} iterations, impossible for ${t.w}×${t.h} pixels`);
    });
    // Recompute the tile through the image centre, the first and the last tile in full.
    const sampled = new Set([0, Math.floor(all.length / 2), all.length - 1]);
    for (const index of sampled) {
      const t = all[index]!;
      const s = results[index] as TileSummary;
      let iterations = 0;
      let inside = 0;
      let checksum = 0;
      for (let y = t.py; y < t.py + t.h; y++) {
        for (let x = t.px; x < t.px + t.w; x++) {
          const n = escapeCount(x, y, params);
          iterations += n;
          if (n === params.maxIter) inside++;
          checksum = (checksum + n * (((x * 7 + y * 13) % 101) + 1)) % 1_000_000_007;
        }
      }
      check('mandelbrot', s.iterations === iterations && s.inside === inside && s.checksum === checksum, () =>
        `tile ${t.px},${t.py}: got ${s.iterations} iterations / ${s.inside} inside / checksum ${s.checksum}, ` +
        `the reference gives ${iterations} / ${inside} / ${checksum}`);
    }
  },
};
