/**
 * The sandbox payer's pure parts: fee-schedule arithmetic, rounding, tables and body parsing.
 */
import { describe, expect, test } from '@jest/globals';
import { adjudicate } from '../../../src/sandbox/payer/adjudicate.ts';
import { claimFrequency } from '../../../src/sandbox/payer/claim-reading.ts';
import { claimFacts, lineDenials } from '../../../src/sandbox/payer/line-rules.ts';
import { round2 } from '../../../src/sandbox/payer/pricing.ts';
import { priorClaimOf } from '../../../src/sandbox/payer/reversals.ts';
import { buildPayerTables, drugAllowedPerUnit, DRUG_RATES } from '../../../src/sandbox/payer/tables.ts';
import { parseSubmitBody } from '../../../src/sandbox/payer/validate.ts';
import { loadFhirDefinitions } from '../../../src/fhir/definitions.ts';
import { claim } from './helpers.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_FREQUENCY as DRIPLINE_EXT_CLAIM_FREQUENCY,
} from '../../../src/contract/canonical.ts';

const tables = buildPayerTables();
const today = new Date().toISOString().slice(0, 10);

describe('fee schedule', () => {
  test('cited rates are payment limits (already ASP + 6 %); sandbox rates are ASP × 1.06', () => {
    const j1745 = DRUG_RATES.find((r) => r.hcpcs === 'J1745');
    expect(j1745?.basis).toBe('payment-limit');
    expect(drugAllowedPerUnit(j1745!)).toBe(31.479);
    const j9271 = DRUG_RATES.find((r) => r.hcpcs === 'J9271');
    expect(j9271?.source).toMatch(/SANDBOX/);
    expect(round2(drugAllowedPerUnit(j9271!))).toBe(60.42);
    expect(new Set(DRUG_RATES.map((r) => r.hcpcs)).size).toBe(DRUG_RATES.length);
  });

  test('round2 rounds half up on the decimal value', () => {
    expect(round2(1101.765)).toBe(1101.77);
    expect(round2(0.005)).toBe(0.01);
    expect(round2(2.675)).toBe(2.68);
  });

  test('a sandbox-rate drug: 200 mg pembrolizumab = 200 × 57 × 1.06', () => {
    const result = adjudicate({
      claim: claim({ lines: [{ code: 'J9271', units: 200, modifiers: ['JZ'] }], dx: ['C34.90'] }),
      kind: 'medicare',
      tables,
      receivedDate: today,
    });
    expect(result.outcome).toBe('complete');
    expect(result.lines[0]?.eligible).toBe(12084);
    expect(result.lines[0]?.benefit).toBe(9667.2);
    expect(result.totals.memberLiability).toBe(2416.8);
  });

  test('JW/JZ: required on a single-dose drug, except one OPPS packages (status N) on a UB-04 (R10.3)', () => {
    const carcsOf = (institutional: boolean): string[] => {
      const c = claim({ lines: [{ code: 'J1100', units: 8 }], dx: ['C34.90'] });
      if (institutional) {
        c.type = {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }],
        };
      }
      return adjudicate({ claim: c, kind: 'medicare', tables, receivedDate: today }).lines[0]!.denials.map(
        (d) => d.carc,
      );
    };
    expect(tables.packagedUnderOpps.has('J1100')).toBe(true);
    expect(carcsOf(false)).toContain('4');
    expect(carcsOf(true)).not.toContain('4');
  });

  test('a code off the fee schedule is denied CARC 96', () => {
    const result = adjudicate({
      claim: claim({ lines: [{ code: '99213', units: 1 }] }),
      kind: 'medicare',
      tables,
      receivedDate: today,
    });
    expect(result.lines[0]?.denials.map((d) => d.carc)).toEqual(['96']);
  });
});

