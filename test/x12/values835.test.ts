/**
 * The 835's amount and date readers (src/x12/835/values.ts) are hand-written scans (they run for
 * every element of a remittance); these tests hold them to the definitions they implement, written
 * here as plainly as possible: X12 R decimals (an optional minus, digits with an optional point,
 * at most 18 digits, money with at most two decimals) and D8 dates that exist.
 */
import { describe, expect, test } from '@jest/globals';
import { parseCents, parseD8 } from '../../src/x12/835/values.ts';

/** The definition: a regular expression for R, then whole and fraction read by Number. */
function centsByDefinition(text: string): number | undefined {
  if (!/^-?(?:\d+\.?\d*|\.\d+)$/.test(text) || text.replace(/[-.]/g, '').length > 18) {
    return undefined;
  }
  const negative = text.startsWith('-');
  const [whole = '', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > 2) {
    return undefined;
  }
  const cents = Number(whole || '0') * 100 + Number(fraction.padEnd(2, '0') || '0');
  return negative ? -cents : cents;
}

/** The definition: a calendar day that exists (years from 0100: Date reads 00xx as 19xx). */
function dateByDefinition(text: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!m) {
    return undefined;
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
    ? `${m[1]}-${m[2]}-${m[3]}`
    : undefined;
}

describe('amounts (X12 R, money)', () => {
  const cases = [
    '0', '12', '12.3', '12.34', '12.345', '-12.34', '-0', '-.5', '.5', '5.', '.', '-', '', '--1', '1-',
    '1.2.3', '1e3', ' 1', '1 ', '+1', '١٢', '0012.30', '999999999999999999', '9999999999999999.99',
    '99999999999999999.9', '1234567890123456.78', '12345678901234567', '1234567890123456789',
    '1234567.891', '0.00', '-0.01', 'NaN', 'Infinity', '0x10',
  ]; // prettier-ignore
  test.each(cases)('%p reads as its definition says', (text) => {
    expect(parseCents(text)).toBe(centsByDefinition(text));
  });

  test('random decimals read as their definition says', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const alphabet = '0123456789.-';
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + (next() % 20);
      let text = '';
      for (let j = 0; j < length; j++) {
        text += alphabet.charAt(next() % (next() % 4 === 0 ? alphabet.length : 10));
      }
      expect([text, parseCents(text)]).toEqual([text, centsByDefinition(text)]);
    }
  });
});

describe('dates (D8)', () => {
  const cases = [
    '20261204', '20240229', '20250229', '19000229', '20000229', '20261131', '20261231', '20261301',
    '20260001', '20260100', '00991231', '01000101', '99991231', '2026124', '202612041', '2026-12-04',
    '2026120a', '', '20261204 ',
  ]; // prettier-ignore
  test.each(cases)('%p reads as its definition says', (text) => {
    expect(parseD8(text)).toBe(dateByDefinition(text));
  });

  test('every day of four years (a leap year among them), read twice in a row', () => {
    for (let t = Date.UTC(2023, 0, 1); t < Date.UTC(2027, 0, 1); t += 86_400_000) {
      const iso = new Date(t).toISOString().slice(0, 10);
      const d8 = iso.replaceAll('-', '');
      expect(parseD8(d8)).toBe(iso);
      expect(parseD8(d8)).toBe(iso);
    }
    expect(parseD8('20240230')).toBeUndefined();
    expect(parseD8('20240230')).toBeUndefined();
  });
});
