/**
 * Contracts and underpayments (src/remittance/contracts/): what a contract expects a line to be
 * allowed (fee schedule, percentage of ASP / OPPS / physician rates, percentage of billed, drug
 * carve-outs, effective dates), a payment checked against it line by line (tolerance,
 * sequestration, denials left to triage), totals per payer and month, and contracts files that are
 * refused with every problem named.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import type { Contract } from '../../src/config/contracts-file.ts';
import { ContractsFileError, contractsIssues, readContractsFile } from '../../src/config/contracts-file.ts';
import { expectedAllowed } from '../../src/remittance/contracts/expected.ts';
import { buildOppsRates, serializeReferenceRates } from '../../src/remittance/contracts/reference-import.ts';
import { createReferenceRates, REFERENCE_DIR } from '../../src/remittance/contracts/references.ts';
import { totalsByPayerAndMonth } from '../../src/remittance/contracts/totals.ts';
import { evaluatePayment } from '../../src/remittance/contracts/variance.ts';
import type { PostedLine } from '../../src/remittance/posted.ts';
import { paidLine, payment, postedLine } from './fixtures.ts';
import { describeShared } from '../support/shared.ts';

const references = createReferenceRates(loadCodingTables().cms);
const DOS = '2026-03-02';
/** J1745's CMS 2026Q1 payment limit per 10 mg (ASP + 6 %), from the committed quarter table. */
const J1745_LIMIT = 32.423;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function temp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-contracts-'));
  dirs.push(dir);
  return dir;
}

const lakeshore: Contract = {
  id: 'lakeshore-2026',
  payer: 'lakeshore',
  name: 'Lakeshore PPO agreement',
  effective: '2026-01-01',
  through: '2026-12-31',
  source: 'Agreement §4, Exhibit B',
  terms: [
    {
      id: 'admin',
      kind: 'fee-schedule',
      rates: { '96413': 150, '96415': 33 },
      match: { codes: ['96360-96549'] },
    },
    {
      id: 'drugs',
      kind: 'percent-of-reference',
      reference: 'medicare-asp',
      percent: 106,
      match: { drugs: true },
    },
    { id: 'infliximab', kind: 'fee-schedule', carveOut: true, rates: { J1745: 35 } },
    {
      id: 'opps',
      kind: 'percent-of-reference',
      reference: 'opps',
      percent: 90,
      match: { codes: ['96360-96549'] },
    },
    { id: 'rest', kind: 'percent-of-billed', percent: 40 },
  ],
};
const medicare: Contract = {
  id: 'medicare-2026',
  payer: 'medicare',
  name: 'Medicare Part B',
  effective: '2026-01-01',
  source: 'CMS fee schedules',
  terms: [
    {
      id: 'drugs',
      kind: 'percent-of-reference',
      reference: 'medicare-asp',
      percent: 106,
      match: { drugs: true },
    },
    { id: 'admin', kind: 'percent-of-reference', reference: 'medicare-physician', percent: 100 },
  ],
};
const contracts = [lakeshore, medicare];

const line = (
  code: string,
  units: number,
  extra: Partial<{ charge: number; modifiers: string[]; date: string }> = {},
) => ({
  code,
  units,
  date: extra.date ?? DOS,
  ...(extra.charge !== undefined ? { charge: extra.charge } : {}),
  ...(extra.modifiers ? { modifiers: extra.modifiers } : {}),
});

describe('reference rates', () => {
  test('read their tables on the first rate asked for, once', () => {
    let reads = 0;
    const rates = createReferenceRates(() => {
      reads++;
      return loadCodingTables().cms;
    });
    expect(reads).toBe(0);
    expect(rates.rate('medicare-asp', 'J1745', DOS)?.perUnit).toBeCloseTo(J1745_LIMIT / 1.06, 6);
    expect(rates.isDrug('J1745', DOS)).toBe(true);
    expect(reads).toBe(1);
  });
});

