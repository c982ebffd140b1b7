/** Claim scrubber: a clean claim has no errors; each seeded error is caught with the right rule. */
import { describe, expect, test } from '@jest/globals';
import type { ChargeItem, Claim } from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import { hasBlockingErrors, scrubClaim } from '../../src/claims/scrub.ts';
import { RULE_IDS, loadClaimRules } from '../../src/claims/scrub/rules.ts';
import type { Authorization } from '../../src/coverage/authorizations.ts';
import type { EligibilitySummary } from '../../src/coverage/eligibility/summary.ts';
import type { ClaimContext, ScrubFinding } from '../../src/claims/types.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { contextOf, fixture } from './fixtures.ts';
import type { Fixture } from './fixtures.ts';
import { EXT_CHARGE_MODIFIER, EXT_CLAIM_REPLACED_BY, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';

const tables = loadCodingTables();

function verifiedNcci(t: CodingTables, indicator: '0' | '1'): CodingTables {
  return {
    ...t,
    ncci: {
      ...t.ncci,
      pairs: [{ column1: '96365', column2: '96366', modifierIndicator: indicator, verification: 'V' }],
    },
  };
}

function withClaim(ctx: ClaimContext, edit: (claim: Claim & { id: string }) => void): ClaimContext {
  const claim = structuredClone(ctx.claim);
  edit(claim);
  return { ...ctx, claim };
}

/** An authorization on file under the fixture's number (PA-778899), for the fixture's drug by default. */
function onFile(over: Partial<Authorization> = {}): Authorization {
  return {
    number: 'PA-778899',
    source: 'ClaimResponse/auth-1',
    start: '2025-01-01',
    end: '2025-12-31',
    services: [
      { code: 'J1745', units: 200, start: over.start ?? '2025-01-01', end: over.end ?? '2025-12-31' },
    ],
    ...over,
  };
}

/** An earlier visit's J1745 charge of the same patient (the authorization ledger counts it). */
function earlierCharge(units: number, over: Partial<ChargeItem> = {}): ChargeItem {
  return {
    resourceType: 'ChargeItem',
    id: `ci-earlier-${units}`,
    status: 'billable',
    code: { coding: [{ system: SYSTEMS.hcpcs, code: 'J1745' }] },
    subject: { reference: 'Patient/pat-1' },
    context: { reference: 'Encounter/enc-earlier' },
    occurrenceDateTime: '2025-02-11',
    quantity: { value: units },
    ...over,
  };
}

/** The claim that billed the earlier visit, with its payer and state. */
function earlierClaim(ctx: ClaimContext, state: string, payerId = ctx.payer.payerId): Claim {
  const drug = ctx.claim.item?.find((i) => i.productOrService.coding?.[0]?.code === 'J1745');
  return {
    ...structuredClone(ctx.claim),
    id: 'claim-earlier',
    extension: [{ url: EXT_CLAIM_STATE, valueCode: state }],
    insurer: { identifier: { value: payerId } },
    item: drug
      ? [{ ...drug, servicedDate: '2025-02-11', encounter: [{ reference: 'Encounter/enc-earlier' }] }]
      : [],
  };
}

interface Case {
  readonly name: string;
  readonly ruleId: string;
  readonly severity?: ScrubFinding['severity'];
  readonly overridable?: boolean;
  readonly kind?: 'commercial' | 'medicare' | 'medicaid';
  readonly edit?: (f: Fixture) => void;
  readonly after?: (ctx: ClaimContext) => ClaimContext;
  readonly tables?: CodingTables;
}

const cases: readonly Case[] = [
  {
    name: 'no coverage',
    ruleId: 'coverage-missing',
    overridable: false,
    edit: (f) => void f.input.coverages.splice(0),
  },
  {
    name: 'coverage cancelled',
    ruleId: 'coverage-inactive',
    overridable: false,
    edit: (f) => (f.input.coverages[0]!.status = 'cancelled'),
  },
  {
    name: 'coverage ended before the date of service',
    ruleId: 'coverage-period',
    overridable: false,
    edit: (f) => (f.input.coverages[0]!.period = { start: '2024-01-01', end: '2025-02-28' }),
  },
  {
    name: 'coverage starts after the date of service',
    ruleId: 'coverage-period',
    edit: (f) => (f.input.coverages[0]!.period = { start: '2025-04-01' }),
  },
  {
    name: 'member id missing',
    ruleId: 'member-id-missing',
    overridable: false,
    edit: (f) => delete f.input.coverages[0]!.subscriberId,
  },
  {
    name: 'NCCI pair indicator 1 without modifier (verified entry)',
    ruleId: 'ncci-ptp',
    overridable: true,
    tables: verifiedNcci(tables, '1'),
  },
  {
    name: 'NCCI pair indicator 0 (verified entry)',
    ruleId: 'ncci-ptp',
    overridable: false,
    tables: verifiedNcci(tables, '0'),
    edit: (f) =>
      f.input.chargeItems[1]!.extension!.push({
        url: EXT_CHARGE_MODIFIER,
        valueCoding: { code: '59' },
      }),
  },
  {
    name: 'MUE exceeded (J1745, verified 150)',
    ruleId: 'mue',
    edit: (f) => (f.input.chargeItems[2]!.quantity = { value: 160 }),
  },
  {
    name: 'administration not on file',
    ruleId: 'doc-administration-missing',
    edit: (f) => void f.administrations.splice(0),
  },
  {
    name: 'administration not completed',
    ruleId: 'doc-status',
    edit: (f) => (f.administrations[0]!.status = 'in-progress'),
  },
  {
    name: 'no start time',
    ruleId: 'doc-start-time',
    edit: (f) => {
      delete f.administrations[0]!.effectivePeriod;
      f.administrations[0]!.effectivePeriod = { end: '2025-03-10T11:00:00-05:00' };
    },
  },
  {
    name: 'no stop time on a timed infusion',
    ruleId: 'doc-stop-time',
    edit: (f) => (f.administrations[0]!.effectivePeriod = { start: '2025-03-10T09:10:00-05:00' }),
  },
  { name: 'no dose', ruleId: 'doc-dose', edit: (f) => delete f.administrations[0]!.dosage!.dose },
  {
    name: 'a drug line held by coding (ChargeItem planned) keeps the claim',
    ruleId: 'charge-held',
    overridable: false,
    edit: (f) =>
      f.input.chargeItems.push({
        ...structuredClone(f.input.chargeItems[f.input.chargeItems.length - 1]!),
        id: 'ci-held',
        status: 'planned',
        quantity: { value: 0 },
      }),
  },
  { name: 'no order', ruleId: 'doc-order', edit: (f) => delete f.administrations[0]!.request },
  { name: 'no performer', ruleId: 'doc-signature', edit: (f) => delete f.administrations[0]!.performer },
  {
    name: 'diagnosis does not support the drug',
    ruleId: 'med-necessity',
    overridable: true,
    edit: (f) => {
      f.input.conditions[0]!.code = { coding: [{ system: SYSTEMS.icd10cm, code: 'I10' }] };
      f.input.chargeItems.forEach(
        (c) => (c.reason = [{ coding: [{ system: SYSTEMS.icd10cm, code: 'I10' }] }]),
      );
    },
  },
  {
    name: 'claim not valid FHIR for its profile (a line sequence of 0)',
    ruleId: 'claim-invalid',
    overridable: false,
    after: (ctx) =>
      withClaim(ctx, (c) => {
        c.item![0]!.sequence = 0;
      }),
  },
  { name: 'prior auth missing', ruleId: 'prior-auth', edit: (f) => void f.input.preAuthRefs.splice(0) },
  {
    name: 'authorization on file is for another drug',
    ruleId: 'prior-auth-service',
    after: (ctx) => ({ ...ctx, authorizations: [onFile({ services: [{ code: 'J0135', units: 10 }] })] }),
  },
  {
    name: 'date of service after the authorization ended',
    ruleId: 'prior-auth-dates',
    after: (ctx) => ({ ...ctx, authorizations: [onFile({ end: '2025-02-28' })] }),
  },
  {
    name: 'units beyond the authorized units (this claim and an earlier visit)',
    ruleId: 'prior-auth-units',
    after: (ctx) => ({
      ...ctx,
      authorizations: [onFile({ services: [{ code: 'J1745', units: 60 }] })],
      patientCharges: [earlierCharge(40)],
    }),
  },
  {
    name: 'timely filing passed',
    ruleId: 'timely-filing',
    overridable: false,
    edit: (f) => (f.today = '2025-07-01'),
  },
  {
    name: 'timely filing near',
    ruleId: 'timely-filing-near',
    severity: 'warning',
    edit: (f) => (f.today = '2025-05-20'),
  },
  {
    name: 'spouse is the subscriber, and the coverage names no one',
    ruleId: 'subscriber-missing',
    overridable: false,
    edit: (f) =>
      (f.input.coverages[0]!.relationship = {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'spouse' }],
      }),
  },
  {
    name: 'patient without a birth date',
    ruleId: 'patient-data-missing',
    overridable: false,
    edit: (f) => delete f.input.patient.birthDate,
  },
  {
    name: 'institutional claim without an attending provider',
    ruleId: 'attending-missing',
    overridable: false,
    edit: (f) => (f.input.setting = 'hospital-outpatient'),
  },
  {
    name: 'NDC required (commercial) and missing',
    ruleId: 'payer-ndc-required',
    edit: (f) => delete f.input.chargeItems[2]!.productCodeableConcept,
  },
  {
    name: 'refused code',
    ruleId: 'payer-refused-code',
    tables: {
      ...tables,
      payers: { ...tables.payers, commercial: { ...tables.payers.commercial, refusedCodes: ['96366'] } },
    },
  },
  {
    name: 'Medicare single-dose drug without JW/JZ',
    ruleId: 'payer-jw-jz',
    kind: 'medicare',
    edit: (f) =>
      (f.input.chargeItems[2]!.extension = f.input.chargeItems[2]!.extension!.filter(
        (e) => e.valueCoding?.code !== 'JZ',
      )),
  },
  {
    name: 'duplicate of another active claim',
    ruleId: 'duplicate-claim',
    after: (ctx) => ({ ...ctx, otherClaims: [{ ...structuredClone(ctx.claim), id: 'claim-0' }] }),
  },
  {
    name: 'wrong place of service',
    ruleId: 'place-of-service',
    after: (ctx) =>
      withClaim(
        ctx,
        (c) =>
          (c.item![0]!.locationCodeableConcept = {
            coding: [
              {
                system:
                  'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
                code: '12',
              },
            ],
          }),
      ),
  },
  {
    name: 'line without diagnosis pointer',
    ruleId: 'diagnosis-missing',
    after: (ctx) => withClaim(ctx, (c) => delete c.item![1]!.diagnosisSequence),
  },
  {
    name: 'zero units',
    ruleId: 'units-invalid',
    edit: (f) => (f.input.chargeItems[1]!.quantity = { value: 0 }),
  },
];

