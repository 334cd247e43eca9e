/**
 * Entry file of a local cluster's worker process. Options come as JSON in
 * SCHEDLAB_CLUSTER_OPTIONS ({ address, token, nthreads, name }); prints "ready <id>" once the
 * scheduler accepted it, exits when its stdin closes or the scheduler goes away (exit code 70
 * when an op crashed it, so the cluster can tell a crash from a shutdown). Progress lines
 * (and why it stopped) go to stderr, which the cluster keeps.
 */
import { runWorkerCommand, type WorkerCommandOptions } from './commands.js';

const { address, ...options } = JSON.parse(process.env.SCHEDLAB_CLUSTER_OPTIONS ?? '{}') as WorkerCommandOptions & { address: string };
const worker = await runWorkerCommand(address, options);
await new Promise((resolve) => process.stdout.write(`ready ${worker.address}\n`, resolve));
process.stdin.on('end', () => void worker.close());
process.stdin.resume();
await worker.closed;
process.exit(process.exitCode ?? 0);
