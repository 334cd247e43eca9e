/**
 * The results file: what `schedlab bench` writes and `schedlab report` reads.
 *
 * Versioned plain JSON. Measurement (harness) writes it before any report is drawn; the
 * report reads only this. `parseResults` rejects a malformed file or a schema version from
 * the future with a message that names the file and the field.
 * All times are seconds unless a field name says otherwise; bytes are bytes.
 */
import { z } from 'zod';
import { SCHEDULER_NAMES } from '../common/cells.js';

/**
 * Version written by this schedlab. Version 1 files (before racing) are still read: the
 * fields added in 2 (`raceEnd`, `noise` on cells; `settings`, `reference` on the file)
 * default to null there.
 */
export const RESULTS_SCHEMA_VERSION = 2;
/** Every version this schedlab reads. */
export const READABLE_SCHEMA_VERSIONS = [1, 2] as const;

const schedulerName = z.enum(SCHEDULER_NAMES);

export const environmentSchema = z.object({
  cpuModel: z.string(),
  /** Logical CPUs (`os.cpus().length`). */
  cores: z.number().int().positive(),
  /** `os.availableParallelism()`. */
  availableParallelism: z.number().int().positive(),
  totalMemoryBytes: z.number().nonnegative(),
  os: z.object({ platform: z.string(), release: z.string(), arch: z.string() }),
  node: z.string(),
  v8: z.string(),
  /** schedlab and the packages that shape its timings (piscina, workerpool, grpc-js, tinybench...). */
  packages: z.record(z.string()),
  gitCommit: z.string().nullable(),
  hostname: z.string().optional(),
  /** The exact command line (process.argv). */
  command: z.array(z.string()),
});

export const statsSchema = z.object({
  median: z.number(),
  mean: z.number(),
  min: z.number(),
  max: z.number(),
  sd: z.number(),
  /** Relative margin of error, percent (tinybench's `rme`). */
  rme: z.number(),
});

/** Where a distributed task's time went on its worker, seconds (optional: only distributed reports them). */
export const taskPhasesSchema = z.object({
  waiting: z.number(),
  transfer: z.number(),
  deserialize: z.number(),
  compute: z.number(),
  report: z.number(),
  /** Seconds from the start of the sample when its first input fetch began (absent: it fetched nothing). */
  transferStart: z.number().optional(),
});

export const taskSpanSchema = z.object({
  key: z.string(),
  worker: z.string(),
  /** Seconds from the start of the recorded sample. */
  start: z.number(),
  end: z.number(),
  phases: taskPhasesSchema.optional(),
});

/**
 * What else ran on the machine during a cell's samples (measured by the runner around each
 * sample, Linux /proc only): summed over the cell's sample windows (a window is one run with
 * its verification, as the runner waited for it).
 */
export const cellNoiseSchema = z.object({
  /** Sum of the sample windows, seconds. */
  windowSeconds: z.number().nonnegative(),
  /** CPU time every process outside this run's process tree used during the windows (all cores), seconds. */
  outsideCpuSeconds: z.number().nonnegative(),
  /** CPU time the hypervisor took from this machine during the windows (VM steal, all cores), seconds. */
  stealSeconds: z.number().nonnegative(),
  /** Samples other processes crowded, forgotten and taken again (not in the windows above); absent: none. */
  retakenSamples: z.number().int().positive().optional(),
});