describe('expectedAllowed: the contract term that prices a line', () => {
  test('a fee schedule prices per unit, naming the contract and the term', () => {
    const expected = expectedAllowed({ contracts, payer: 'lakeshore', line: line('96413', 1), references });
    expect(expected).toMatchObject({
      amount: 150,
      perUnit: 150,
      contract: { id: 'lakeshore-2026', source: 'Agreement §4, Exhibit B' },
      term: { id: 'admin', kind: 'fee-schedule', carveOut: false },
      unverified: false,
    });
  });

  test('ASP + 6 % is 106 % of the ASP, which CMS publishes as its payment limit / 1.06', () => {
    const expected = expectedAllowed({ contracts, payer: 'medicare', line: line('J1745', 40), references });
    expect(expected?.amount).toBe(Math.round(J1745_LIMIT * 40 * 100) / 100);
    expect(expected?.term.description).toBe('106 % of medicare-asp');
    expect(expected?.basis).toMatch(/2026Q1 ASP file/);
  });

  test('a drug carve-out wins over the general drug term wherever it is listed', () => {
    const expected = expectedAllowed({ contracts, payer: 'lakeshore', line: line('J1745', 40), references });
    expect(expected).toMatchObject({ amount: 1400, term: { id: 'infliximab', carveOut: true } });
    expect(expected?.term.description).toMatch(/^carve-out/);
    // Another drug falls to ASP + 6 %.
    const other = expectedAllowed({ contracts, payer: 'lakeshore', line: line('J9271', 200), references });
    expect(other?.term.id).toBe('drugs');
  });

  test('a code not on the fee schedule falls through to the next term that prices it', () => {
    // 96365 is not on Lakeshore's schedule: 90 % of the OPPS rate (2025Q4 table, carried into 2026).
    const opps = JSON.parse(readFileSync(path.join(REFERENCE_DIR, 'opps-2025Q4.json'), 'utf8')) as {
      rates: [string, number, string][];
    };
    const rate = opps.rates.find((r) => r[0] === '96365')?.[1] ?? 0;
    const expected = expectedAllowed({ contracts, payer: 'lakeshore', line: line('96365', 1), references });
    expect(expected?.term.id).toBe('opps');
    expect(expected?.amount).toBe(Math.round(rate * 0.9 * 100) / 100);
    expect(expected?.basis).toMatch(/latest table is used/);
    // A supply: percent of billed.
    const supply = expectedAllowed({
      contracts,
      payer: 'lakeshore',
      line: line('A4221', 1, { charge: 80 }),
      references,
    });
    expect(supply).toMatchObject({ amount: 32, term: { id: 'rest', kind: 'percent-of-billed' } });
  });

  test('rates from the hand-seeded physician table are marked unverified', () => {
    const expected = expectedAllowed({ contracts, payer: 'medicare', line: line('96413', 1), references });
    expect(expected?.unverified).toBe(true);
    expect(expected?.basis).toMatch(/UNVERIFIED/);
  });

  test('outside the contract dates, or for another payer, nothing is expected', () => {
    expect(
      expectedAllowed({
        contracts,
        payer: 'lakeshore',
        line: line('96413', 1, { date: '2027-01-02' }),
        references,
      }),
    ).toBeUndefined();
    expect(
      expectedAllowed({ contracts, payer: 'cardinal', line: line('96413', 1), references }),
    ).toBeUndefined();
  });

  test('a term can be limited to lines with a modifier', () => {
    const withModifier: Contract = {
      ...lakeshore,
      id: 'mod',
      terms: [
        { id: 'waste', kind: 'fee-schedule', rates: { J1745: 10 }, match: { modifiers: ['JW'] } },
        { id: 'drugs', kind: 'fee-schedule', rates: { J1745: 30 } },
      ],
    };
    const waste = expectedAllowed({
      contracts: [withModifier],
      payer: 'lakeshore',
      line: line('J1745', 5, { modifiers: ['JW'] }),
      references,
    });
    expect(waste?.term.id).toBe('waste');
    expect(
      expectedAllowed({ contracts: [withModifier], payer: 'lakeshore', line: line('J1745', 5), references })
        ?.term.id,
    ).toBe('drugs');
  });
});

