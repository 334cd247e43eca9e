/**
 * Who may reach a schedlab server, shared by every one that listens (the distributed
 * scheduler and workers over gRPC, the dashboard over HTTP): loopback unless told otherwise,
 * and a non-loopback address only with a token, TLS, or an explicit `insecure`. Tokens are
 * compared in constant time (as digests, so their lengths do not leak either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { OptionError } from './errors.js';

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Refuse to expose a server beyond loopback without authentication (names the option to set). */
export function assertListenAllowed(host: string, security: { token?: string; tls?: unknown; insecure?: boolean }, what: string): void {
  if (isLoopback(host) || security.token || security.tls || security.insecure) return;
  throw new OptionError(
    'host',
    `refusing to listen on ${host} (${what}) without authentication: pass a token (--token), ` +
      `TLS certificates (--tls-cert/--tls-key[/--tls-ca]), or --insecure to accept anyone who can reach this address`,
  );
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when `presented` is the expected token (constant time). */
export function sameToken(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}
