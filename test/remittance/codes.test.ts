/**
 * The CARC and RARC tables (src/remittance/codes.ts): every CARC on the public X12 list has a
 * denial category and our own label; the committed tables are exactly what the import makes of the
 * public lists (when ../shared/data/x12 is present); a broken list or note is refused with a
 * message naming it; codes out of effect say so.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import {
  carcInfo,
  CARC_TABLE_URL,
  checkCarcTable,
  checkRarcTable,
  codeTables,
  DENIAL_CATEGORY_IDS,
  inEffect,
  rarcInfo,
  RARC_TABLE_URL,
} from '../../src/remittance/codes.ts';
import type { CarcNote, RarcNote } from '../../src/remittance/codes/import.ts';
import {
  buildCarcTable,
  buildRarcTable,
  CodeImportError,
  serializeCodeTable,
} from '../../src/remittance/codes/import.ts';
import { describeShared } from '../support/shared.ts';

const NOTES_DIR = new URL('../../src/remittance/codes/', import.meta.url);
const notes = <T>(kind: string): Record<string, T> =>
  JSON.parse(readFileSync(new URL(`${kind}-notes.json`, NOTES_DIR), 'utf8')) as Record<string, T>;
const csv = (text: string): { name: string; bytes: Buffer } => ({
  name: 'list.csv',
  bytes: Buffer.from(text),
});

describe('the committed CARC and RARC tables', () => {
  test('load, and every CARC has a denial category and a label', () => {
    const tables = codeTables();
    expect(tables.carc.size).toBe(407);
    expect(tables.rarc.size).toBe(1216);
    for (const entry of tables.carc.values()) {
      expect(DENIAL_CATEGORY_IDS).toContain(entry.category);
      expect(entry.label.length).toBeGreaterThan(3);
      expect(entry.label.length).toBeLessThanOrEqual(120);
    }
  });

  test.each([
    ['197', 'authorization', false],
    ['198', 'authorization', false],
    ['4', 'coding', false],
    ['16', 'documentation', false],
    ['29', 'timely-filing', false],
    ['18', 'duplicate', false],
    ['97', 'bundling', false],
    ['50', 'medical-necessity', false],
    ['96', 'eligibility', false],
    ['1', 'patient-responsibility', true],
    ['2', 'patient-responsibility', true],
    ['3', 'patient-responsibility', true],
    ['45', 'other', true],
    ['253', 'other', true],
    ['23', 'other', true],
  ])('CARC %s is %s (routine %s)', (code, category, routine) => {
    const info = carcInfo(code);
    expect(info.category).toBe(category);
    expect(info.routine).toBe(routine);
    expect(info.known).toBe(true);
  });

  test('a code the list marks deactivated is read but not in effect; an unknown code says so', () => {
    const fifteen = carcInfo('15');
    expect(fifteen.status).toBe('deactivated');
    expect(inEffect(fifteen, '2026-12-01')).toBe(false);
    expect(inEffect(carcInfo('197'), '2026-12-01')).toBe(true);
    const unknown = carcInfo('999');
    expect(unknown.known).toBe(false);
    expect(unknown.category).toBe('other');
    expect(unknown.label).toMatch(/not on the X12 list/);
    expect(rarcInfo('N290').label).toMatch(/NPI/);
    expect(rarcInfo('N1').known).toBe(true);
    expect(rarcInfo('N1').label).toBeUndefined();
  });

  test('a corrupted table is refused with the row named', () => {
    const table = JSON.parse(readFileSync(CARC_TABLE_URL, 'utf8')) as { codes: unknown[] };
    table.codes[3] = ['4', 'current', 'no-such-category', false, 'x', null, null];
    expect(() => checkCarcTable(table)).toThrow(/codes\[3\]/);
    const rarc = JSON.parse(readFileSync(RARC_TABLE_URL, 'utf8')) as { codes: unknown[] };
    rarc.codes[0] = ['M1', 'retired', null, null, null];
    expect(() => checkRarcTable(rarc)).toThrow(/codes\[0\]/);
  });
});

describe('the import', () => {
  const carcNotes = notes<CarcNote>('carc');
  test('a CARC without a note, a note for a code not on the list, and a bad status are refused', () => {
    expect(() =>
      buildCarcTable(csv('code,status\n1,current\n9999,current\n'), carcNotes, '2026-12-04'),
    ).toThrow(CodeImportError);
    expect(() => buildCarcTable(csv('code,status\n1,current\n'), carcNotes, '2026-12-04')).toThrow(
      /notes name codes the list does not have/,
    );
    expect(() => buildRarcTable(csv('code,status\nM1,retired\n'), {}, '2026-12-04')).toThrow(/line 2/);
    expect(() => buildRarcTable(csv('id,state\nM1,current\n'), {}, '2026-12-04')).toThrow(/code,status/);
  });

  test('a note with an unknown category is refused', () => {
    expect(() =>
      buildCarcTable(
        csv('code,status\n1,current\n'),
        { '1': { category: 'nope' as CarcNote['category'], label: 'x' } },
        '2026-12-04',
      ),
    ).toThrow(/unknown category/);
  });

  test('RARCs without a note get no label', () => {
    const table = buildRarcTable(
      csv('code,status\nN290,current\nM1,current\n'),
      { N290: { label: 'Rendering NPI missing' } },
      '2026-12-04',
    );
    expect(table.codes).toEqual([
      ['M1', 'current', null, null, null],
      ['N290', 'current', 'Rendering NPI missing', null, null],
    ]);
  });
});

describeShared(
  ['data', 'x12'],
  'the committed tables are what the import makes of the public X12 lists',
  (dir) => {
    test.each([
      ['carc', 'x12-carc-codes-status.csv'],
      ['rarc', 'x12-rarc-codes-status.csv'],
    ] as const)('%s', (kind, file) => {
      const committed = readFileSync(new URL(`${kind}-table.json`, NOTES_DIR), 'utf8');
      const imported = (JSON.parse(committed) as { imported: string }).imported;
      const bytes = readFileSync(path.join(dir, file));
      const table =
        kind === 'carc'
          ? buildCarcTable({ name: file, bytes }, notes<CarcNote>('carc'), imported)
          : buildRarcTable({ name: file, bytes }, notes<RarcNote>('rarc'), imported);
      expect(serializeCodeTable(table)).toBe(committed);
    });
  },
);
