/**
 * Redis addresses of the `bullmq` scheduler: `redis://[user:password@]host:port[/db]` or
 * `rediss://…` (TLS), parsed once into ioredis options, plus the URL as shown in messages
 * (password replaced by `***`). A Redis that takes jobs also decides which ops the workers
 * import, so a non-loopback address needs a password or TLS unless the caller says
 * `insecure`, as the distributed scheduler's listeners do.
 */
import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';
import { OptionError } from '../errors.js';
import { isLoopback } from '../listen-policy.js';
import type { TlsOptions } from '../types.js';

/** A parsed Redis address. */
export interface RedisTarget {
  /** ioredis options for this address (host, port, auth, db, TLS). */
  options: RedisOptions;
  /** The URL without its password, for messages. */
  shown: string;
}

/** Parse and check `url` (`option` names the option or argument in errors). */
export function parseRedisUrl(url: unknown, init: { option?: string; tls?: TlsOptions; insecure?: boolean } = {}): RedisTarget {
  const option = init.option ?? 'redis';
  const usage = `give redis://[user:password@]host:port[/db] or rediss://… for TLS`;
  if (typeof url !== 'string' || url.trim() === '') throw new OptionError(option, `${option} must be a Redis URL; ${usage}, got ${JSON.stringify(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OptionError(option, `${option} "${url}" is not a URL; ${usage}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new OptionError(option, `${option} "${redact(parsed)}" uses ${parsed.protocol}; ${usage}`);
  }
  if (!parsed.hostname) throw new OptionError(option, `${option} "${redact(parsed)}" has no host; ${usage}`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new OptionError(option, `${option} "${redact(parsed)}": the database "${db}" is not a number; ${usage}`);
  const secure = parsed.protocol === 'rediss:';
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!isLoopback(host) && !secure && !password && !init.insecure) {
    throw new OptionError(
      option,
      `${option} "${redact(parsed)}" is not on this machine and has neither a password nor TLS: anyone who can reach it could make the workers run any op; use redis://:password@…, rediss://…, or pass insecure (--insecure)`,
    );
  }
  const options: RedisOptions = {
    host,
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password,
    db: db === '' ? 0 : Number(db),
  };
  if (secure) {
    const tls = init.tls ?? {};
    // SNI takes host names only; an IP address is checked against the certificate's IP entries.
    options.tls = { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName ?? (isIP(host) ? undefined : host) };
  }
  return { options, shown: redact(parsed) };
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href.replace(/\/$/, '');
}
