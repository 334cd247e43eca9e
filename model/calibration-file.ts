/**
 * Reading calibration files and naming them: `calibration-<fingerprint id>.json` next to
 * the run files, one per environment, so every reader (the advisor, the report, a
 * dashboard) finds the file that describes the machine it is looking at.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CalibrationFileError, fingerprintId, parseCalibration, type CalibrationFile, type Fingerprint } from './calibration.js';

/** The calibration file for this fingerprint in `dir`. */
export function calibrationPath(dir: string, fingerprint: Fingerprint): string {
  return join(dir, `calibration-${fingerprintId(fingerprint)}.json`);
}

export async function readCalibration(file: string): Promise<CalibrationFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CalibrationFileError(file, code === 'ENOENT' ? 'no such file; run `schedlab calibrate` first' : `cannot be read (${code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CalibrationFileError(file, `not JSON (${(err as Error).message}); run \`schedlab calibrate\` again`);
  }
  return parseCalibration(data, file);
}
