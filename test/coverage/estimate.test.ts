/**
 * The patient estimate (src/coverage/estimate): co-payment once, then the deductible left, then
 * co-insurance, capped by the out-of-pocket maximum left; every figure names its input.
 */
import { describe, expect, test } from '@jest/globals';
import { validateResource } from '@medplum/core';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { patientEstimate, patientShares } from '../../src/coverage/estimate/estimate.ts';
import type { EstimateLine } from '../../src/coverage/estimate/estimate.ts';
import { EXT_ESTIMATE_BASIS } from '../../src/contract/eligibility.ts';

const LINES: EstimateLine[] = [
  { sequence: 1, code: '96413', units: 1, date: '2026-12-07' },
  { sequence: 2, code: 'J9312', units: 10, date: '2026-12-07' },
];
const FEES: Record<string, number> = { '96413': 150, J9312: 900 };
const allowed = (line: EstimateLine) =>
  FEES[line.code] === undefined
    ? undefined
    : { amount: FEES[line.code]!, source: `fee schedule ${line.code}` };

describe('patient share', () => {
  test('deductible left first, then 20% co-insurance on the rest, line by line', () => {
    const shares = patientShares({
      lines: LINES,
      allowed,
      benefits: { category: '30', deductible: { total: 1500, remaining: 400 }, coinsurancePercent: 20 },
    });
    expect(shares.map((s) => [s.deductible, s.coinsurance, s.patient])).toEqual([
      [150, 0, 150],
      [250, 130, 380],
    ]);
  });

  test('a co-payment once per visit; the out-of-pocket maximum left caps the total', () => {
    const shares = patientShares({
      lines: LINES,
      allowed,
      benefits: {
        category: '30',
        copay: 25,
        deductible: { remaining: 0 },
        coinsurancePercent: 20,
        outOfPocket: { remaining: 100 },
      },
    });
    expect(shares.map((s) => s.copay)).toEqual([25, 0]);
    expect(shares.reduce((t, s) => t + s.patient, 0)).toBe(100);
  });
});

describe('as an ExplanationOfBenefit', () => {
  test('use predetermination, totals, and every adjudication naming its input', () => {
    const eob = patientEstimate({
      id: 'est-1',
      patient: 'Patient/p1',
      coverage: 'Coverage/c1',
      insurer: { display: 'Acme' },
      provider: { npi: '1234567893', name: 'Riverside Infusion' },
      subject: 'MedicationRequest/mr-1',
      lines: [...LINES, { sequence: 3, code: 'J9999', units: 1, date: '2026-12-07' }],
      allowed,
      benefits: { category: '30', deductible: { total: 1500, remaining: 400 }, coinsurancePercent: 20 },
      benefitsSource: 'CoverageEligibilityResponse/r1',
      now: new Date('2026-12-04T12:00:00Z'),
    });
    expect(eob.use).toBe('predetermination');
    loadFhirDefinitions();
    expect(() => validateResource(eob)).not.toThrow();
    expect(eob.total?.map((t) => t.amount?.value)).toEqual([1050, 530]);
    for (const item of eob.item ?? []) {
      for (const adjudication of item.adjudication ?? []) {
        expect(adjudication.extension?.find((e) => e.url === EXT_ESTIMATE_BASIS)?.valueString).toBeTruthy();
      }
    }
    expect(eob.item?.[2]?.adjudication?.[0]?.extension?.[0]?.valueString).toMatch(/no allowed amount/);
    expect(eob.item?.[1]?.adjudication?.[2]?.extension?.[0]?.valueString).toContain(
      'CoverageEligibilityResponse/r1',
    );
  });
});
