/**
 * Reading calibration files and naming them: `calibration-<fingerprint id>.json` next to
 * the run files, one per environment, so every reader (the advisor, the report, a
 * dashboard) finds the file that describes the machine it is looking at.
 */
import { join } from 'node:path';
import { readJsonFile } from '../common/files.js';
import { CalibrationFileError, fingerprintId, parseCalibration, type CalibrationFile, type Fingerprint } from './calibration.js';

/** The calibration file for this fingerprint in `dir`. */
export function calibrationPath(dir: string, fingerprint: Fingerprint): string {
  return join(dir, `calibration-${fingerprintId(fingerprint)}.json`);
}

export async function readCalibration(file: string): Promise<CalibrationFile> {
  const data = await readJsonFile(file, ({ reason, detail }) =>
    new CalibrationFileError(
      file,
      reason === 'missing'
        ? 'no such file; run `schedlab calibrate` first'
        : reason === 'not-json'
          ? `not JSON (${detail}); run \`schedlab calibrate\` again`
          : `cannot be read (${reason === 'directory' ? 'a directory' : detail})`,
    ),
  );
  return parseCalibration(data, file);
}
