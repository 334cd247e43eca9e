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

export const RESULTS_SCHEMA_VERSION = 1;

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

export const taskSpanSchema = z.object({
  key: z.string(),
  worker: z.string(),
  /** Seconds from the start of the recorded sample. */
  start: z.number(),
  end: z.number(),
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
});

export const resultsFileSchema = z.object({
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
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
});

export type Environment = z.infer<typeof environmentSchema>;
export type CellStats = z.infer<typeof statsSchema>;
export type TaskSpan = z.infer<typeof taskSpanSchema>;
export type Cell = z.infer<typeof cellSchema>;
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
