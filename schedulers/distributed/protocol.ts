/**
 * The wire protocol shared by the scheduler, worker and client processes: it loads
 * `schedlab.proto` and declares the TypeScript shape of every message.
 *
 * Why @grpc/proto-loader (dynamic) rather than static codegen: codegen needs `protoc` plus a
 * plugin at build time and generated files to keep in sync; proto-loader is already a
 * dependency and reads the one `.proto` at start-up (a few ms, once per process). The
 * interfaces below are the hand-written mirror of the `.proto`; keep them in step (field names
 * are snake_case because we load with `keepCase`).
 *
 * Messages are encoded and decoded directly by protobufjs (`directCodec`), not through
 * proto-loader's serializers: those copy every message into a protobufjs message on the way out
 * (`fromObject`) and out of one on the way in (`toObject`), two allocations per task in each
 * assignment, completion and submitted node (about 6 % of the scheduler's CPU plus their garbage
 * on 10,000 trivial tasks). What that asks of the code: messages sent are plain objects of the
 * right types (the interfaces below; nothing coerces a number into a string field); messages
 * received are protobufjs message objects whose unset fields read their defaults from the
 * prototype ('' , 0, false, [] and null for a message) and whose oneof `kind` is a prototype
 * getter, so read their fields, never copy them with spread or structured clone. 64-bit fields
 * decode as JS numbers: protobufjs's Long support is switched off in this process (sizes stay
 * far below 2^53).
 *
 * The `.proto` is resolved relative to this module's location in BOTH layouts: compiled
 * (`dist/schedulers/distributed/protocol.js` -> `../../../schedulers/distributed/`) and
 * source; `package.json` ships `schedulers/distributed/*.proto` in `files`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { isFrameHead } from './framed-chunks.js';

/** Largest value piece in one DataChunk message (well under grpc's 4 MiB default limit). */
export const CHUNK_BYTES = 1 << 20;
/** Largest control message accepted (submit parts, assignment and completion batches). */
export const MAX_CONTROL_MESSAGE_BYTES = 16 << 20;
/** A submit part is closed once its payloads reach this size (stays under the limit above). */
export const SUBMIT_PART_BYTES = 4 << 20;
/** Literals and args up to this size travel inline with the graph; larger ones are uploaded to a worker. */
export const INLINE_PAYLOAD_BYTES = 64 << 10;

/** The HTTP/2 receive window of every channel and server, per stream and per connection (see `bindServer`). */
export const RECEIVE_WINDOW_BYTES = 32 << 20;

/** Channel and server options: message limits and keepalive (dead peers noticed within seconds). */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // A large HTTP/2 receive window: values and assignment batches stream without waiting for
  // a WINDOW_UPDATE every 64 KiB.
  'grpc-node.flow_control_window': RECEIVE_WINDOW_BYTES,
  'grpc.max_receive_message_length': MAX_CONTROL_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_CONTROL_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_time_between_pings_ms': 5_000,
  'grpc.http2.max_pings_without_data': 0,
};
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_CONTROL_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_CONTROL_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.http2.min_ping_interval_without_data_ms': 4_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/**
 * The two fields of a grpc-js 1.x Server that `newServer` and `bindServer` reach into (grpc-js
 * has no server option for the receive window); test/distributed-transfer.test.ts fails if an
 * upgrade drops them, and without them a server keeps HTTP/2's default window (slower, not wrong).
 */
interface ServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<{ on(event: 'session', listener: (session: { setLocalWindowSize(size: number): void }) => void): unknown }, unknown>;
}

/**
 * A grpc server (SERVER_OPTIONS) whose HTTP/2 streams receive with a RECEIVE_WINDOW_BYTES
 * window, as the channels' do. With HTTP/2's default 64 KiB (grpc-js sets no other on a
 * server) every Put, a client's upload, waited for a WINDOW_UPDATE per 64 KiB: a 16 MB value
 * went up in 53-59 ms against 25-29 ms down by Fetch, on loopback; 31-36 ms with the window.
 */
export function newServer(): grpc.Server {
  const server = new grpc.Server(SERVER_OPTIONS);
  const common = (server as unknown as ServerInternals).commonServerOptions;
  if (common) common.settings = { ...common.settings, initialWindowSize: RECEIVE_WINDOW_BYTES };
  return server;
}

