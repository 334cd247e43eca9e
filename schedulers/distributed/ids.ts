/**
 * Names of values on the cluster, shared by every process and thread of the
 * distributed scheduler (dependency-free: executor threads import it without loading grpc).
 *
 * A value's data id is `<client>/<run>/<key>`: unique across clients and runs, and the key
 * (under which a task's args refer to the value) is recoverable from it, so messages carry
 * the id alone. Client ids (`c7`) and run numbers contain no "/", keys may.
 */

/** The data id of `key` in run `run` of client `client`. */
export function dataIdOf(client: string, run: number, key: string): string {
  return `${client}/${run}/${key}`;
}

/** The data id under which a task's large args are uploaded. */
export function argsDataIdOf(client: string, run: number, key: string): string {
  return `${dataIdOf(client, run, key)}\0args`;
}

/** The key part of a data id (everything after the second "/"). */
export function keyOfDataId(dataId: string): string {
  return dataId.slice(dataId.indexOf('/', dataId.indexOf('/') + 1) + 1);
}
