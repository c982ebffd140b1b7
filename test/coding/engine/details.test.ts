/** Unit-level checks: NDC normalization and NDC line formatting, add-on arithmetic, revenue codes, keys. */
import { describe, expect, test } from '@jest/globals';
import {
  addOnHours,
  codeEncounters,
  ndc11,
  nursingAdditionalHours,
} from '../../../src/coding/engine/index.ts';
import { adm, input, TABLES } from './helpers.ts';

describe('R11.1 NDC 11-digit 5-4-2', () => {
  test.each([
    ['0409-4759-01', '00409475901'],
    ['57894-030-01', '57894003001'],
    ['57894-0030-1', '57894003001'],
    ['57894-0030-01', '57894003001'],
    ['57894003001', '57894003001'],
    ['5789400300', undefined],
    ['abc', undefined],
  ])('%s → %s', (printed, expected) => {
    expect(ndc11(printed)).toBe(expected);
  });
});

describe('R3.3 add-on hour arithmetic', () => {
  test.each([
    [16, 0],
    [60, 0],
    [90, 0],
    [91, 1],
    [150, 1],
    [151, 2],
    [210, 2],
    [211, 3],
  ])('%i min → %i', (minutes, units) => {
    expect(addOnHours(minutes)).toBe(units);
  });
  test('R15.2 99602: whole hours by default, > 30 min reading configurable', () => {
    expect(nursingAdditionalHours(179, 120, 'whole-hours')).toBe(0);
    expect(nursingAdditionalHours(180, 120, 'whole-hours')).toBe(1);
    expect(nursingAdditionalHours(150, 120, 'more-than-30-minutes')).toBe(0);
    expect(nursingAdditionalHours(151, 120, 'more-than-30-minutes')).toBe(1);
  });
});

describe('R11 NDC on drug lines', () => {
  test('UN: packages used; split with the JW line when there is one', () => {
    const r = codeEncounters(
      input('office', [
        adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 350, unit: 'mg' } }),
      ]),
      TABLES,
    );
    expect(r.lines.find((l) => l.kind === 'drug')?.ndc).toEqual({
      ndc11: '57894003001',
      unit: 'UN',
      quantity: 3.5,
    });
    expect(r.lines.find((l) => l.kind === 'drug-waste')?.ndc).toEqual({
      ndc11: '57894003001',
      unit: 'UN',
      quantity: 0.5,
    });
    const c = codeEncounters(
      input(
        'office',
        [adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 350, unit: 'mg' } })],
        { payer: 'commercial' },
      ),
      TABLES,
    );
    expect(c.lines.find((l) => l.kind === 'drug')?.ndc).toEqual({
      ndc11: '57894003001',
      unit: 'UN',
      quantity: 4,
    });
  });
  test('ML: millilitres of solution (4 mg ondansetron at 2 mg/mL = 2 mL), 10-digit NDC padded', () => {
    const r = codeEncounters(
      input(
        'office',
        [adm('o', { ndc: '0409-4759-01' }, '09:00', '09:02', { dose: { value: 4, unit: 'mg' } })],
        { payer: 'medicaid' },
      ),
      TABLES,
    );
    expect(r.lines.find((l) => l.kind === 'drug')?.ndc).toEqual({
      ndc11: '00409475901',
      unit: 'ML',
      quantity: 2,
    });
  });
});

describe('R14 revenue codes on institutional lines only', () => {
  test('facility: administration 0260, packaged drug (OPPS N) 0250, IV solution 0258; office: none', () => {
    const adms = [
      adm('h', 'J7030', '09:00', '10:00', { site: 'L', dose: { value: 1000, unit: 'mL' } }),
      adm('p', 'J2405', '10:05', '10:07', { site: 'L', dose: { value: 4, unit: 'mg' } }),
    ];
    const f = codeEncounters(input('hospital-outpatient', adms), TABLES);
    const rev = Object.fromEntries(f.lines.map((l) => [l.code.code, l.revenueCode]));
    // Ondansetron is status N under OPPS (packaged): 0250, not 0636 (R14.2); separately payable drugs: see cms-drugs tests.
    expect(rev).toMatchObject({ '96374': '0260', '96361': '0260', J2405: '0250', J7030: '0258' });
    const o = codeEncounters(input('office', adms), TABLES);
    expect(o.lines.every((l) => l.revenueCode === undefined)).toBe(true);
  });
});

describe('stable keys', () => {
  test('array order does not change keys', () => {
    const a = [adm('a', 'J3370', '09:00', '10:00'), adm('b', 'J2405', '10:05', '10:07')];
    const k1 = codeEncounters(input('office', a), TABLES)
      .lines.map((l) => l.key)
      .sort();
    const k2 = codeEncounters(input('office', [...a].reverse()), TABLES)
      .lines.map((l) => l.key)
      .sort();
    expect(k2).toEqual(k1);
  });
});

describe('R9.1 dose units', () => {
  // A unit is looked up in a table of unit names: a name every object has (constructor,
  // __proto__) is as unknown as any other, and says so in the same words.
  test.each(['furlongs', 'constructor', '__proto__'])('"%s" is a unit Dripline cannot convert', (unit) => {
    const r = codeEncounters(
      input('office', [adm('o', { ndc: '0409-4759-01' }, '09:00', '09:02', { dose: { value: 4, unit } })]),
      TABLES,
    );
    expect(JSON.stringify(r)).toContain(`the dose unit \\"${unit}\\" is not a unit Dripline can convert`);
  });
});