/** Bind `server` (from `newServer`) to `address`; every session it accepts gets the RECEIVE_WINDOW_BYTES connection window too. Resolves with the port. */
export async function bindServer(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
  for (const http2Server of (server as unknown as ServerInternals).http2Servers?.keys() ?? []) {
    http2Server.on('session', (session) => session.setLocalWindowSize(RECEIVE_WINDOW_BYTES));
  }
  return port;
}

/** Where `schedlab.proto` is (next to the sources, also for the compiled modules). */
export function protoPath(): string {
  const candidates = [
    new URL('../../../schedulers/distributed/schedlab.proto', import.meta.url), // from dist/
    new URL('./schedlab.proto', import.meta.url), // from the source tree (ts-node)
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `schedlab.proto not found next to ${fileURLToPath(import.meta.url)}; it must ship in schedulers/distributed/ of the package`,
  );
}

interface ProtoPackage {
  schedlab: {
    Scheduler: grpc.ServiceClientConstructor;
    DataService: grpc.ServiceClientConstructor;
  };
}

/**
 * Replace proto-loader's (de)serializers of every method in `definition` by protobufjs's own
 * `encode`/`decode` of the same types, without the fromObject/toObject copies (see the header).
 */
function directCodec(definition: protoLoader.PackageDefinition): void {
  // Before the Root is built: a field reads util.Long when it is constructed.
  (protobuf.util as { Long: unknown }).Long = undefined;
  protobuf.configure();
  const root = new protobuf.Root().loadSync(protoPath(), { keepCase: true });
  root.resolveAll();
  for (const [serviceName, entry] of Object.entries(definition)) {
    if (!('format' in entry) && typeof entry === 'object') {
      const service = root.lookupService(serviceName);
      for (const [methodName, method] of Object.entries(entry as protoLoader.ServiceDefinition)) {
        const rpc = service.methods[methodName];
        if (!rpc?.resolvedRequestType || !rpc.resolvedResponseType) {
          throw new Error(`schedlab.proto: method ${serviceName}.${methodName} not found by protobufjs; is ${protoPath()} the file proto-loader read?`);
        }
        const request = rpc.resolvedRequestType;
        const response = rpc.resolvedResponseType;
        const m = method as { -readonly [K in keyof typeof method]: (typeof method)[K] };
        // A client's Put writes DataChunk heads (`framed-chunks.ts`): already encoded.
        m.requestSerialize = (value: object) => (isFrameHead(value) ? value : (request.encode(value).finish() as Buffer));
        m.requestDeserialize = (bytes: Buffer) => request.decode(bytes);
        m.responseSerialize = (value: object) => response.encode(value).finish() as Buffer;
        m.responseDeserialize = (bytes: Buffer) => response.decode(bytes);
      }
    }
  }
}