function run(c: Pick<Case, 'kind' | 'edit' | 'after' | 'tables'>): ScrubFinding[] {
  const f = fixture(c.kind);
  c.edit?.(f);
  let ctx = contextOf(f);
  if (c.after) {
    ctx = c.after(ctx);
  }
  return scrubClaim(ctx, c.tables ?? tables);
}

describe('scrubClaim', () => {
  test.each(['commercial', 'medicare', 'medicaid'] as const)('a clean %s claim has no errors', (kind) => {
    const findings = run({ kind });
    expect(findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(hasBlockingErrors(findings)).toBe(false);
  });

  test('clean claim: the only findings are UNVERIFIED table warnings', () => {
    for (const x of run({})) {
      expect(x.severity).toBe('warning');
      expect(x.message).toMatch(/UNVERIFIED/);
    }
  });

  test.each(cases)('seeded: $name → $ruleId', (c) => {
    const findings = run(c);
    const hit = findings.filter((x) => x.ruleId === c.ruleId);
    expect(hit.length).toBeGreaterThan(0);
    const first = hit[0]!;
    expect(first.severity).toBe(c.severity ?? 'error');
    if (c.overridable !== undefined) {
      expect(first.overridable).toBe(c.overridable);
    }
    expect(first.source.length).toBeGreaterThan(0);
    expect(first.fix.length).toBeGreaterThan(0);
    expect(first.message.length).toBeGreaterThan(0);
  });

  test('every rule id has a seeded case and a rule entry', () => {
    const rules = loadClaimRules();
    for (const id of RULE_IDS) {
      expect(rules.rules[id]).toBeDefined();
      if (id !== 'doc-site') {
        expect(cases.some((c) => c.ruleId === id)).toBe(true);
      }
    }
  });

  test('missing site is a warning on the administration lines', () => {
    const findings = run({ edit: (f) => delete f.administrations[0]!.dosage!.site });
    const site = findings.filter((x) => x.ruleId === 'doc-site');
    expect(site.map((x) => x.itemSequence)).toEqual([1, 2]);
    expect(site.every((x) => x.severity === 'warning')).toBe(true);
  });

  test('UNVERIFIED NCCI / MUE entries warn, never error', () => {
    // 96365's MUE is a CMS (V) value now: mark it UNVERIFIED here to test the downgrade.
    const unverifiedMue: CodingTables = {
      ...tables,
      mue: {
        ...tables.mue,
        entries: tables.mue.entries.map((e) =>
          e.code === '96365' ? { ...e, verification: 'UNVERIFIED' } : e,
        ),
      },
    };
    const findings = run({
      tables: unverifiedMue,
      edit: (f) => {
        f.input.chargeItems[0]!.quantity = { value: 2 };
        f.input.chargeItems.push({
          ...structuredClone(f.input.chargeItems[0]!),
          id: 'ci-iv',
          code: { coding: [{ system: SYSTEMS.cpt, code: '36000' }] },
          quantity: { value: 1 },
        });
      },
    });
    const ncci = findings.find((x) => x.ruleId === 'ncci-ptp');
    const mue = findings.find((x) => x.ruleId === 'mue');
    expect(ncci).toMatchObject({ severity: 'warning', overridable: true });
    expect(mue).toMatchObject({ severity: 'warning', itemSequence: 2 });
    expect(mue?.message).toMatch(/^96365: 2 units/);
  });

  test('a CMS (V) MUE value exceeded is an error a person may override (MAI 3)', () => {
    const findings = run({ edit: (f) => (f.input.chargeItems[0]!.quantity = { value: 2 }) });
    expect(findings.find((x) => x.ruleId === 'mue')).toMatchObject({
      severity: 'error',
      overridable: true,
      itemSequence: 1,
    });
  });

  test('NCCI indicator 1 is bypassed by a distinct-service modifier on the column 2 line', () => {
    const findings = run({
      tables: verifiedNcci(tables, '1'),
      edit: (f) =>
        f.input.chargeItems[1]!.extension!.push({
          url: EXT_CHARGE_MODIFIER,
          valueCoding: { code: 'XU' },
        }),
    });
    expect(findings.filter((x) => x.ruleId === 'ncci-ptp')).toEqual([]);
  });

  test('a replacement claim is not a duplicate of the claim it replaces; voided and other patients are ignored', () => {
    const f = fixture();
    f.input.frequency = '7';
    f.input.replaces = { claimId: 'claim-0' };
    const ctx = contextOf(f);
    const original = { ...structuredClone(ctx.claim), id: 'claim-0' };
    const cancelled = { ...structuredClone(ctx.claim), id: 'claim-x', status: 'cancelled' as const };
    const otherPatient = {
      ...structuredClone(ctx.claim),
      id: 'claim-y',
      patient: { reference: 'Patient/pat-2' },
    };
    const findings = scrubClaim({ ...ctx, otherClaims: [original, cancelled, otherPatient] }, tables);
    expect(findings.filter((x) => x.ruleId === 'duplicate-claim')).toEqual([]);
  });

  test('a new original after a void is not a duplicate of the voided claim; a standing claim is', () => {
    const ctx = contextOf(fixture());
    const standing = { ...structuredClone(ctx.claim), id: 'claim-0', status: 'active' as const };
    const voided = {
      ...standing,
      extension: [
        ...(standing.extension ?? []),
        { url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: 'Claim/claim-void' } },
      ],
    };
    const duplicates = (other: Claim): number =>
      scrubClaim({ ...ctx, otherClaims: [other] }, tables).filter((x) => x.ruleId === 'duplicate-claim')
        .length;
    expect(duplicates(standing)).toBeGreaterThan(0);
    expect(duplicates(voided)).toBe(0);
  });

  test('Medicare needs no prior auth or NDC by default; JW/JZ not required before 2023-07-01', () => {
    const f = fixture('medicare');
    f.input.preAuthRefs.splice(0);
    delete f.input.chargeItems[2]!.productCodeableConcept;
    f.input.chargeItems[2]!.extension = f.input.chargeItems[2]!.extension!.filter(
      (e) => e.valueCoding?.code !== 'JZ',
    );
    f.input.chargeItems.forEach((c) => (c.occurrenceDateTime = '2023-06-30'));
    f.today = '2023-07-05';
    f.input.coverages[0]!.period = { start: '2020-01-01' };
    const ids = scrubClaim(contextOf(f), tables).map((x) => x.ruleId);
    expect(ids).not.toContain('prior-auth');
    expect(ids).not.toContain('payer-ndc-required');
    expect(ids).not.toContain('payer-jw-jz');
  });

  test('Medicare: the administered line without a modifier beside its JW line passes; JZ beside it does not', () => {
    // CMS: administered amount on one line, the discarded amount on its own JW line (R10.1).
    const split = (administered: string[]) => (f: Fixture) => {
      const drug = f.input.chargeItems[2]!;
      const withModifiers = (c: typeof drug, modifiers: string[]) => ({
        ...structuredClone(c),
        extension: [
          ...c.extension!.filter((e) => e.url !== EXT_CHARGE_MODIFIER),
          ...modifiers.map((m) => ({
            url: EXT_CHARGE_MODIFIER,
            valueCoding: { system: SYSTEMS.hcpcs, code: m },
          })),
        ],
      });
      f.input.chargeItems[2] = { ...withModifiers(drug, administered), quantity: { value: 35 } };
      f.input.chargeItems.push({
        ...withModifiers(drug, ['JW']),
        id: 'ci-drug-waste',
        quantity: { value: 5 },
      });
    };
    const jwJz = (edit: (f: Fixture) => void) =>
      run({ kind: 'medicare', edit }).filter((x) => x.ruleId === 'payer-jw-jz');
    expect(jwJz(split([]))).toEqual([]);
    const contradicting = jwJz(split(['JZ']));
    expect(contradicting).toHaveLength(1);
    expect(contradicting[0]?.message).toMatch(/JZ/);
  });

  test('a subscriber who is not the patient: held naming what is missing until the RelatedPerson is on file', () => {
    const spouse = (f: Fixture): void => {
      f.input.coverages[0]!.relationship = {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'spouse' }],
      };
      f.input.coverages[0]!.subscriber = { reference: 'RelatedPerson/rp-1' };
    };
    const subscriberFindings = (ctx: ClaimContext) =>
      scrubClaim(ctx, tables).filter((x) => x.ruleId === 'subscriber-missing');
    const f = fixture();
    spouse(f);
    const notOnFile = subscriberFindings(contextOf(f));
    expect(notOnFile).toHaveLength(1);
    expect(notOnFile[0]?.message).toMatch(/RelatedPerson\/rp-1 is not on file/);
    const nameless = subscriberFindings({
      ...contextOf(f),
      subscriber: { resourceType: 'RelatedPerson', id: 'rp-1', patient: { reference: 'Patient/pat-1' } },
    });
    expect(nameless[0]?.message).toMatch(/no family name/);
    const onFile = subscriberFindings({
      ...contextOf(f),
      subscriber: {
        resourceType: 'RelatedPerson',
        id: 'rp-1',
        patient: { reference: 'Patient/pat-1' },
        name: [{ family: 'Doe', given: ['John'] }],
      },
    });
    expect(onFile).toEqual([]);
  });

  test('hospital outpatient: a drug OPPS packages (status N) needs no JW/JZ (R10.3); a separately payable one does', () => {
    const ids = (code: string) => {
      const f = fixture('medicare');
      f.input.setting = 'hospital-outpatient';
      const drug = f.input.chargeItems[2]!;
      drug.code = { coding: [{ system: SYSTEMS.hcpcs, code }] };
      drug.extension = drug.extension!.filter((e) => e.valueCoding?.code !== 'JZ');
      return scrubClaim(contextOf(f), tables).map((x) => x.ruleId);
    };
    // Dexamethasone J1100 (single-dose in the catalog) is N in OPPS Addendum B; infliximab J1745 is K.
    expect(ids('J1100')).not.toContain('payer-jw-jz');
    expect(ids('J1745')).toContain('payer-jw-jz');
  });

  test('med-necessity: a line pointing at the wrong diagnosis when a supporting one is on the claim', () => {
    const findings = run({
      edit: (f) => {
        f.input.conditions.push({
          resourceType: 'Condition',
          id: 'cond-2',
          subject: { reference: 'Patient/pat-1' },
          code: { coding: [{ system: SYSTEMS.icd10cm, code: 'I10' }] },
        });
        f.input.chargeItems[2]!.reason = [{ coding: [{ system: SYSTEMS.icd10cm, code: 'I10' }] }];
      },
    });
    const hit = findings.find((x) => x.ruleId === 'med-necessity');
    expect(hit?.message).toMatch(/K50\.90/);
    expect(hit?.itemSequence).toBe(3);
  });

  test('deterministic and pure: same context, same findings; the context is not changed', () => {
    const ctx = contextOf(fixture());
    const before = JSON.stringify(ctx);
    const a = scrubClaim({ ...ctx, today: '2025-07-01' }, tables);
    const b = scrubClaim({ ...ctx, today: '2025-07-01' }, tables);
    expect(b).toEqual(a);
    expect(JSON.stringify(ctx)).toBe(before);
  });

  test('authorizations on file: covered services, dates and units pass; units are counted by the authorization ledger', () => {
    const base = contextOf(fixture('commercial'));
    const findings = (ctx: ClaimContext): ScrubFinding[] =>
      scrubClaim(ctx, tables).filter((x) => x.ruleId.startsWith('prior-auth'));
    const ids = (ctx: ClaimContext): string[] => findings(ctx).map((x) => x.ruleId);
    // Covered: J1745 40 units of 200, in the dates.
    expect(ids({ ...base, authorizations: [onFile()] })).toEqual([]);
    // A number on the claim that is not on file cannot be checked here: no finding.
    expect(ids({ ...base, authorizations: [onFile({ number: 'PA-OTHER' })] })).toEqual([]);
    // An authorization that lists no services covers any service in its dates.
    expect(ids({ ...base, authorizations: [onFile({ services: [] })] })).toEqual([]);
    // Another payer's authorization under the same number is not this claim's.
    expect(
      ids({ ...base, authorizations: [onFile({ payerId: 'ELSEWHERE', services: [{ code: 'J0135' }] })] }),
    ).toEqual([]);
    // Exactly at the limit passes; one unit more is held, naming the authorization and the units.
    const at = {
      ...base,
      authorizations: [onFile({ payerId: base.payer.payerId, services: [{ code: 'J1745', units: 80 }] })],
    };
    expect(ids({ ...at, patientCharges: [earlierCharge(40)] })).toEqual([]);
    const [beyond, ...more] = findings({ ...at, patientCharges: [earlierCharge(41)] });
    expect(more).toEqual([]);
    expect(beyond).toMatchObject({ ruleId: 'prior-auth-units', severity: 'error', itemSequence: 3 });
    expect(beyond?.message).toBe(
      'Line 3 (J1745 on 2025-03-10) uses 40 unit(s) after 41 used before under authorization PA-778899, which allows 80 from 2025-01-01 to 2025-12-31: 1 beyond authorization PA-778899.',
    );
    expect(beyond?.source).toContain('ClaimResponse/auth-1');
    // Whether its claim was sent, held or rejected (it will be billed again), an earlier visit's
    // charge counts; a void one, one outside the authorized dates, or another payer's does not.
    for (const state of ['adjudicated', 'held', 'rejected']) {
      expect(
        ids({ ...at, patientCharges: [earlierCharge(41)], otherClaims: [earlierClaim(base, state)] }),
      ).toEqual(['prior-auth-units']);
    }
    for (const other of [
      { ...at, patientCharges: [earlierCharge(41, { status: 'entered-in-error' })] },
      { ...at, patientCharges: [earlierCharge(41, { occurrenceDateTime: '2024-12-31' })] },
      {
        ...at,
        patientCharges: [earlierCharge(41)],
        otherClaims: [earlierClaim(base, 'adjudicated', 'ELSEWHERE')],
      },
    ]) {
      expect(ids(other)).toEqual([]);
    }
    // A later visit does not make this one beyond: the ledger counts in date order.
    expect(
      ids({
        ...at,
        patientCharges: [
          earlierCharge(41, {
            occurrenceDateTime: '2025-04-01',
            context: { reference: 'Encounter/enc-later' },
          }),
        ],
      }),
    ).toEqual([]);
  });

  test('institutional claims are scrubbed too', () => {
    const f = fixture();
    f.input.setting = 'hospital-outpatient';
    f.input.attending = {
      resourceType: 'Practitioner',
      id: 'dr-1',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1922334457' }],
      name: [{ family: 'Lindqvist' }],
    };
    const claim = buildClaim(f.input);
    const findings = scrubClaim({ ...contextOf(f), claim }, tables);
    expect(findings.filter((x) => x.severity === 'error')).toEqual([]);
  });
});

