/**
 * Who may talk to a schedlab cluster, used identically by the scheduler, workers and clients.
 *
 * Two independent mechanisms, usable together:
 * - a shared token, sent by every caller as `authorization: Bearer <token>` call metadata and
 *   checked (constant-time) at the start of every call on every server (scheduler and each
 *   worker's DataService);
 * - TLS with PEM certificates. A server needs `cert` + `key`; with `ca` it also REQUIRES and
 *   verifies client certificates (mutual TLS). Clients verify the server against `ca`.
 * Servers listen on loopback unless told otherwise, and refuse a non-loopback host when
 * neither is configured, unless `insecure` is set explicitly.
 */
import * as grpc from '@grpc/grpc-js';
import { AuthError, ConnectionError, OptionError } from '../errors.js';
import { sameToken } from '../listen-policy.js';
import type { TlsOptions } from '../types.js';
import { WIRE_VERSION, WIRE_VERSION_KEY, wireMismatch } from './wire-version.js';

/** How one process authenticates and is authenticated. */
export { assertListenAllowed } from '../listen-policy.js';

export interface SecurityOptions {
  token?: string;
  tls?: TlsOptions;
  /** Allow a non-loopback listen address with neither token nor TLS. */
  insecure?: boolean;
}

const toBuffer = (pem: string | Buffer | undefined): Buffer | null =>
  pem === undefined ? null : Buffer.isBuffer(pem) ? pem : Buffer.from(pem);

export function serverCredentials(security: SecurityOptions): grpc.ServerCredentials {
  const tls = security.tls;
  if (!tls) return grpc.ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) {
    throw new OptionError('tls', 'a TLS server needs both a certificate and a private key (tls.cert and tls.key / --tls-cert and --tls-key)');
  }
  const ca = toBuffer(tls.ca);
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: toBuffer(tls.cert)!, private_key: toBuffer(tls.key)! }], ca !== null);
}

/** Channel credentials and options for calling a server. */
export function channelCredentials(security: SecurityOptions): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const tls = security.tls;
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const credentials = grpc.credentials.createSsl(toBuffer(tls.ca), toBuffer(tls.key), toBuffer(tls.cert));
  return { credentials, options: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {} };
}

/** Metadata every call carries: the token, if any, and this build's wire version (wire-version.ts). */
export function callMetadata(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(WIRE_VERSION_KEY, WIRE_VERSION);
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** True when the call presents the expected token (or no token is required). */
export function tokenAccepted(metadata: grpc.Metadata, token: string | undefined): boolean {
  if (!token) return true;
  const presented = metadata.get('authorization')[0];
  if (typeof presented !== 'string' || !presented.startsWith('Bearer ')) return false;
  return sameToken(presented.slice('Bearer '.length), token);
}

/** The status a server answers to a call without the right token. */
export const UNAUTHENTICATED: Partial<grpc.StatusObject> = {
  code: grpc.status.UNAUTHENTICATED,
  details: 'schedlab: missing or wrong token (pass the token the scheduler was started with)',
};

/**
 * Why a server refuses an incoming call (wrong or missing token, another build's wire
 * version), as the status to answer with; undefined when the call may proceed.
 */
export function refusal(metadata: grpc.Metadata, token: string | undefined, server: string): Partial<grpc.StatusObject> | undefined {
  if (!tokenAccepted(metadata, token)) return UNAUTHENTICATED;
  return wireMismatch(metadata, server);
}

const TLS_FAILURE = /certificate|ssl|tls|handshake|alert|self[- ]signed|verify/i;

/** Turn a grpc error on a call to `address` into an AuthError or ConnectionError that says what to do. */
export function callError(err: unknown, address: string, role: string): Error {
  const e = err as Partial<grpc.ServiceError>;
  // grpc ends some details with an empty "Resolution note:"; it says nothing, so drop it.
  const details = (e.details || e.message || String(err)).replace(/[\s.]*Resolution note:\s*$/, '');
  if (e.code === grpc.status.UNAUTHENTICATED || e.code === grpc.status.PERMISSION_DENIED) {
    return new AuthError(`${role} at ${address} refused this connection: ${details}`, { cause: err });
  }
  if (e.code === grpc.status.FAILED_PRECONDITION) {
    return new ConnectionError(`${role} at ${address} refused this connection: ${details}`, address, { cause: err });
  }
  if (TLS_FAILURE.test(details)) {
    return new AuthError(
      `TLS with ${role} at ${address} failed (${details}): check the CA, certificate and key on both sides, and tls.serverName if the certificate names another host`,
      { cause: err },
    );
  }
  return new ConnectionError(`lost or could not open the connection to ${role} at ${address}: ${details}`, address, { cause: err });
}