let loaded: ProtoPackage | undefined;
/** The loaded service definitions (loaded once per process). */
export function protocol(): ProtoPackage['schedlab'] {
  if (!loaded) {
    const definition = protoLoader.loadSync(protoPath(), {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    directCodec(definition);
    loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoPackage;
  }
  return loaded.schedlab;
}

// ---------------------------------------------------------------- message shapes

export interface FetchRequest { data_ids: string[] }
/** `pad` is written by framed chunks only (alignment, see schedlab.proto) and never read. */
export interface DataChunk { data_id: string; total: number; offset: number; bytes: Uint8Array; pad?: Uint8Array }
export interface PutReply { stored_bytes: number }

export interface Placement { worker: string; data_id: string; nbytes: number }
export interface NodeSpec {
  key: string;
  payload: Uint8Array;
  priority: number;
  placed?: Placement | null;
  /** 0: a literal; else its op is the part's `ops[op_index - 1]`. */
  op_index: number;
  /** Its inputs: n >= 0 the run's n-th node (over all parts, in order; always one sent before it), n < 0 the run's external -1 - n. */
  inputs: number[];
}
export interface ExternalRef { key: string; data_id: string }
export interface SubmitPart {
  run: number;
  nodes: NodeSpec[];
  wanted: string[];
  externals: ExternalRef[];
  final: boolean;
  events: boolean;
  /** The ops of this part's tasks, each once (`NodeSpec.op_index`). */
  ops: string[];
}
export interface ReleaseRun { run: number; keys: string[] }
export interface CancelRun { run: number }
export interface Uploaded { run: number; placed: Placement[] }
export type ClientMessage =
  | { kind?: 'submit'; submit: SubmitPart }
  | { kind?: 'release'; release: ReleaseRun }
  | { kind?: 'cancel'; cancel: CancelRun }
  | { kind?: 'uploaded'; uploaded: Uploaded };

export interface WorkerInfo { id: string; data_address: string; nthreads: number }
/** Milliseconds of one task's life on its worker (see TaskPhases in schedlab.proto). */
export interface TaskPhases {
  waiting: number;
  transfer: number;
  deserialize: number;
  compute: number;
  report: number;
  /** Epoch ms: the first fetch it waited for began (0: none). */
  transfer_at: number;
}
export interface TaskEventMsg {
  key: string;
  worker: string;
  finished: boolean;
  time: number;
  start: number;
  end: number;
  ok: boolean;
  phases?: TaskPhases | null;
}
export interface KeyDone { key: string; data_id: string; worker: string; data_address: string; nbytes: number }
export interface ErrorInfo {
  kind: 'task' | 'worker-lost' | 'graph' | string;
  name: string;
  message: string;
  stack: string;
  code: string;
  key: string;
  op: string;
  worker: string;
  keys: string[];
}
export interface KeyFailed { key: string; error: ErrorInfo }
export interface RunProgress {
  run: number;
  events: TaskEventMsg[];
  done: KeyDone[];
  failed: KeyFailed[];
  tasks_done: number;
  bytes_between_workers: number;
  reupload: string[];
  bytes_spilled?: number;
  bytes_read_back?: number;
}
export type ClientUpdate =
  | { kind?: 'welcome'; welcome: { client_id: string; workers: WorkerInfo[] } }
  | { kind?: 'roster'; roster: { workers: WorkerInfo[] } }
  | { kind?: 'progress'; progress: RunProgress };

export interface Register { data_port: number; data_host: string; nthreads: number; name: string }
export interface Completion {
  data_id: string;
  ok: boolean;
  nbytes: number;
  start: number;
  end: number;
  error?: ErrorInfo | null;
  fetched_bytes: number;
  fetched: string[];
  missing: string[];
  /** The task was cancelled on the worker before it ran: only `fetched` (copies now held there) counts. */
  dropped?: boolean;
  /** Epoch ms when its first fetch from a peer began and its last fetched input arrived (0: nothing fetched). */
  fetch_start?: number;
  fetch_end?: number;
  phases?: TaskPhases | null;
  /** Bytes this worker spilled to disk / read back since its previous report (its memory limit). */
  spilled_bytes?: number;
  read_back_bytes?: number;
}
export type WorkerMessage =
  | { kind?: 'register'; register: Register }
  | { kind?: 'completions'; completions: { items: Completion[]; stolen?: string[]; kept?: string[] } }
  | { kind?: 'heartbeat'; heartbeat: { time: number; rss?: number; cpu?: number } }
  | { kind?: 'farewell'; farewell: { reason: string } };

export interface DepLocation { data_id: string; inline: boolean; bytes: Uint8Array; addresses: string[]; pending_here: boolean }
export interface Assignment {
  data_id: string;
  args: Uint8Array;
  args_data_id: string;
  deps: DepLocation[];
  op_index: number;
  /** Report this task's phases with its completion (its run asked for events). */
  phases?: boolean;
}
export interface Assignments { tasks: Assignment[]; cancel: string[]; release: string[]; ops: string[]; steal?: string[] }
export type WorkerOrders =
  | { kind?: 'accepted'; accepted: { worker_id: string } }
  | { kind?: 'assign'; assign: Assignments };

/** Complete an ErrorInfo from a partial one (proto3 has no optional strings: '' means absent). */
export function errorInfo(init: Partial<ErrorInfo> & { kind: string; message: string }): ErrorInfo {
  return { name: 'Error', stack: '', code: '', key: '', op: '', worker: '', keys: [], ...init };
}

/** Split "host:port" (IPv6 as "[::1]:8786"). */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address.trim());
  if (!match) throw new Error(`bad address "${address}": expected host:port, e.g. 127.0.0.1:8786`);
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

/** Join host and port into a grpc target ("[::1]:8786" for IPv6). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export { isLoopback } from '../listen-policy.js';
