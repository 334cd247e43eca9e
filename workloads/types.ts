/**
 * The workload contract. A workload builds a graph from parameters and verifies the
 * computed values against an independent reference. The catalog (`workloads/index.ts`)
 * and a user's `--workload-file` module both export this shape.
 */
import type { SizeName } from '../common/cells.js';
import type { Graph, Key } from '../schedulers/types.js';

export { SIZE_NAMES, type SizeName } from '../common/cells.js';

/** Parameters of one workload instance: plain JSON data (stored in results files). */
export type WorkloadParams = Record<string, string | number | boolean>;

/** What `build` returns. */
export interface BuiltWorkload {
  graph: Graph;
  /** Keys whose values `verify` receives, in this order. */
  keys: Key[];
  /** Release what `build` made (temp files...). Called once, after the last run. */
  dispose?: () => Promise<void> | void;
}

/** Context that the harness passes to `build`. */
export interface BuildContext {
  /** A directory the workload may write into (removed by the harness afterwards). */
  tmpDir: string;
  /** Extra options from the command line (e.g. `jsonDir` from `--json-dir`). */
  options: Record<string, string | undefined>;
}

/** A workload module's default export (or named export `workload`). */
export interface Workload<P extends WorkloadParams = WorkloadParams> {
  /** Short identifier used on the command line, e.g. `matmul`. */
  name: string;
  /** One paragraph: what it exercises and what a user should learn from it. */
  description: string;
  /** Parameters for each preset size. */
  sizes: Record<SizeName, P>;
  /** Build the graph for these parameters. */
  build(params: P, ctx: BuildContext): Promise<BuiltWorkload> | BuiltWorkload;
  /**
   * Check `results` (values of `built.keys`) against an independent reference.
   * Throws a `VerificationError` naming what mismatched.
   */
  verify(results: unknown[], params: P, built: BuiltWorkload): Promise<void> | void;
}

/** A computed answer did not match the reference. */
export class VerificationError extends Error {
  readonly code = 'VERIFY_FAILED';
  constructor(
    readonly workload: string,
    message: string,
  ) {
    super(`${workload}: wrong answer: ${message}`);
    this.name = 'VerificationError';
  }
}
