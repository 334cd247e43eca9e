/**
 * PEM files named on a command line (`--tls-cert`, `--tls-ca`…), read once at start-up by the
 * commands that take TLS flags (distributed's scheduler and worker, bullmq's worker).
 */
import { readFileSync } from 'node:fs';
import { OptionError } from './errors.js';

/** The text of the PEM file at `path` (undefined when no path was given); an OptionError naming `flag` if it cannot be read. */
export function readPem(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionError(flag, `cannot read ${flag} file ${path}: ${(err as Error).message}`);
  }
}
