/**
 * The calibration file: what `schedlab calibrate` measured on this machine, as plain,
 * versioned JSON that the advisor, the report and any other tool (a dashboard) can read.
 *
 * One entry per pool (scheduler × workers) holds its fitted cost model, each figure with a
 * 95 % interval: start-up, the fixed cost of a `get`, the cost of one task, the cost of one
 * byte by kind of value and direction, the parallel efficiency of compute, and METG (Task
 * Bench's minimum effective task granularity). `fingerprint` is the part of the environment
 * that decides whether the costs still hold: a file whose fingerprint differs from the
 * machine reading it is refused (or, when the reader asks, used and flagged).
 * `catalog` keeps the profiles of the catalog workloads measured with it, so the report can
 * place them on the decision map and check the model against a bench run.
 */
import { z } from 'zod';
import { SCHEDULER_NAMES } from '../common/cells.js';
import { profiledGraphSchema } from './profile.js';

export const CALIBRATION_SCHEMA_VERSION = 1;

/** Kinds of values, by how they cross a boundary: a plain typed array, a SharedArrayBuffer-backed array, anything else (strings, objects). */
export const VALUE_KINDS = ['plain', 'shared', 'object'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/** Directions a value can travel, as the schedulers' `stats()` count them. */
export const DIRECTIONS = ['toWorkers', 'fromWorkers', 'betweenWorkers'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** A fitted figure with its 95 % interval. */
export const estimateSchema = z.object({ value: z.number(), low: z.number(), high: z.number() });
export type Estimate = z.infer<typeof estimateSchema>;

/**
 * Where values live between tasks, read from the pool's own byte counters: `inline` (no
 * boundary: tasks run on the calling thread), `via-main` (every value comes back to the
 * main process and is sent again), `peer-to-peer` (values stay on workers and move between
 * them), `via-store` (values live in a store every reader fetches them from: BullMQ's Redis).
 */
export const DATA_PATHS = ['inline', 'via-main', 'peer-to-peer', 'via-store'] as const;
export type DataPath = (typeof DATA_PATHS)[number];

const byKindAndDirection = z.object(
  Object.fromEntries(VALUE_KINDS.map((k) => [k, z.object(Object.fromEntries(DIRECTIONS.map((d) => [d, estimateSchema])) as Record<Direction, typeof estimateSchema>)])) as Record<
    ValueKind,
    z.ZodObject<Record<Direction, typeof estimateSchema>>
  >,
);

/** One point of the efficiency curve behind METG. */
export const metgPointSchema = z.object({
  /** Nominal duration of one task (its compute alone, as measured on the main thread), seconds. */
  taskSeconds: z.number(),
  /** Task granularity by Task Bench's definition: wall time × workers / tasks, seconds. */
  granularitySeconds: z.number(),
  /** Useful compute / (wall time × workers). */
  efficiency: z.number(),
});

export const metgSchema = z.object({
  /** Smallest granularity with ≥ 50 % efficiency; null when no measured point reached 50 %. */
  seconds: z.number().nullable(),
  /** exact: interpolated between two points; at-most: even the smallest point measured reached 50 %; none: no point did. */
  bound: z.enum(['exact', 'at-most', 'none']),
  points: z.array(metgPointSchema),
});

export const poolCostsSchema = z.object({
  scheduler: z.enum(SCHEDULER_NAMES),
  workers: z.number().int().positive(),
  dataPath: z.enum(DATA_PATHS),
  startupSeconds: estimateSchema,
  getSeconds: estimateSchema,
  taskSeconds: estimateSchema,
  /** Seconds per byte, by kind of value and direction. */
  byteSeconds: byKindAndDirection,
  /** Compute speed of a worker relative to the main thread alone (1 = no loss): the median over the compute runs. */
  efficiency: estimateSchema,
  /**
   * The same, by task duration (ascending): one point per compute-bound calibration run. A
   * pool that pays a round trip per batch of tasks (BullMQ: a job through Redis) loses a
   * larger share of a short task than of a long one, so one figure fitted on short tasks
   * overprices long ones. Absent in older files: `efficiency` then applies to every task.
   */
  efficiencyCurve: z.array(z.object({ taskSeconds: z.number().positive(), efficiency: z.number().positive() })).optional(),
  /** Typical relative error of the simulator on this pool's own calibration runs (the median). */
  relativeError: z.number().nonnegative(),
  /**
   * What a task costs more when the caller observes every task's events (`onEvent`), as the
   * bench does for its task stream and busy time; absent in older files. Predictions are of
   * a plain `get`; the model check, which compares them with bench samples, adds it.
   */
  observedTaskSeconds: z.number().nonnegative().optional(),
  /**
   * How much more (or less) a byte of a long string costs this pool than its profiled weight
   * says (the weight is v8.serialize's time for it against the object rows', which is what
   * structured clone pays, not what a pipe, gRPC or Redis does): fitted on one run of tasks
   * reading 2 MiB string literals. json-memory small moves 41.5 MB of text weighted 0.028;
   * on processes×2 it took 150 ms more than that priced (3.6 ns a byte). Absent in older
   * files: 1.
   */
  stringWeight: estimateSchema.optional(),
  /**
   * Via main: results no caller reads, with one consumer, go to it without a trip through main
   * (threads' sealed values; simulate.ts `sealed`). Absent in older files: false.
   */
  seals: z.boolean().optional(),
  /**
   * Cores of the machine it was fitted on: the simulator lets main's work take a core from
   * workers that fill the machine (simulate.ts, "Cores"). Absent in older files: not modelled.
   */
  cores: z.number().int().positive().optional(),
  /** Mean share of a core that other processes used during this pool's runs (absent in older files). */
  outsideLoad: z.number().nonnegative().optional(),
  /** Calibration runs this pool was fitted on. */
  observations: z.number().int().nonnegative(),
  metg: metgSchema,
});

/** The part of the environment that must match for the costs to apply. */
export const fingerprintSchema = z.object({
  hostname: z.string(),
  cpuModel: z.string(),
  cores: z.number().int(),
  availableParallelism: z.number().int(),
  totalMemoryBytes: z.number(),
  platform: z.string(),
  arch: z.string(),
  osRelease: z.string(),
  node: z.string(),
  /** schedlab and the packages that shape its timings. */
  packages: z.record(z.string()),
});

export const catalogProfileSchema = z.object({
  workload: z.string(),
  size: z.string(),
  params: z.record(z.union([z.string(), z.number(), z.boolean()])),
  graph: profiledGraphSchema,
});

export const calibrationFileSchema = z.object({
  schemaVersion: z.literal(CALIBRATION_SCHEMA_VERSION),
  kind: z.literal('schedlab-calibration'),
  createdAt: z.string(),
  /** quick or full sweep. */
  sweep: z.enum(['quick', 'full']),
  durationSeconds: z.number().nonnegative(),
  fingerprint: fingerprintSchema,
  /** The full environment as the harness captured it (for people; matching uses `fingerprint`). */
  environment: z.record(z.unknown()),
  pools: z.array(poolCostsSchema),
  /** Pools that could not be calibrated, with why. */
  skipped: z.array(z.object({ scheduler: z.string(), workers: z.number().int().nullable(), reason: z.string() })),
  catalog: z.array(catalogProfileSchema),
});

export type MetgPoint = z.infer<typeof metgPointSchema>;
export type Metg = z.infer<typeof metgSchema>;
export type PoolCosts = z.infer<typeof poolCostsSchema>;
export type Fingerprint = z.infer<typeof fingerprintSchema>;
export type CatalogProfile = z.infer<typeof catalogProfileSchema>;
export type CalibrationFile = z.infer<typeof calibrationFileSchema>;

/** A calibration file could not be read, is not valid, or belongs to another environment. */
export class CalibrationFileError extends Error {
  readonly code = 'BAD_CALIBRATION_FILE';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CalibrationFileError';
  }
}

/** Validate parsed JSON as a calibration file; `file` names it in errors. */
export function parseCalibration(data: unknown, file: string): CalibrationFile {
  if (typeof data !== 'object' || data === null || (data as { kind?: unknown }).kind !== 'schedlab-calibration') {
    throw new CalibrationFileError(file, 'not a schedlab calibration file (no kind "schedlab-calibration"); pass a file written by `schedlab calibrate`');
  }
  const version = (data as { schemaVersion?: unknown }).schemaVersion;
  if (typeof version === 'number' && version > CALIBRATION_SCHEMA_VERSION) {
    throw new CalibrationFileError(file, `schema version ${version} is newer than this schedlab understands (${CALIBRATION_SCHEMA_VERSION}); upgrade schedlab or run \`schedlab calibrate\` again`);
  }
  const parsed = calibrationFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CalibrationFileError(file, `invalid calibration file at ${issue.path.join('.') || '(root)'}: ${issue.message}; run \`schedlab calibrate\` again`);
  }
  return parsed.data;
}

