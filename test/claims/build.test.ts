/** Claim building: shape per setting, determinism, and validation against the dripline-claim profile. */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { validateResource } from '@medplum/core';
import type { Claim } from '@medplum/fhirtypes';
import { createChargemaster, loadChargemaster } from '../../src/claims/chargemaster.ts';
import { CLAIM_SYSTEMS, buildClaim } from '../../src/claims/build.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { getOwnProfile, loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { DOS, PROVIDER, fixture } from './fixtures.ts';
import { EXT_CHARGE_ITEM, EXT_CLAIM_FREQUENCY, PROFILE_CLAIM } from '../../src/contract/canonical.ts';

beforeAll(() => {
  loadFhirDefinitions();
});

/** Every line's net is its unit price × units (2-decimal USD) and the total is the sum of the nets. */
function expectPriced(claim: Claim): void {
  const cm = loadChargemaster();
  let cents = 0;
  for (const item of claim.item ?? []) {
    const code = item.productOrService.coding?.[0]?.code;
    const units = item.quantity?.value ?? 0;
    expect(item.unitPrice).toEqual({ value: cm.unitPrice(code), currency: 'USD' });
    expect(item.net).toEqual({ value: cm.priceOf(code, units), currency: 'USD' });
    expect(item.net?.value).toBeCloseTo((item.unitPrice?.value ?? 0) * units, 2);
    expect(item.net?.value).toBeGreaterThan(0);
    cents += Math.round((item.net?.value ?? 0) * 100);
  }
  expect(claim.total).toEqual({ value: cents / 100, currency: 'USD' });
}

function validate(claim: Claim): void {
  const profile = getOwnProfile(PROFILE_CLAIM);
  expect(profile).toBeDefined();
  expect(() => validateResource(claim)).not.toThrow();
  expect(() => validateResource(claim, { profile: profile! })).not.toThrow();
}

