/**
 * The CARC and RARC tables (./carc-table.json, ./rarc-table.json), built from the public X12 code
 * lists (code and status, ../shared/data/x12) and Dripline's own notes on each code
 * (./carc-notes.json, ./rarc-notes.json: a short label in our words — never X12's text, which is
 * X12's copyright — and, for each CARC, the denial category whose work queue it goes to and
 * whether it is a routine adjustment rather than a denial). Pure: the files are passed in;
 * `npm run tables:import-x12-codes` (src/cli/x12-codes-command.ts) reads and writes them.
 *
 * Every CARC of the list must have a note (a category is what triage needs); a RARC without one
 * has no label. A note for a code the list does not have is an error (a typo would otherwise go
 * unnoticed).
 */
import { createHash } from 'node:crypto';
import { parseCsv } from '../../coding/cms/csv.ts';
import type { CarcRow, CodeListKind, CodeStatus, CodeTable, DenialCategory, RarcRow } from './format.ts';
import { DENIAL_CATEGORY_IDS } from './format.ts';

export class CodeImportError extends Error {
  override readonly name = 'CodeImportError';
}

export interface CodeListFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/** A CARC note: the queue its denials go to, whether it is routine (not a denial), our label. */
export interface CarcNote {
  readonly category: DenialCategory;
  readonly routine?: boolean;
  readonly label: string;
  /** First and last day the code may be used (YYYY-MM-DD), when known; the public list gives none. */
  readonly start?: string;
  readonly stop?: string;
}