describe('a payment against the contract', () => {
  test('a line paid below the contract beyond the tolerance is underpaid, with the term and the variance', () => {
    // Contract: 96413 at $150. Payer allowed $135, 80 % paid = 108; expected payment 150 − 27 = 123.
    const evaluation = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([paidLine('96413', 1, 400, 135, 108)]),
      contracts,
      payerKind: 'commercial',
      references,
    });
    const [l] = evaluation.lines;
    expect(l).toMatchObject({ status: 'underpaid', expectedPayment: 123, variance: 15, actualAllowed: 135 });
    expect(l?.expected?.term.id).toBe('admin');
    expect(evaluation.underpaid).toBe(15);
  });

  test('within the tolerance (dollars and percent) a short payment is as expected', () => {
    const evaluation = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([paidLine('96413', 1, 400, 149.5, 119.6)]),
      contracts,
      payerKind: 'commercial',
      references,
      tolerance: { amount: 1, percent: 1 },
    });
    expect(evaluation.lines[0]?.status).toBe('as-expected');
    const strict = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([paidLine('96413', 1, 400, 149.5, 119.6)]),
      contracts,
      payerKind: 'commercial',
      references,
      tolerance: { amount: 0.1, percent: 0 },
    });
    expect(strict.lines[0]?.status).toBe('underpaid');
  });

  test('Medicare sequestration (CARC 253) up to 2 % is expected; more is an underpayment', () => {
    const allowed = Math.round(J1745_LIMIT * 40 * 100) / 100; // 1296.92
    const coinsurance = Math.round(allowed * 0.2 * 100) / 100;
    const seq = Math.round((allowed - coinsurance) * 0.02 * 100) / 100;
    const make = (taken: number): PostedLine =>
      postedLine({
        sequence: 1,
        code: 'J1745',
        modifiers: ['JZ'],
        units: 40,
        date: DOS,
        submitted: 4000,
        allowed,
        paid: Math.round((allowed - coinsurance - taken) * 100) / 100,
        adjustments: [
          { group: 'CO', carc: '45', amount: Math.round((4000 - allowed) * 100) / 100 },
          { group: 'PR', carc: '2', amount: coinsurance },
          { group: 'CO', carc: '253', amount: taken },
        ],
      });
    const ok = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([make(seq)], { payer: 'medicare' }),
      contracts,
      payerKind: 'medicare',
      references,
    });
    expect(ok.lines[0]).toMatchObject({ status: 'as-expected', sequestration: { taken: seq } });
    const greedy = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([make(seq * 4)], { payer: 'medicare' }),
      contracts,
      payerKind: 'medicare',
      references,
    });
    expect(greedy.lines[0]?.status).toBe('underpaid');
    expect(greedy.lines[0]?.variance).toBeCloseTo(seq * 3, 1);
  });

  test('a denied line is left to triage; a partial denial reduction is not counted as an underpayment', () => {
    const denied = postedLine({
      sequence: 2,
      code: 'J1745',
      units: 40,
      submitted: 4000,
      allowed: 0,
      paid: 0,
      adjustments: [{ group: 'CO', carc: '197', amount: 4000 }],
    });
    // 96415 × 2 billed, the payer paid one unit (CO-151 on the other): contract $33 × 2 = 66.
    const cut = postedLine({
      sequence: 3,
      code: '96415',
      units: 2,
      submitted: 200,
      allowed: 33,
      paid: 26.4,
      adjustments: [
        { group: 'CO', carc: '45', amount: 134 },
        { group: 'CO', carc: '151', amount: 33 },
        { group: 'PR', carc: '2', amount: 6.6 },
      ],
    });
    const evaluation = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([denied, cut]),
      contracts,
      payerKind: 'commercial',
      references,
    });
    expect(evaluation.lines[0]?.status).toBe('denied');
    expect(evaluation.lines[1]).toMatchObject({
      status: 'as-expected',
      deniedAmount: 33,
      expectedPayment: 26.4,
    });
  });

  test('secondary claims and reversals are not evaluated; lines no term prices say why', () => {
    const secondary = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([paidLine('96413', 1, 400, 135, 20)], { status: '2' }),
      contracts,
      payerKind: 'commercial',
      references,
    });
    expect(secondary.lines[0]).toMatchObject({
      status: 'not-evaluated',
      reason: expect.stringMatching(/secondary/),
    });
    const unpriced = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([paidLine('99601', 1, 200, 100, 80)], { payer: 'medicare' }),
      contracts,
      payerKind: 'medicare',
      references,
    });
    expect(unpriced.lines[0]).toMatchObject({
      status: 'not-priced',
      reason: expect.stringMatching(/no term/),
    });
  });

  test('totals per payer and month', () => {
    const march = evaluatePayment({
      decided: '2026-03-20',
      payment: payment([paidLine('96413', 1, 400, 135, 108), paidLine('96415', 1, 100, 33, 26.4)]),
      contracts,
      payerKind: 'commercial',
      references,
    });
    const april = evaluatePayment({
      decided: '2026-04-02',
      payment: payment([paidLine('96413', 1, 400, 150, 120)], { claim: 'claim-2' }),
      contracts,
      payerKind: 'commercial',
      references,
    });
    const totals = totalsByPayerAndMonth([march, april]);
    expect(totals).toEqual([
      expect.objectContaining({
        payer: 'lakeshore',
        period: '2026-03',
        claims: 1,
        lines: 2,
        priced: 2,
        underpaidLines: 1,
        underpaid: 15,
        expectedAllowed: 183,
        allowed: 168,
      }),
      expect.objectContaining({ payer: 'lakeshore', period: '2026-04', underpaidLines: 0, underpaid: 0 }),
    ]);
  });
});

