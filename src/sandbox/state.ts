/**
 * What the sandbox keeps in `DATA_DIR/sandbox/` so that `npm start` stopped and started again on
 * the same data comes back to the same parties: the EHR's seeded day (date, size, seed, zone) and
 * how far its replay got — a restart reseeds exactly that, with the same ids — and the payer's
 * journal of what it adjudicated (./payer/ledger.ts). Delete the data directory for a new day.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface SandboxEhrState {
  /** The seeded day (YYYY-MM-DD, in `timeZone`). */
  readonly day: string;
  readonly patients: number;
  readonly seed: number;
  readonly timeZone: string;
  /** Timeline steps the EHR has applied (and notified). */
  readonly replayed: number;
}

export interface SandboxStateFiles {
  readonly ehr: string;
  readonly payerJournal: string;
}

export function sandboxStateFiles(dataDir: string): SandboxStateFiles {
  const dir = path.join(dataDir, 'sandbox');
  return { ehr: path.join(dir, 'ehr.json'), payerJournal: path.join(dir, 'payer-ledger.jsonl') };
}

/** The EHR state an earlier run left, or undefined (none yet). Throws on a file that is not one. */
export function readEhrState(file: string): SandboxEhrState | undefined {
  if (!existsSync(file)) {
    return undefined;
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SandboxEhrState>;
  const { day, patients, seed, timeZone, replayed } = parsed;
  if (
    typeof day !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}$/.test(day) ||
    typeof patients !== 'number' ||
    typeof seed !== 'number' ||
    typeof timeZone !== 'string' ||
    typeof replayed !== 'number'
  ) {
    throw new Error(`${file} is not a sandbox EHR state (delete it to seed a new day)`);
  }
  return { day, patients, seed, timeZone, replayed };
}

/** Writes the state atomically (a crash leaves the old file or the new one, never half of one). */
export function writeEhrState(file: string, state: SandboxEhrState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state)}\n`);
  renameSync(temporary, file);
}
