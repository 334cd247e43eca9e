/**
 * Reading and writing results files.
 *
 * Writing is atomic (common/files.ts): a reader, a crash or Ctrl-C sees either the previous
 * complete file or the new one. The harness rewrites the run's file after every cell this
 * way, so a run that stops early keeps what finished.
 *
 * Reading validates with `parseResults` (results/schema.ts), so every consumer gets the
 * same clear message for a missing, non-JSON, malformed or future-version file.
 */
import { readJsonFile, writeFileAtomic } from '../common/files.js';
import { ResultsFileError, parseResults, type ResultsFile } from './schema.js';

/** Read and validate a results file. Throws `ResultsFileError` naming the file and what is wrong. */
export async function readResultsFile(path: string): Promise<ResultsFile> {
  const data = await readJsonFile(path, ({ reason, detail }) =>
    new ResultsFileError(
      path,
      reason === 'missing'
        ? 'cannot read: no such file'
        : reason === 'directory'
          ? 'cannot read: is a directory, not a results file'
          : reason === 'unreadable'
            ? `cannot read: ${detail}`
            : `not valid JSON (${detail}); was the file cut short or edited by hand?`,
    ),
  );
  return parseResults(data, path);
}

/**
 * Write `data` to `path` atomically. The data is validated first, so a results file on disk
 * is always one the reader accepts. On failure `path` keeps its previous content.
 */
export async function writeResultsFileAtomic(path: string, data: ResultsFile): Promise<void> {
  const valid = parseResults(data, path);
  // Compact: a full run's file holds thousands of task spans and is rewritten after every cell.
  await writeFileAtomic(path, JSON.stringify(valid) + '\n');
}