describe('contracts files', () => {
  const valid = {
    title: 'Mercy contracts',
    contracts: [
      {
        id: 'lakeshore-2026',
        payer: 'lakeshore',
        name: 'Lakeshore PPO',
        effective: '2026-01-01',
        source: 'Agreement §4',
        terms: [{ id: 'admin', kind: 'fee-schedule', ratesFile: 'lakeshore.csv', rates: { '96415': 34 } }],
      },
    ],
  };

  test('a rates file is read beside the contracts file; inline rates win', () => {
    const dir = temp();
    writeFileSync(path.join(dir, 'lakeshore.csv'), 'code,rate\n96413,150\n96415,33\n');
    writeFileSync(path.join(dir, 'contracts.json'), JSON.stringify(valid));
    const read = readContractsFile(path.join(dir, 'contracts.json'));
    const term = read.contracts[0]?.terms[0];
    expect(term?.kind === 'fee-schedule' ? term.rates : undefined).toEqual({ '96413': 150, '96415': 34 });
  });

  test('every problem is named by its path', () => {
    const dir = temp();
    writeFileSync(path.join(dir, 'lakeshore.csv'), 'code,rate\n96413,lots\n96413,150\n');
    const { issues } = contractsIssues(
      {
        ...valid,
        contracts: [
          valid.contracts[0],
          { ...valid.contracts[0], id: 'lakeshore-2026b', effective: '2026-06-01', through: '2026-05-01' },
        ],
      },
      dir,
    );
    const text = issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    expect(text).toMatch(/ratesFile.*line 2/);
    expect(text).toMatch(/\$\.contracts\[1\]\.through: is before effective/);
    expect(text).toMatch(/overlap/);
    const schema = contractsIssues({ title: 'x', contracts: [{ id: 'a', payer: 'b' }] }, dir);
    expect(schema.issues.length).toBeGreaterThan(0);
    const badRange = contractsIssues(
      {
        ...valid,
        contracts: [
          {
            ...valid.contracts[0],
            terms: [{ id: 'r', kind: 'percent-of-billed', percent: 40, match: { codes: ['96549-96360'] } }],
          },
        ],
      },
      dir,
    );
    expect(badRange.issues.map((i) => i.message).join()).toMatch(/not a range/);
  });

  test('the configuration refuses a bad contracts file, or a contract with a payer the tenant does not have', () => {
    const dir = temp();
    writeFileSync(path.join(dir, 'lakeshore.csv'), 'code,rate\n96413,150\n');
    writeFileSync(path.join(dir, 'contracts.json'), JSON.stringify(valid));
    const tenant = (payers: string[]): string => {
      const file = path.join(dir, `config-${payers.join('-') || 'none'}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          tenants: [
            {
              id: 'mercy',
              name: 'Mercy',
              contracts: { file: 'contracts.json' },
              payers: payers.map((id) => ({
                id,
                name: id,
                payerId: id.toUpperCase(),
                kind: 'commercial',
                channel: 'fhir',
              })),
            },
          ],
        }),
      );
      return file;
    };
    const config = loadConfig({ DRIPLINE_CONFIG: tenant(['lakeshore']) });
    expect(config.tenants[0]?.contracts).toEqual({
      file: path.join(dir, 'contracts.json'),
      underpaymentTolerance: { amount: 1, percent: 1 },
    });
    expect(() => loadConfig({ DRIPLINE_CONFIG: tenant(['cardinal']) })).toThrow(ConfigError);
    expect(() => loadConfig({ DRIPLINE_CONFIG: tenant(['cardinal']) })).toThrow(/names payer "lakeshore"/);
    writeFileSync(path.join(dir, 'contracts.json'), JSON.stringify({ ...valid, title: '' }));
    expect(() => loadConfig({ DRIPLINE_CONFIG: tenant(['lakeshore']) })).toThrow(/contracts\.file.*title/s);
    expect(() => readContractsFile(path.join(dir, 'missing.json'))).toThrow(ContractsFileError);
  });
});

describeShared(
  ['data', 'cms'],
  'the committed OPPS reference rates are what the import makes of Addendum B',
  (dir) => {
    test('opps-2025Q4.json', () => {
      const committed = readFileSync(path.join(REFERENCE_DIR, 'opps-2025Q4.json'), 'utf8');
      const imported = (JSON.parse(committed) as { imported: string }).imported;
      const name = 'opps-addendum-b-2025Q4.csv';
      const table = buildOppsRates({ name, bytes: readFileSync(path.join(dir, name)) }, imported);
      expect(serializeReferenceRates(table)).toBe(committed);
      // Codes, rates and status indicators only: no CPT descriptor is carried over.
      for (const row of table.rates) {
        expect(row).toEqual([expect.stringMatching(/^\d{5}$/), expect.any(Number), expect.any(String)]);
      }
    });
  },
);