export interface RarcNote {
  readonly label: string;
  readonly start?: string;
  readonly stop?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The list's rows: `code,status` with a header line; status current or deactivated. */
function readList(file: CodeListFile): { code: string; status: CodeStatus }[] {
  const rows = parseCsv(file.bytes.toString('utf8').replace(/^\uFEFF/, ''));
  const header = rows[0]?.map((c) => c.trim().toLowerCase());
  if (header?.[0] !== 'code' || header[1] !== 'status') {
    throw new CodeImportError(`${file.name}: the first line must be "code,status"`);
  }
  const out: { code: string; status: CodeStatus }[] = [];
  const seen = new Set<string>();
  rows.slice(1).forEach((row, i) => {
    const code = (row[0] ?? '').trim();
    const status = (row[1] ?? '').trim().toLowerCase();
    if (code === '' && row.length <= 1) {
      return; // a trailing empty line
    }
    if (!/^[A-Z0-9]{1,6}$/.test(code)) {
      throw new CodeImportError(`${file.name} line ${i + 2}: "${code}" is not a code`);
    }
    if (status !== 'current' && status !== 'deactivated') {
      throw new CodeImportError(
        `${file.name} line ${i + 2}: status "${status}" is neither current nor deactivated`,
      );
    }
    if (seen.has(code)) {
      throw new CodeImportError(`${file.name} line ${i + 2}: code ${code} is listed twice`);
    }
    seen.add(code);
    out.push({ code, status });
  });
  return out;
}

function checkDates(kind: CodeListKind, code: string, note: { start?: string; stop?: string }): void {
  for (const date of [note.start, note.stop]) {
    if (date !== undefined && !DATE.test(date)) {
      throw new CodeImportError(`${kind} notes: ${code} has a date that is not YYYY-MM-DD: ${date}`);
    }
  }
}

/** CARC, then RARC; numbers in numeric order, letters after (1, 2, …, 308, A0, A1, B1, B2, B10 …). */
function byCode(a: string, b: string): number {
  const split = (c: string): [string, number] => {
    const m = /^([A-Z]*)(\d*)$/.exec(c);
    return [m?.[1] ?? c, Number(m?.[2] ?? 0)];
  };
  const [pa, na] = split(a);
  const [pb, nb] = split(b);
  return pa < pb ? -1 : pa > pb ? 1 : na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The CARC table from the list and our notes. */
export function buildCarcTable(
  file: CodeListFile,
  notes: Readonly<Record<string, CarcNote>>,
  imported: string,
): CodeTable<CarcRow> {
  const list = readList(file);
  const listed = new Set(list.map((r) => r.code));
  const extra = Object.keys(notes).filter((code) => !listed.has(code));
  if (extra.length > 0) {
    throw new CodeImportError(`carc notes name codes the list does not have: ${extra.join(', ')}`);
  }
  const rows = list
    .map(({ code, status }): CarcRow => {
      const note = notes[code];
      if (!note) {
        throw new CodeImportError(`CARC ${code} has no note: every CARC needs a denial category`);
      }
      if (!DENIAL_CATEGORY_IDS.includes(note.category)) {
        throw new CodeImportError(`CARC ${code}: unknown category "${note.category}"`);
      }
      if (typeof note.label !== 'string' || note.label.trim() === '') {
        throw new CodeImportError(`CARC ${code}: the note has no label`);
      }
      checkDates('carc', code, note);
      return [
        code,
        status,
        note.category,
        note.routine === true,
        note.label,
        note.start ?? null,
        note.stop ?? null,
      ];
    })
    .sort((a, b) => byCode(a[0], b[0]));
  return table('carc', file, rows, imported);
}

/** The RARC table from the list and our notes (codes without a note have no label). */
export function buildRarcTable(
  file: CodeListFile,
  notes: Readonly<Record<string, RarcNote>>,
  imported: string,
): CodeTable<RarcRow> {
  const list = readList(file);
  const listed = new Set(list.map((r) => r.code));
  const extra = Object.keys(notes).filter((code) => !listed.has(code));
  if (extra.length > 0) {
    throw new CodeImportError(`rarc notes name codes the list does not have: ${extra.join(', ')}`);
  }
  const rows = list
    .map(({ code, status }): RarcRow => {
      const note = notes[code];
      if (note) {
        checkDates('rarc', code, note);
      }
      return [code, status, note?.label ?? null, note?.start ?? null, note?.stop ?? null];
    })
    .sort((a, b) => byCode(a[0], b[0]));
  return table('rarc', file, rows, imported);
}

function table<R extends CarcRow | RarcRow>(
  kind: CodeListKind,
  file: CodeListFile,
  rows: R[],
  imported: string,
): CodeTable<R> {
  const name =
    kind === 'carc' ? 'Claim Adjustment Reason Codes (CARC)' : 'Remittance Advice Remark Codes (RARC)';
  return {
    title: `X12 ${name}: status from the public code list; labels${kind === 'carc' ? ' and denial categories' : ''} are Dripline's own`,
    format: 1,
    list: kind,
    imported,
    generator: `npm run tables:import-x12-codes (src/remittance/codes/import.ts, notes in src/remittance/codes/${kind}-notes.json); do not edit by hand`,
    source: { file: file.name, rows: rows.length, sha256: sha256(file.bytes) },
    notes:
      kind === 'carc'
        ? 'rows: [code, status (current | deactivated, as the list gives it), denial category (the work queue), routine (an adjustment that is not a denial: contractual, sequestration, prior payer, patient share), Dripline label, first day, last day (null: the public list gives no dates)]. X12 owns the codes and their official descriptions (https://x12.org/codes/claim-adjustment-reason-codes); the labels here are our own paraphrases.'
        : 'rows: [code, status (current | deactivated), Dripline label (null: none written yet; see the X12 list), first day, last day (null: the public list gives no dates)]. X12 owns the codes and their official descriptions (https://x12.org/codes/remittance-advice-remark-codes); the labels here are our own paraphrases.',
    codes: rows,
  };
}

/** The table as committed: one code per line, so a new list's diff is readable. */
export function serializeCodeTable(table: CodeTable<CarcRow | RarcRow>): string {
  const { codes, ...header } = table;
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, '');
  return `${head},\n  "codes": [\n${codes.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]\n}\n`;
}
