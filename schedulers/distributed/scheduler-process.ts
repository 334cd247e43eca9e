/**
 * Entry file of a local cluster's scheduler process (spawned by `local-cluster.ts`, not the
 * CLI). Options come as JSON in SCHEDLAB_CLUSTER_OPTIONS (so the token never shows in `ps`);
 * prints "ready <port>" on stdout once listening and exits when its stdin closes, i.e. when
 * the process that started it is gone. Progress lines go to stderr, which the cluster keeps.
 */
import { runSchedulerCommand, type SchedulerCommandOptions } from './commands.js';

const options = JSON.parse(process.env.SCHEDLAB_CLUSTER_OPTIONS ?? '{}') as SchedulerCommandOptions;
const scheduler = await runSchedulerCommand({ ...options, host: '127.0.0.1', port: 0 });
process.stdout.write(`ready ${scheduler.address.split(':').pop()}\n`);
process.stdin.on('end', () => void scheduler.close());
process.stdin.resume();
await scheduler.closed;
process.exit(0);