export const cellSchema = z.object({
  workload: z.string(),
  size: z.string(),
  params: z.record(z.union([z.string(), z.number(), z.boolean()])),
  scheduler: schedulerName,
  workers: z.number().int().positive(),
  /** ok: measured and verified. failed: an error (see `error`). unverified: wrong answer. */
  status: z.enum(['ok', 'failed', 'unverified']),
  error: z.object({ name: z.string(), message: z.string(), code: z.string().optional() }).optional(),
  verified: z.boolean(),
  /** Wall time of each timed run, seconds (warm pool, start-up excluded). */
  samples: z.array(z.number()),
  stats: statsSchema.nullable(),
  /** median(sync, same workload and size, 1 worker) / median(this cell); null when either is missing. */
  speedup: z.number().nullable(),
  /** speedup / workers. */
  efficiency: z.number().nullable(),
  /** Tasks run per sample. */
  tasks: z.number().int().nonnegative(),
  /** (wall × workers − workers' busy time) / tasks, median over samples, in microseconds: what each task costs beyond its own work. */
  perTaskOverheadUs: z.number().nullable(),
  /** Bytes moved per sample, from the scheduler's `stats()`. */
  bytes: z.object({
    toWorkers: z.number(),
    fromWorkers: z.number(),
    betweenWorkers: z.number(),
    /** distributed: spilled to disk by workers over their memory limit / read back (absent elsewhere and in older files). */
    spilled: z.number().optional(),
    readBack: z.number().optional(),
  }),
  /** Peak resident memory of the main process plus every worker process, bytes. */
  peakMemoryBytes: z.number().nonnegative(),
  /** CPU time of the whole process tree per sample (user + system), seconds. */
  cpuSeconds: z.number().nonnegative().nullable(),
  /** Seconds to start the pool (or cluster), measured apart from the samples. */
  startupSeconds: z.number().nonnegative(),
  /** One sample's task stream for the Gantt chart, capped in size. */
  taskStream: z
    .object({ totalTasks: z.number().int(), truncated: z.boolean(), spans: z.array(taskSpanSchema) })
    .nullable(),
  /**
   * Why the cell stopped sampling in its workload's race (harness/runner/race.ts): leader, slower
   * (than the leader beyond noise), far-slower (every sample at least 2 × the leader's slowest, so
   * stopped at once), within-noise (the pair's runner-up, tied with the leader or at the sample
   * cap), off-pair (neither out nor in the pair the verdict rests on: it kept its minimum),
   * budget (the pair's budget was spent), failed. null in version-1 files.
   */
  raceEnd: z.enum(['leader', 'slower', 'far-slower', 'within-noise', 'off-pair', 'budget', 'failed']).nullable().default(null),
  /** Outside load during the samples; null where it cannot be read (no /proc) and in version-1 files. */
  noise: cellNoiseSchema.nullable().default(null),
});

/**
 * The reference probe: a fixed small CPU and memory task timed in the runner's process at the
 * start, between the workloads' races and between rounds. Its median at each point tracks how
 * fast the machine was then, so a baseline comparison can tell a machine that drifted from a
 * cell that changed.
 */
export const referenceSchema = z.object({
  /** What the probe does (it must be the same in two runs for a correction). */
  name: z.string(),
  points: z.array(
    z.object({
      /** The race (workload/size) the point was taken in; null at the start and end of the run. */
      group: z.string().nullable(),
      /** Median time of one probe iteration at this point, seconds. */
      median: z.number().positive(),
      /** Iterations timed at this point. */
      samples: z.number().int().positive(),
    }),
  ),
});

/** How hard the run measured (the preset's or the command line's). */
export const settingsSchema = z.object({
  /** Seconds of samples per (workload, size) race. */
  budgetSeconds: z.number().positive(),
  minSamples: z.number().int().positive(),
  maxSamples: z.number().int().positive(),
  runTimeoutSeconds: z.number().positive(),
});

export const resultsFileSchema = z.object({
  schemaVersion: z.union([z.literal(1), z.literal(RESULTS_SCHEMA_VERSION)]),
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** complete: every planned cell ran. partial: the run stopped early (crash, Ctrl-C); the cells present are valid. */
  status: z.enum(['complete', 'partial']),
  preset: z.string(),
  /** Cells planned for this run (so a partial run says what is missing). */
  plannedCells: z.number().int().nonnegative(),
  environment: environmentSchema,
  cells: z.array(cellSchema),
  settings: settingsSchema.nullable().default(null),
  reference: referenceSchema.nullable().default(null),
});

export type Environment = z.infer<typeof environmentSchema>;
export type CellStats = z.infer<typeof statsSchema>;
export type TaskSpan = z.infer<typeof taskSpanSchema>;
export type Cell = z.infer<typeof cellSchema>;
export type CellNoise = z.infer<typeof cellNoiseSchema>;
export type Reference = z.infer<typeof referenceSchema>;
export type RunSettings = z.infer<typeof settingsSchema>;
export type ResultsFile = z.infer<typeof resultsFileSchema>;

/** A results file could not be read or is not valid. */
export class ResultsFileError extends Error {
  readonly code = 'BAD_RESULTS_FILE';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ResultsFileError';
  }
}

/** Validate parsed JSON as a results file; `file` names it in errors. */
export function parseResults(data: unknown, file: string): ResultsFile {
  if (typeof data !== 'object' || data === null || !('schemaVersion' in data)) {
    throw new ResultsFileError(file, 'not a schedlab results file (no schemaVersion field); pass a file written by `schedlab bench`');
  }
  const version = (data as { schemaVersion: unknown }).schemaVersion;
  if (typeof version === 'number' && version > RESULTS_SCHEMA_VERSION) {
    throw new ResultsFileError(
      file,
      `schema version ${version} is newer than this schedlab understands (${RESULTS_SCHEMA_VERSION}); upgrade schedlab to read it`,
    );
  }
  const parsed = resultsFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ResultsFileError(file, `invalid results file at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