describe('what the payer said about the coverage (eligibility answers, src/coverage/eligibility)', () => {
  const answer = (over: Partial<EligibilitySummary>): ReadonlyMap<string, EligibilitySummary> =>
    new Map([
      [
        'Coverage/cov-1',
        {
          response: 'CoverageEligibilityResponse/elig-1-r',
          outcome: 'complete',
          coverage: 'Coverage/cov-1',
          errors: [],
          otherPayers: [],
          benefits: [],
          authorizationRequiredFor: [],
          ...over,
        },
      ],
    ]);

  test('coverage the payer ended before the date of service: eligibility-inactive, an error no one may override', () => {
    const ctx = contextOf(fixture());
    const findings = scrubClaim(
      { ...ctx, eligibility: answer({ inforce: false, planStart: '2024-01-01', planEnd: '2025-02-28' }) },
      tables,
    );
    const found = findings.filter((x) => x.ruleId === 'eligibility-inactive');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'error', overridable: false });
    expect(found[0]?.message).toContain('2025-03-10');
    expect(found[0]?.source).toContain('CoverageEligibilityResponse/elig-1-r');
    expect(hasBlockingErrors(findings)).toBe(true);
  });

  test('another payer answered or is named: eligibility-payer-differs (overridable); an active answer says nothing', () => {
    const ctx = contextOf(fixture());
    const differs = scrubClaim(
      {
        ...ctx,
        eligibility: answer({ inforce: true, otherPayers: [{ name: 'Other Plan', payerId: '99999' }] }),
      },
      tables,
    ).filter((x) => x.ruleId.startsWith('eligibility-'));
    expect(differs.map((x) => [x.ruleId, x.overridable])).toEqual([['eligibility-payer-differs', true]]);
    const clean = scrubClaim({ ...ctx, eligibility: answer({ inforce: true }) }, tables);
    expect(clean.filter((x) => x.ruleId.startsWith('eligibility-'))).toEqual([]);
  });
});
