/**
 * The dashboard's web server: one page, its assets, and a stream of updates, served by the
 * process that schedules (node:http, or node:https with the scheduler's TLS certificate).
 *
 * Transport: server-sent events. The page only listens; nothing it could send would be
 * read, so a browser can look but never change the cluster, and SSE needs no dependency,
 * reconnects by itself and passes any HTTP proxy. Updates are cut from `DashboardState` at
 * most every `intervalMs` (default 250 ms, i.e. 4 per second) and only when something
 * changed; with no page open no timer runs at all. A page that connects gets the whole
 * bounded state once, then deltas. A client that cannot keep up (more than 4 MB unsent) is
 * dropped; its EventSource reconnects and starts again from a full update.
 *
 * Safety: only GET and HEAD; loopback unless told otherwise, and a non-loopback address
 * needs a token, TLS or `insecure` (listen-policy.ts, the scheduler's own rule). With a
 * token, every request but the empty page shell and its boot script must carry it (`Authorization: Bearer` or
 * `?token=`); the shell asks for it. On loopback, requests naming another Host are refused
 * (DNS rebinding). No CORS header is ever sent, and the page's Content-Security-Policy
 * lets it load and connect only to this server.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cpuMeter } from '../../common/cpu-meter.js';
import { OptionError } from '../errors.js';
import { assertListenAllowed, isLoopback, sameToken } from '../listen-policy.js';
import type { DashboardOptions } from '../types.js';
import type { DashboardState } from './state.js';

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_DASHBOARD_PORT = 8787;
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;
const RESOURCES_EVERY_MS = 1_000;

interface Asset {
  type: string;
  body: Buffer;
}

let assetCache: Map<string, Asset> | undefined;

/** The page and its assets, read once from the source tree (shipped in the package's files) and node_modules. */
function assets(): Map<string, Asset> {
  if (assetCache) return assetCache;
  const page = new URL('../../../schedulers/dashboard/page/', import.meta.url);
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot'));
  const read = (path: string | URL, type: string): Asset => {
    try {
      return { type, body: readFileSync(path) };
    } catch (err) {
      throw new Error(`dashboard asset ${String(path)} cannot be read (${(err as Error).message}); reinstall schedlab or run from a full checkout`);
    }
  };
  assetCache = new Map([
    ['/', read(new URL('index.html', page), 'text/html; charset=utf-8')],
    ['/boot.js', read(new URL('boot.js', page), 'text/javascript; charset=utf-8')],
    ['/assets/dashboard.js', read(new URL('dashboard.js', page), 'text/javascript; charset=utf-8')],
    ['/assets/dashboard.css', read(new URL('dashboard.css', page), 'text/css; charset=utf-8')],
    ['/assets/uPlot.iife.min.js', read(join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
    ['/assets/uPlot.min.css', read(join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8')],
  ]);
  return assetCache;
}

/** The page shell and the script that asks for the token: no data, served to anyone who can connect. */
const PUBLIC = new Set(['/', '/boot.js']);

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function hostOf(header: string | undefined): string {
  if (!header) return '';
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  return bracket ? bracket[1]! : header.replace(/:\d+$/, '');
}

/**
 * Serve `state` at host:port. `sample` runs before each update is cut (the owner feeds what
 * it reads from its scheduler: holdings, byte counters).
 */
export async function startDashboard(state: DashboardState, options: DashboardOptions = {}, sample?: () => void): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OptionError('dashboard.port', `dashboard port must be an integer 0..65535, got ${String(port)}`);
  const intervalMs = options.intervalMs ?? 250;
  if (!(intervalMs >= 20)) throw new OptionError('dashboard.intervalMs', `dashboard intervalMs must be at least 20, got ${String(intervalMs)}`);
  const tls = options.tls?.cert && options.tls.key ? options.tls : undefined;
  if (options.tls && !tls) throw new OptionError('dashboard.tls', 'dashboard TLS needs both a certificate and a private key');
  assertListenAllowed(host, { token: options.token, tls, insecure: options.insecure }, 'dashboard');
  const files = assets();
  const token = options.token || undefined;
  const loopback = isLoopback(host);

  const clients = new Set<ServerResponse>();
  const pending = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  let sentVersion = -1;
  let lastResources = -Infinity;
  const cpu = cpuMeter();

  const sampleResources = (): void => {
    const t = performance.now();
    if (t - lastResources < RESOURCES_EVERY_MS) return;
    state.processResources(process.memoryUsage.rss(), cpu());
    lastResources = t;
  };

  const send = (res: ServerResponse, data: string): void => {
    if (res.writableLength > MAX_UNSENT_BYTES) {
      clients.delete(res);
      res.destroy();
      return;
    }
    res.write(data);
  };

  const tick = (): void => {
    sample?.();
    sampleResources();
    if (state.version !== sentVersion && clients.size) {
      const data = `data: ${JSON.stringify(state.update(false))}\n\n`;
      for (const res of clients) send(res, data);
    } else if (state.version !== sentVersion) {
      state.update(false); // moves the delta cursor: the pages about to join get everything in their full update
    }
    sentVersion = state.version;
    if (pending.size) {
      const data = `data: ${JSON.stringify(state.update(true))}\n\n`;
      for (const res of pending) {
        send(res, data);
        clients.add(res);
      }
      pending.clear();
    }
  };

  const startTimers = (): void => {
    if (timer) return;
    timer = setInterval(tick, intervalMs);
    keepalive = setInterval(() => {
      for (const res of clients) send(res, ': keepalive\n\n');
    }, KEEPALIVE_MS);
    setImmediate(tick);
  };
  const stopTimersIfIdle = (): void => {
    if (clients.size || pending.size || !timer) return;
    clearInterval(timer);
    clearInterval(keepalive);
    timer = keepalive = undefined;
  };

  const refuse = (res: ServerResponse, status: number, message: string): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: message }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return refuse(res, 405, 'the dashboard is read-only: only GET and HEAD are served');
    }
    if (loopback && !isLoopback(hostOf(req.headers.host))) return refuse(res, 421, `this dashboard answers only to a loopback host name, not "${req.headers.host ?? ''}"`);
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (!PUBLIC.has(url.pathname) && token) {
      const auth = req.headers.authorization;
      const presented = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : url.searchParams.get('token');
      if (presented === null || !sameToken(presented, token)) return refuse(res, 401, 'this dashboard needs its token: pass it as "Authorization: Bearer <token>" or "?token=<token>"');
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      if (req.method === 'HEAD') return void res.end();
      res.write('retry: 2000\n\n');
      pending.add(res);
      res.on('close', () => {
        clients.delete(res);
        pending.delete(res);
        stopTimersIfIdle();
      });
      startTimers();
      return;
    }
    if (url.pathname === '/state') {
      sample?.();
      sampleResources();
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
      return void res.end(req.method === 'HEAD' ? undefined : JSON.stringify(state.update(true)));
    }
    const asset = files.get(url.pathname);
    if (!asset) return refuse(res, 404, `no such dashboard resource: ${url.pathname}`);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handle) : createHttpServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new OptionError('dashboard.port', `dashboard port ${port} on ${host} is in use: pick another port, or 0 for any free port`));
      else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `${tls ? 'https' : 'http'}://${shown}:${bound}/`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        clearInterval(keepalive);
        for (const res of [...clients, ...pending]) res.end();
        clients.clear();
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
