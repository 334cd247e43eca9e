/**
 * Where calibration files live and when one may be used. A calibration is stored next to
 * the run files as `runs/calibration-<fingerprint id>.json`, so each environment (machine,
 * Node, package versions) has its own and a changed environment simply finds none. A file
 * passed by path whose fingerprint differs from this machine's is refused, naming what
 * differs, unless the caller accepts it; then it is used and every answer carries a warning.
 */
import { existsSync } from 'node:fs';
import { CalibrationFileError, fingerprintDifferences, type CalibrationFile, type Fingerprint } from '../../model/calibration.js';
import { calibrationPath, readCalibration } from '../../model/calibration-file.js';
import { writeFileAtomic } from '../../common/files.js';

export { calibrationPath, readCalibration };

export interface LoadedCalibration {
  file: string;
  calibration: CalibrationFile;
  /** Set when the file comes from another environment and the caller accepted it. */
  warning?: string;
}

/**
 * Load `file` for use on the machine with fingerprint `here`. A file from another
 * environment is refused, unless `acceptOtherEnvironment`: then it comes with a warning.
 */
export async function loadCalibrationFor(file: string, here: Fingerprint, acceptOtherEnvironment = false): Promise<LoadedCalibration> {
  const calibration = await readCalibration(file);
  const differences = fingerprintDifferences(calibration.fingerprint, here);
  if (differences.length === 0) return { file, calibration };
  const what = `was measured in another environment (${differences.slice(0, 4).join('; ')}${differences.length > 4 ? `; ${differences.length - 4} more` : ''})`;
  if (!acceptOtherEnvironment) {
    throw new CalibrationFileError(file, `${what}: its costs do not describe this machine; run \`schedlab calibrate\` here, or pass --accept-other-environment to use it anyway`);
  }
  return { file, calibration, warning: `calibration ${file} ${what}; predictions describe that machine, not this one` };
}

/** This environment's calibration in `dir`, or null when there is none yet (or it is unreadable). */
export async function findCalibration(dir: string, here: Fingerprint): Promise<LoadedCalibration | null> {
  const file = calibrationPath(dir, here);
  if (!existsSync(file)) return null;
  try {
    return await loadCalibrationFor(file, here);
  } catch {
    return null; // stale or damaged: a new calibration replaces it
  }
}

export async function writeCalibration(file: string, calibration: CalibrationFile): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(calibration)}\n`);
}