/** The environment fields a fingerprint is made of (the harness's and the results file's environment both have them). */
export interface EnvironmentLike {
  hostname?: string;
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  totalMemoryBytes: number;
  os: { platform: string; release: string; arch: string };
  node: string;
  packages: Record<string, string>;
}

export function fingerprintOf(env: EnvironmentLike): Fingerprint {
  return {
    hostname: env.hostname ?? 'unknown',
    cpuModel: env.cpuModel,
    cores: env.cores,
    availableParallelism: env.availableParallelism,
    totalMemoryBytes: env.totalMemoryBytes,
    platform: env.os.platform,
    arch: env.os.arch,
    osRelease: env.os.release,
    node: env.node,
    packages: { ...env.packages },
  };
}

/** What differs between two fingerprints, one phrase each ("node 20.1.0 vs 22.3.0"); empty when they match. */
export function fingerprintDifferences(file: Fingerprint, here: Fingerprint): string[] {
  const out: string[] = [];
  const fields = ['hostname', 'cpuModel', 'cores', 'availableParallelism', 'totalMemoryBytes', 'platform', 'arch', 'osRelease', 'node'] as const;
  for (const f of fields) if (file[f] !== here[f]) out.push(`${f} ${String(file[f])} vs ${String(here[f])} here`);
  for (const name of new Set([...Object.keys(file.packages), ...Object.keys(here.packages)])) {
    if (file.packages[name] !== here.packages[name]) out.push(`${name} ${file.packages[name] ?? 'absent'} vs ${here.packages[name] ?? 'absent'} here`);
  }
  return out;
}

/** A short stable name for a fingerprint (FNV-1a of its JSON), used in the calibration file's name. */
export function fingerprintId(fp: Fingerprint): string {
  const text = JSON.stringify([fp.hostname, fp.cpuModel, fp.cores, fp.availableParallelism, fp.totalMemoryBytes, fp.platform, fp.arch, fp.osRelease, fp.node, Object.entries(fp.packages).sort()]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