describe('claim frequency, replacements and voids (pure)', () => {
  test("the payer reads Dripline's claim-frequency extension, else an institutional type of bill", () => {
    expect(EXT_CLAIM_FREQUENCY).toBe(DRIPLINE_EXT_CLAIM_FREQUENCY);
    expect(claimFrequency(claim({ frequency: '7' }))).toBe('7');
    expect(claimFrequency(claim())).toBe('1');
    const institutional = {
      ...claim(),
      subType: { coding: [{ system: 'https://www.nubc.org/CodeSystem/TypeOfBill', code: '0138' }] },
    };
    expect(claimFrequency(institutional)).toBe('8');
    expect(claimFrequency({ ...claim({ frequency: '1' }), subType: institutional.subType })).toBe('1');
  });

  test('state is passed in and returned, never kept: a void reverses the known original it is given', () => {
    const original = claim({ patient: 'Patient/pure' });
    const first = adjudicate({ claim: original, kind: 'medicare', tables, receivedDate: today });
    const known = [priorClaimOf(original, first, { controlNumber: 'ICN-1', claimId: original.id })];
    const frozen = structuredClone(known);
    const voidClaim = claim({ patient: 'Patient/pure', frequency: '8', replaces: { claimNumber: 'ICN-1' } });
    const result = adjudicate({
      claim: voidClaim,
      kind: 'medicare',
      tables,
      receivedDate: today,
      knownClaims: known,
    });
    expect(result.outcome).toBe('complete');
    expect(result.reversal).toEqual({ controlNumber: 'ICN-1', frequency: '8', amount: first.totals.benefit });
    expect(result.totals.payment).toBe(-first.totals.benefit);
    expect(known).toEqual(frozen);
    // Without the known claim, the same void names nothing this payer adjudicated.
    const unknown = adjudicate({ claim: voidClaim, kind: 'medicare', tables, receivedDate: today });
    expect(unknown.claimDenials.map((d) => [d.carc, d.rarc])).toEqual([['129', 'M47']]);
  });
});

describe('parseSubmitBody', () => {
  loadFhirDefinitions();
  test('accepts a Claim, a Bundle with the Claim first, and Parameters holding either', () => {
    const c = claim();
    expect(parseSubmitBody(c).ok).toBe(true);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: c }] };
    expect(parseSubmitBody(bundle).ok).toBe(true);
    expect(
      parseSubmitBody({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: bundle }] }).ok,
    ).toBe(true);
  });

  test('names every problem of an unsubmittable claim', () => {
    const c = claim({ lines: [{ code: '96365', units: 0 }] });
    c.item[0].diagnosisSequence = [9];
    c.use = 'preauthorization';
    const parsed = parseSubmitBody(c);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.outcome.issue?.map((i) => i.expression?.[0])).toEqual([
        'Claim.use',
        'Claim.item[0].quantity',
        'Claim.item[0].diagnosisSequence[0]',
      ]);
    }
  });
});

describe('line rules (pure)', () => {
  test("a line lists every reason that applies, in the rule order, after the whole claim's", () => {
    const c = claim({
      lines: [{ code: 'J1745', units: 500, date: '2024-01-02' }],
      dx: [],
      memberId: null,
    });
    const facts = claimFacts({
      claim: c,
      kind: 'medicaid',
      tables,
      receivedDate: '2026-11-20',
      claimDenials: [{ carc: '31', group: 'CO', text: 'no member' }],
      reversed: undefined,
      knownClaims: [],
      paidLines: new Set(['fp']),
    });
    const reasons = lineDenials(c.item[0], { allowed: 1, fingerprint: 'fp' }, facts).map((d) =>
      d.rarc ? `${d.carc}/${d.rarc}` : d.carc,
    );
    expect(reasons).toEqual(['31', '29', '18', '16/M76', '16/M119', '197', '151']);
    expect(lineDenials(c.item[0], { allowed: undefined, fingerprint: 'other' }, facts)).toContainEqual(
      expect.objectContaining({ carc: '96' }),
    );
  });
});
