/**
 * Reading and writing results files.
 *
 * Writing is atomic: the JSON goes to a temporary file in the same directory, is flushed
 * to disk (fsync), then renamed over the target. A rename within one directory replaces
 * the file in one step, so a reader (or a crash, or Ctrl-C) sees either the previous
 * complete file or the new complete file — never a truncated JSON. The harness rewrites
 * the run's file after every cell this way, so a run that stops early keeps what finished.
 *
 * Reading validates with `parseResults` (results/schema.ts), so every consumer gets the
 * same clear message for a missing, non-JSON, malformed or future-version file.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ResultsFileError, parseResults, type ResultsFile } from './schema.js';

/** Read and validate a results file. Throws `ResultsFileError` naming the file and what is wrong. */
export async function readResultsFile(path: string): Promise<ResultsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a results file' : String(err);
    throw new ResultsFileError(path, `cannot read: ${why}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ResultsFileError(path, `not valid JSON (${(err as Error).message}); was the file cut short or edited by hand?`);
  }
  return parseResults(data, path);
}

/**
 * Write `data` to `path` atomically (temp file + fsync + rename). The data is validated
 * first, so a results file on disk is always one the reader accepts. On failure the temp
 * file is removed and `path` keeps its previous content.
 */
export async function writeResultsFileAtomic(path: string, data: ResultsFile): Promise<void> {
  const valid = parseResults(data, path);
  // Compact: a full run's file holds thousands of task spans and is rewritten after every cell.
  await writeFileAtomic(path, JSON.stringify(valid) + '\n');
}

/** Write `text` to `path` atomically. Exported for the harness's other artifacts and for tests. */
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
