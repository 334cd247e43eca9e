/**
 * Which build of the wire format a process speaks, so that processes of two different builds
 * refuse each other when they connect instead of misreading each other's bytes later.
 *
 * Why: a value's bytes mean something only to a peer with the same codec (codec.ts), chunk
 * protocol (transfer.ts), data id scheme (ids.ts) and messages (schedlab.proto, protocol.ts),
 * and nothing on the wire said which one a peer used. It went wrong for real: a long-running
 * harness process kept the client it had imported (values always v8) while dist/ was rebuilt
 * with the JSON-or-v8 codec, and its next `createScheduler` spawned a scheduler and workers
 * from the new build; the client then ran `v8.deserialize` on a worker's JSON-encoded number
 * and failed with "Unable to deserialize cloned data due to invalid or unsupported version".
 *
 * How: WIRE_VERSION is a hash of those files, read once when this module loads (together with
 * the code it describes). Every call carries it in its metadata (security.ts `callMetadata`);
 * every server checks it right after the token (`wireMismatch`) and refuses a different or
 * missing one with FAILED_PRECONDITION, naming both versions. Processes started from one build
 * (one installed package, one dist/) agree; a process run from the TypeScript sources and one
 * run from dist/ do not, by design: their files differ.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { protoPath } from './protocol.js';

/** Metadata key under which every call states the caller's wire version. */
export const WIRE_VERSION_KEY = 'schedlab-wire-version';

function fingerprint(): string {
  const extension = /\.[cm]?[jt]s$/.exec(import.meta.url)?.[0] ?? '.js';
  const hash = createHash('sha256');
  hash.update(readFileSync(protoPath()));
  for (const name of ['protocol', 'codec', 'ids', 'transfer']) {
    hash.update(readFileSync(fileURLToPath(new URL(`./${name}${extension}`, import.meta.url))));
  }
  return hash.digest('hex').slice(0, 16);
}

/** This build's wire version (16 hex digits). */
export const WIRE_VERSION = fingerprint();

/** Undefined when the call speaks this build's wire version, else the status to answer it with. */
export function wireMismatch(metadata: grpc.Metadata, server: string): Partial<grpc.StatusObject> | undefined {
  const presented = metadata.get(WIRE_VERSION_KEY)[0];
  if (presented === WIRE_VERSION) return undefined;
  const theirs = typeof presented === 'string' ? `wire version ${presented}` : 'no wire version (an older build)';
  return {
    code: grpc.status.FAILED_PRECONDITION,
    details:
      `schedlab: the caller speaks ${theirs} but this ${server} speaks wire version ${WIRE_VERSION}: ` +
      'they run different builds of schedlab (was it rebuilt or upgraded while some of them kept running?); ' +
      'restart the scheduler, the workers and the client from the same build',
  };
}
