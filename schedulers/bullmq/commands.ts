/**
 * `schedlab bullmq-worker URL [--concurrency n]` as a plain function over a plain option
 * object (the CLI parses flags into it): a BullMQ worker serving schedlab's batch queue on
 * that Redis, until SIGINT/SIGTERM or `close()`. TLS options are PEM file paths.
 */
import { ConnectionError, OptionError } from '../errors.js';
import { readPem } from '../pem-files.js';
import { parseRedisUrl } from './connection.js';
import { QUEUE_NAME } from './protocol.js';
import { startBullmqWorker } from './worker.js';

export interface BullmqWorkerCommandOptions {
  /** Ops (op threads) at once. Default 1. */
  concurrency?: number;
  stalledIntervalMs?: number;
  lockDurationMs?: number;
  /** rediss://: PEM files of the CA that signed Redis' certificate, and of a client certificate. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
  /** Give up if Redis does not answer within this time. Default 10 s. */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
  handleSignals?: boolean;
}

export interface RunningBullmqWorkerCommand {
  readonly name: string;
  /** Resolves once the worker stopped. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

function positive(value: number | undefined, flag: string, integer: boolean): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
    throw new OptionError(flag, `${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
}

/** Start a worker; resolves once it waits for jobs. */
export async function runBullmqWorkerCommand(url: string, options: BullmqWorkerCommandOptions = {}): Promise<RunningBullmqWorkerCommand> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  positive(options.concurrency, '--concurrency', true);
  positive(options.stalledIntervalMs, '--stalled-interval', false);
  positive(options.lockDurationMs, '--lock-duration', false);
  const tls = { ca: readPem(options.tlsCa, '--tls-ca'), cert: readPem(options.tlsCert, '--tls-cert'), key: readPem(options.tlsKey, '--tls-key') };
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new OptionError('--tls-cert', '--tls-cert and --tls-key go together: pass both');
  const target = parseRedisUrl(url, { option: 'the Redis URL', tls, insecure: options.insecure });
  const concurrency = options.concurrency ?? 1;
  const worker = startBullmqWorker({ redis: target.options, concurrency, stalledIntervalMs: options.stalledIntervalMs, lockDurationMs: options.lockDurationMs, log });
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      worker.ready,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms${worker.lastError() ? ` (${worker.lastError()})` : ''}`)), timeoutMs))),
    ]);
  } catch (err) {
    await worker.close();
    throw new ConnectionError(`bullmq-worker: cannot use Redis at ${target.shown}: ${(err as Error).message}`, target.shown);
  } finally {
    clearTimeout(timer);
  }
  log(`schedlab bullmq-worker ${worker.name} serving queue "${QUEUE_NAME}" on ${target.shown} with ${concurrency} op thread${concurrency === 1 ? '' : 's'}`);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const close = async (): Promise<void> => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await worker.close();
    resolveClosed();
  };
  const onSignal = (): void => void close();
  if (options.handleSignals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return { name: worker.name, closed, close };
}