describe('buildClaim', () => {
  test('office claim: professional, POS 11, provider, insurer, insurance, diagnoses, lines', () => {
    const f = fixture();
    const claim = buildClaim(f.input);
    expect(claim).toMatchObject({
      resourceType: 'Claim',
      id: 'claim-1',
      status: 'active',
      use: 'claim',
      type: { coding: [{ code: 'professional' }] },
      patient: { reference: 'Patient/pat-1' },
      billablePeriod: { start: DOS, end: DOS },
      created: '2025-03-11T08:00:00.000Z',
      insurer: { identifier: { system: CLAIM_SYSTEMS.payerId, value: 'COMM1' } },
      provider: { reference: '#provider' },
    });
    expect(claim.subType).toBeUndefined();
    expect(claim.extension).toEqual([{ url: EXT_CLAIM_FREQUENCY, valueCode: '1' }]);
    const org = claim.contained?.[0] as { identifier?: { system?: string; value?: string }[] };
    expect(org.identifier).toEqual([
      { system: 'http://hl7.org/fhir/sid/us-npi', value: PROVIDER.npi },
      { system: 'urn:oid:2.16.840.1.113883.4.4', value: PROVIDER.taxId },
    ]);
    expect(claim.careTeam?.[0]?.qualification?.coding?.[0]?.code).toBe('261QI0500X');
    expect(claim.insurance).toEqual([
      { sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-1' }, preAuthRef: ['PA-778899'] },
    ]);
    expect(claim.diagnosis?.[0]).toMatchObject({
      sequence: 1,
      diagnosisCodeableConcept: { coding: [{ system: SYSTEMS.icd10cm, code: 'K50.90' }] },
      type: [{ coding: [{ code: 'principal' }] }],
    });
    expect(claim.item?.map((i) => i.productOrService.coding?.[0]?.code)).toEqual(['96365', '96366', 'J1745']);
    for (const item of claim.item ?? []) {
      expect(item.servicedDate).toBe(DOS);
      expect(item.locationCodeableConcept?.coding?.[0]).toEqual({
        system: CLAIM_SYSTEMS.placeOfService,
        code: '11',
      });
      expect(item.diagnosisSequence).toEqual([1]);
      expect(item.encounter).toEqual([{ reference: 'Encounter/enc-1' }]);
      expect(item.revenue).toBeUndefined();
    }
    const drug = claim.item?.[2];
    expect(drug?.quantity).toEqual({ value: 40 });
    expect(drug?.detail?.[0]?.productOrService.coding?.[0]).toEqual({
      system: SYSTEMS.ndc,
      code: '57894003001',
    });
    expect(drug?.detail?.[0]?.quantity?.value).toBe(4);
    expect(drug?.extension?.find((e) => e.url === EXT_CHARGE_ITEM)?.valueReference).toEqual({
      reference: 'ChargeItem/ci-drug',
    });
    expectPriced(claim);
    validate(claim);
  });

  test('hospital outpatient: institutional, type of bill 0131, revenue codes, POS 22', () => {
    const f = fixture();
    f.input.setting = 'hospital-outpatient';
    const claim = buildClaim(f.input);
    expect(claim.type.coding?.[0]?.code).toBe('institutional');
    expect(claim.subType?.coding?.[0]).toEqual({ system: CLAIM_SYSTEMS.typeOfBill, code: '0131' });
    expect(claim.item?.map((i) => i.revenue?.coding?.[0]?.code)).toEqual(['0260', '0260', '0636']);
    expect(claim.item?.[0]?.locationCodeableConcept?.coding?.[0]?.code).toBe('22');
    expectPriced(claim);
    validate(claim);
  });

  test('home: professional with POS 12', () => {
    const f = fixture();
    f.input.setting = 'home';
    const claim = buildClaim(f.input);
    expect(claim.type.coding?.[0]?.code).toBe('professional');
    expect(claim.item?.[0]?.locationCodeableConcept?.coding?.[0]?.code).toBe('12');
    validate(claim);
  });

  test.each([
    ['7', '0137'],
    ['8', '0138'],
  ] as const)('frequency %s: type of bill %s and related prior claim', (frequency, tob) => {
    const f = fixture();
    f.input.setting = 'hospital-outpatient';
    f.input.frequency = frequency;
    f.input.replaces = { claimId: 'claim-0', payerClaimNumber: 'ICN-1' };
    const claim = buildClaim(f.input);
    expect(claim.subType?.coding?.[0]?.code).toBe(tob);
    expect(claim.extension?.[0]?.valueCode).toBe(frequency);
    expect(claim.related?.[0]).toMatchObject({
      claim: { reference: 'Claim/claim-0' },
      reference: { value: 'ICN-1' },
    });
    validate(claim);
  });

  test('secondary coverage: sequence 2, not focal, no preAuthRef', () => {
    const f = fixture();
    f.input.coverages.push({ ...f.input.coverages[0]!, id: 'cov-2', subscriberId: 'S2' });
    const claim = buildClaim(f.input);
    expect(claim.insurance?.[1]).toEqual({
      sequence: 2,
      focal: false,
      coverage: { reference: 'Coverage/cov-2' },
    });
  });

  test('diagnoses: principal by encounter rank, line pointers at most 4, deduplicated', () => {
    const f = fixture();
    const codes = ['D50.0', 'E11.9', 'I10', 'J45.909', 'M05.79'];
    codes.forEach((code, i) =>
      f.input.conditions.push({
        resourceType: 'Condition',
        id: `cond-x${i}`,
        subject: { reference: 'Patient/pat-1' },
        code: { coding: [{ system: SYSTEMS.icd10cm, code }] },
      }),
    );
    f.input.encounters[0]!.diagnosis = [
      { condition: { reference: 'Condition/cond-x2' }, rank: 2 },
      { condition: { reference: 'Condition/cond-1' }, rank: 1 },
    ];
    f.input.chargeItems[2]!.reason = [...codes, 'K50.90'].map((code) => ({
      coding: [{ system: SYSTEMS.icd10cm, code }],
    }));
    const claim = buildClaim(f.input);
    const list = claim.diagnosis?.map((d) => d.diagnosisCodeableConcept?.coding?.[0]?.code);
    expect(list?.slice(0, 2)).toEqual(['K50.90', 'I10']);
    expect(new Set(list).size).toBe(list?.length);
    expect(claim.item?.[2]?.diagnosisSequence).toHaveLength(4);
    validate(claim);
  });

  test('charges: shipped chargemaster by default, a tenant chargemaster when given', () => {
    const shipped = buildClaim(fixture().input);
    const cm = loadChargemaster();
    expect(shipped.item?.map((i) => i.net?.value)).toEqual([
      cm.priceOf('96365', 1),
      cm.priceOf('96366', 1),
      cm.priceOf('J1745', 40),
    ]);
    const f = fixture();
    f.input.chargemaster = createChargemaster({
      ...cm.data,
      default: { price: 10 },
      charges: [
        { code: '96365', label: 'IV infusion', kind: 'administration', per: 'service', price: 412.35 },
        { code: 'J1745', label: 'Infliximab', kind: 'drug', per: '10 mg', price: 31.48 },
      ],
    });
    const claim = buildClaim(f.input);
    expect(claim.item?.map((i) => [i.unitPrice?.value, i.net?.value])).toEqual([
      [412.35, 412.35],
      [10, 10],
      [31.48, 1259.2],
    ]);
    expect(claim.total).toEqual({ value: 1681.55, currency: 'USD' });
    validate(claim);
  });

  test('only billable charges become lines', () => {
    const f = fixture();
    f.input.chargeItems[1]!.status = 'entered-in-error';
    const claim = buildClaim(f.input);
    expect(claim.item).toHaveLength(2);
    expectPriced(claim);
  });

  test('deterministic: same input, same claim, whatever the order of charges and conditions', () => {
    const a = buildClaim(fixture().input);
    const f = fixture();
    f.input.chargeItems.reverse();
    const b = buildClaim(f.input);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(buildClaim(fixture().input))).toBe(JSON.stringify(a));
  });

  test('the profile rejects a claim without lines or insurer', () => {
    const claim = buildClaim(fixture().input);
    const profile = getOwnProfile(PROFILE_CLAIM)!;
    expect(() => validateResource({ ...claim, item: [] }, { profile })).toThrow();
    const { insurer: _insurer, ...noInsurer } = claim;
    expect(() => validateResource(noInsurer as Claim, { profile })).toThrow();
    const noDate = structuredClone(claim);
    noDate.item?.forEach((item) => delete item.servicedDate);
    expect(() => validateResource(noDate as Claim, { profile })).toThrow();
  });
});
