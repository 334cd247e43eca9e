/**
 * Files every layer reads and writes: versioned JSON (results, calibrations) and artifacts
 * (reports). One reader, so a missing, unreadable or non-JSON file gets the same kind of
 * message everywhere (each caller words it for its file type), and one atomic writer.
 *
 * Writing is atomic: the text goes to a temporary file in the same directory, is flushed to
 * disk (fsync), then renamed over the target. A rename within one directory replaces the file
 * in one step, so a reader (or a crash, or Ctrl-C) sees either the previous complete file or
 * the new complete file, never a truncated one.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Why a JSON file could not be read: `detail` is the system's or the parser's own words. */
export type JsonReadFailure = { reason: 'missing' | 'directory' | 'unreadable' | 'not-json'; detail: string };

/** Read and parse `path`; on failure, `describe` turns the failure into the caller's own error. */
export async function readJsonFile(path: string, describe: (failure: JsonReadFailure) => Error): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'missing' : code === 'EISDIR' ? 'directory' : 'unreadable';
    throw describe({ reason, detail: code ?? (err as Error).message });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw describe({ reason: 'not-json', detail: (err as Error).message });
  }
}

/** Write `text` to `path` atomically (temp file + fsync + rename); on failure `path` keeps its previous content. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx');
  try {
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Flush the directory entry so the rename itself survives a power loss (best effort: not every OS allows it). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open a directory for fsync; the rename is still atomic there.
  }
}
