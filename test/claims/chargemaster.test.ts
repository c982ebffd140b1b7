/** The tenant chargemaster: the shipped defaults load, priceOf rounds to cents, a bad file names its path. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import {
  DEFAULT_CHARGEMASTER_FILE,
  createChargemaster,
  loadChargemaster,
  priceOf,
  roundMoney,
} from '../../src/claims/chargemaster.ts';
import { ChargemasterError } from '../../src/config/chargemaster-file.ts';
import type { ChargemasterFile } from '../../src/config/chargemaster-file.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-chargemaster-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shipped(): ChargemasterFile {
  return JSON.parse(readFileSync(DEFAULT_CHARGEMASTER_FILE, 'utf8')) as ChargemasterFile;
}

function writeCopy(name: string, data: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
}

function errorOf(fn: () => unknown): ChargemasterError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ChargemasterError);
    return e as ChargemasterError;
  }
  throw new Error('expected a ChargemasterError');
}

describe('loadChargemaster', () => {
  test('loads the shipped defaults, cached, with a header and a default price', () => {
    const cm = loadChargemaster();
    expect(cm.file).toBe(DEFAULT_CHARGEMASTER_FILE);
    expect(cm.data.title).toMatch(/chargemaster/i);
    expect(cm.data.sources.length).toBeGreaterThan(0);
    expect(cm.data.effective).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(cm.data.notes).toMatch(/ILLUSTRATIVE/);
    expect(cm.data.currency).toBe('USD');
    expect(cm.data.default.price).toBeGreaterThan(0);
    expect(loadChargemaster()).toBe(cm);
  });

  test('prices every administration code and drug HCPCS Dripline emits, drugs per billing unit', () => {
    const cm = loadChargemaster();
    const tables = loadCodingTables();
    const listed = new Map(cm.data.charges.map((c) => [c.code, c]));
    for (const admin of tables.administrationCodes.codes) {
      expect(listed.get(admin.code)?.kind).toBe('administration');
    }
    for (const drug of tables.drugs.drugs) {
      const entry = listed.get(drug.hcpcs);
      expect(entry?.kind).toBe('drug');
      expect(entry?.per).toBe(`${drug.billingUnit.value} ${drug.billingUnit.unit}`);
    }
    for (const entry of cm.data.charges) {
      expect(entry.price).toBeGreaterThan(0);
    }
  });

  test('a corrupted copy fails with a message naming the file and the JSON path', () => {
    const data = shipped();
    const bad = structuredClone(data) as unknown as { charges: Record<string, unknown>[] };
    bad.charges[3]!['price'] = 'free';
    delete bad.charges[5]!['code'];
    const file = writeCopy('bad-types.json', bad);
    const err = errorOf(() => loadChargemaster(file));
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain('$.charges[3].price');
    expect(err.message).toContain('$.charges[5].code: is required');
  });

  test('negative, sub-cent and duplicate prices are refused by path', () => {
    const data = structuredClone(shipped()) as unknown as {
      default: { price: number };
      charges: { code: string; price: number }[];
    };
    data.default.price = -1;
    const err1 = errorOf(() => loadChargemaster(writeCopy('negative.json', data)));
    expect(err1.message).toContain('$.default.price: must be >= 0');

    data.default.price = 100;
    data.charges[0]!.price = 12.345;
    data.charges[2]!.code = data.charges[1]!.code;
    const err2 = errorOf(() => loadChargemaster(writeCopy('cents.json', data)));
    expect(err2.issues).toEqual([
      { path: '$.charges[0].price', message: 'must have at most 2 decimals' },
      { path: '$.charges[2].code', message: `duplicates ${data.charges[1]!.code} of $.charges[1]` },
    ]);
  });

  test('unreadable or missing files name the path too', () => {
    const broken = writeCopy('broken.json', '{ "title": ');
    expect(errorOf(() => loadChargemaster(broken)).message).toMatch(/broken\.json[\s\S]*\$: cannot be read/);
    const missing = path.join(dir, 'missing.json');
    expect(errorOf(() => loadChargemaster(missing)).message).toContain(
      `${missing} (1 issue):\n  $: file not found`,
    );
  });

  test('a tenant file replaces the defaults', () => {
    const data: ChargemasterFile = {
      ...shipped(),
      default: { price: 0 },
      charges: [
        { code: '96365', label: 'IV infusion', kind: 'administration', per: 'service', price: 512.5 },
      ],
    };
    const cm = loadChargemaster(writeCopy('tenant.json', data));
    expect(cm.priceOf('96365', 1)).toBe(512.5);
    expect(cm.priceOf('J1745', 40)).toBe(0);
  });
});

describe('priceOf', () => {
  test('unit price × units from the shipped file, 2-decimal money', () => {
    const cm = loadChargemaster();
    const j1745 = cm.unitPrice('J1745');
    expect(j1745).toBe(cm.data.charges.find((c) => c.code === 'J1745')?.price);
    expect(priceOf('J1745', 40)).toBe(roundMoney(j1745 * 40));
    expect(priceOf('96365', 1)).toBe(cm.unitPrice('96365'));
    expect(priceOf('96366', 2)).toBe(roundMoney(cm.unitPrice('96366') * 2));
    expect(priceOf('j1745', 1)).toBe(j1745);
    expect(priceOf('96365', 0)).toBe(0);
  });

  test('unknown or missing codes use the default price', () => {
    const cm = loadChargemaster();
    expect(priceOf('A9999', 3)).toBe(roundMoney(cm.data.default.price * 3));
    expect(cm.unitPrice(undefined)).toBe(cm.data.default.price);
  });

  test('rounds to cents without float drift and refuses bad units', () => {
    const cm = createChargemaster({
      ...shipped(),
      charges: [
        { code: 'J9263', label: 'x', kind: 'drug', per: '0.5 mg', price: 0.1 },
        { code: 'J1100', label: 'y', kind: 'drug', per: '1 mg', price: 1.005 },
      ],
    });
    expect(cm.priceOf('J9263', 3)).toBe(0.3);
    expect(cm.priceOf('J1100', 1)).toBe(1.01);
    expect(cm.priceOf('J9263', 0.25)).toBe(0.03);
    expect(roundMoney(2.675)).toBe(2.68);
    expect(() => cm.priceOf('J9263', -1)).toThrow(RangeError);
    expect(() => cm.priceOf('J9263', Number.NaN)).toThrow(RangeError);
  });
});
