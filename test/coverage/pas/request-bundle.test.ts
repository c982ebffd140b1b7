/**
 * The PAS Request Bundle Dripline builds: it validates against the PAS 2.2.1 profiles (profiles/pas/),
 * matches the structure of the IG's own request examples (../shared/conformance/pas/ig-2.2.1), and
 * the validator refuses what the IG forbids.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { getAllDataTypes, validateResource } from '@medplum/core';
import type { Bundle, Claim, OperationOutcome, Resource, StructureDefinition } from '@medplum/fhirtypes';
import {
  pasProfiles,
  validateAgainst,
  validatePasRequestBundle,
} from '../../../src/coverage/pas/profiles.ts';
import { buildPasRequest, buildPasUpdate } from '../../../src/coverage/pas/request-bundle.ts';
import { PAS_EXT, PAS_PROFILE } from '../../../src/contract/pas.ts';
import { describeShared } from '../../support/shared.ts';
import { requestInput, services } from './fixtures.ts';

const texts = (outcome: OperationOutcome | undefined): string[] =>
  (outcome?.issue ?? []).map((i) => `${i.details?.text ?? ''} @ ${i.expression?.[0] ?? ''}`);

test('a PAS profile is parsed on the first validation against it, not when the profiles are read', () => {
  const compiled = (url: string): boolean =>
    Object.hasOwn(getAllDataTypes(), `DriplineCompiledProfile:${pasProfiles().get(url)?.id ?? ''}`);
  const urls = [PAS_PROFILE.claim, PAS_PROFILE.claimInquiry];
  expect(urls.filter((url) => pasProfiles().has(url))).toEqual(urls);
  expect(urls.filter(compiled)).toEqual([]);
  const claim = buildPasRequest(requestInput()).entry?.[0]?.resource as Claim;
  expect(validateAgainst(claim, PAS_PROFILE.claim)).toEqual([]);
  expect(urls.filter(compiled)).toEqual([PAS_PROFILE.claim]);
});

describe('buildPasRequest', () => {
  const bundle = buildPasRequest(requestInput());
  const claim = bundle.entry?.[0]?.resource as Claim;

  test('validates against the PAS request profiles, every entry against the profile of its role', () => {
    expect(texts(validatePasRequestBundle(bundle))).toEqual([]);
  });

  test('is a preauthorization Claim first, then every resource it references, each once', () => {
    expect(bundle.type).toBe('collection');
    expect(bundle.identifier?.value).toBe('pas-abc-1');
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Claim',
      'Organization',
      'Organization',
      'Coverage',
      'Patient',
      'PractitionerRole',
      'Practitioner',
      'MedicationRequest',
    ]);
    expect(claim.use).toBe('preauthorization');
    expect(claim.identifier).toEqual([{ system: 'urn:trnorg:1234567893', value: 'PA0000001' }]);
    // Stored resources keep their REST URL on Dripline's base; composed ones get stable urns.
    expect(bundle.entry?.[0]?.fullUrl).toBe('http://dripline.test/fhir/Claim/pas-abc-1');
    expect(bundle.entry?.[4]?.fullUrl).toBe('http://dripline.test/fhir/Patient/pat-1');
    expect(bundle.entry?.[1]?.fullUrl).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(buildPasRequest(requestInput({ claimId: 'other' })).entry?.[1]?.fullUrl).toBe(
      bundle.entry?.[1]?.fullUrl,
    );
  });

  test('the drug item: HCPCS, billing units with unit text, the course dates, place of service, the order', () => {
    const item = claim.item?.[0];
    expect(item?.productOrService.coding?.[0]).toEqual({
      system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
      code: 'J1745',
    });
    expect(item?.quantity).toEqual({ value: 120, unit: 'units' });
    expect(item?.servicedPeriod).toEqual({ start: '2026-12-07', end: '2027-06-06' });
    expect(item?.locationCodeableConcept?.coding?.[0]?.code).toBe('11');
    expect(item?.extension?.find((e) => e.url === PAS_EXT.requestedService)?.valueReference).toEqual({
      reference: 'MedicationRequest/mr-1',
    });
    expect(
      item?.extension?.find((e) => e.url === PAS_EXT.certificationType)?.valueCodeableConcept?.coding?.[0]
        ?.code,
    ).toBe('I');
    expect(item?.diagnosisSequence).toEqual([1, 2]);
  });

  test('the member id and the self relationship on the Coverage; no element PAS does not mark must-support', () => {
    const coverage = bundle.entry?.[3]?.resource as Resource & Record<string, unknown>;
    expect(coverage['identifier']).toEqual([
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MB' }] },
        value: 'W123456789',
      },
    ]);
    expect(coverage['period']).toBeUndefined();
    const patient = bundle.entry?.[4]?.resource as Resource & Record<string, unknown>;
    expect(patient['telecom']).toBeUndefined();
    expect(patient['meta']).toEqual({ profile: [PAS_PROFILE.beneficiary] });
  });
});

describe('validatePasRequestBundle refuses what PAS forbids', () => {
  const fresh = (): Bundle => structuredClone(buildPasRequest(requestInput()));
  const claimOf = (b: Bundle): Claim => b.entry?.[0]?.resource as Claim;

  test('an item without its certification type (X12 UM02)', () => {
    const b = fresh();
    claimOf(b).item![0]!.extension = claimOf(b).item![0]!.extension!.filter(
      (e) => e.url !== PAS_EXT.certificationType,
    );
    expect(texts(validatePasRequestBundle(b)).join('\n')).toMatch(
      /certificationType.*Bundle\.entry\[0\]\.resource\.Claim\.item\[0\]/,
    );
  });

  test('the Claim not first (ClaimFirst)', () => {
    const b = fresh();
    b.entry = [...b.entry!.slice(1), b.entry![0]!];
    expect(texts(validatePasRequestBundle(b)).join('\n')).toMatch(/first entry/);
  });

  test('a referenced resource left out (spec-13)', () => {
    const b = fresh();
    b.entry = b.entry!.filter((e) => e.resource?.resourceType !== 'Practitioner');
    expect(texts(validatePasRequestBundle(b))).toEqual([
      'http://dripline.test/fhir/Practitioner/prac-1 is referenced but not in the Bundle (spec-13) @ Bundle.entry[5].resource',
      'Practitioner/prac-1 is referenced but not in the Bundle (spec-13) @ Bundle.entry[6].resource',
    ]);
  });

  test('a quantity without unit (prof-2), a partial date (FullDateRule), use claim, a patient without gender', () => {
    const b = fresh();
    const item = claimOf(b).item![0]!;
    item.quantity = { value: 3 };
    item.servicedPeriod = { start: '2026-12', end: '2027-06-06' };
    claimOf(b).use = 'claim';
    delete (b.entry![4]!.resource as { gender?: string }).gender;
    const found = texts(validatePasRequestBundle(b)).join('\n');
    expect(found).toMatch(/prof-2/);
    expect(found).toMatch(/FullDateRule/);
    expect(found).toMatch(/Claim\.use/);
    expect(found).toMatch(/gender/);
  });

  test('an entry that is not valid R4 is reported at its path (the Bundle profile checks its entries against their base types)', () => {
    const b = fresh();
    const org = b.entry![1]!.resource as Resource & Record<string, unknown>;
    org['active'] = 'yes';
    org['bogus'] = 1;
    expect(texts(validatePasRequestBundle(b))).toEqual([
      'Invalid JSON type: expected boolean, but got string @ Bundle.entry[1].resource.active',
      'Invalid additional property "bogus" @ Bundle.entry[1].resource.bogus',
    ]);
  });

  test('a fullUrl that names another resource, a Bundle of the wrong type', () => {
    const b = fresh();
    b.entry![4]!.fullUrl = 'http://dripline.test/fhir/Patient/someone-else';
    expect(texts(validatePasRequestBundle(b))).toEqual([
      'Patient/pat-1 is referenced but not in the Bundle (spec-13) @ Bundle.entry[0].resource',
      'Patient/pat-1 is referenced but not in the Bundle (spec-13) @ Bundle.entry[3].resource',
      'fullUrl http://dripline.test/fhir/Patient/someone-else does not name the entry’s Patient/pat-1 @ Bundle.entry[4].fullUrl',
      'Patient/pat-1 is referenced but not in the Bundle (spec-13) @ Bundle.entry[7].resource',
    ]);
    const batch = fresh();
    batch.type = 'batch';
    expect(texts(validatePasRequestBundle(batch)).join('\n')).toMatch(/bdl-3/);
  });
});

describe('compiled profiles report what @medplum/core reports with the profile passed in', () => {
  test.each([
    PAS_PROFILE.claim,
    PAS_PROFILE.coverage,
    PAS_PROFILE.beneficiary,
    PAS_PROFILE.medicationRequest,
  ])('%s', (url) => {
    const b = buildPasRequest(requestInput());
    const resource = b.entry!.find((e) => e.resource?.meta?.profile?.includes(url))!.resource! as Resource &
      Record<string, unknown>;
    const broken = {
      ...structuredClone(resource),
      status: 'draft',
      gender: undefined,
      identifier: [{ value: 'x' }],
    } as unknown as Resource;
    const profile = pasProfiles().get(url) as StructureDefinition;
    let expected: string[] = [];
    try {
      validateResource(broken, { profile });
    } catch (err) {
      // Only errors make a resource nonconformant; @medplum/core's warnings (it cannot resolve
      // urn:uuid references to check their type) are left out by validateAgainst on purpose.
      expected = ((err as { outcome: OperationOutcome }).outcome.issue ?? [])
        .filter((i) => i.severity === 'error' || i.severity === 'fatal')
        .map((i) => i.details?.text ?? '');
    }
    expect(validateAgainst(broken, url).map((i) => i.details?.text ?? '')).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });
});

describe('buildPasUpdate', () => {
  const initial = buildPasRequest(requestInput());
  const prior = initial.entry![0]!.resource as Claim & { id: string };
  const more = [
    { ...services[0]!, units: 160 },
    {
      sequence: 2,
      code: 'J2930',
      codeSystem: 'hcpcs' as const,
      units: 3,
      start: '2026-12-07',
      end: '2027-06-06',
      placeOfService: '11',
      serviceType: '1',
    },
  ];

  test('more units and a new item: the prior Claim included and related as prior, changes flagged', () => {
    const update = buildPasUpdate({
      ...requestInput({ claimId: 'pas-abc-2', trace: 'PA0000002', services: more }),
      prior,
      cancel: [],
    });
    expect(texts(validatePasRequestBundle(update))).toEqual([]);
    const claim = update.entry![0]!.resource as Claim;
    expect(claim.meta?.profile).toEqual([PAS_PROFILE.claimUpdate]);
    expect(claim.related).toEqual([
      {
        claim: { reference: 'Claim/pas-abc-1' },
        relationship: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship', code: 'prior' },
          ],
        },
      },
    ]);
    expect(update.entry!.at(-1)!.resource).toEqual(prior);
    const changed = (n: number): string | undefined =>
      claim.item!.find((i) => i.sequence === n)!.extension!.find((e) => e.url === PAS_EXT.infoChanged)
        ?.valueCode;
    expect(changed(1)).toBe('changed');
    expect(changed(2)).toBe('added');
  });

  test('cancel all: every item cancelled with certification type 3, and the Claim-level certification type 3', () => {
    const update = buildPasUpdate({
      ...requestInput({ claimId: 'pas-abc-2', trace: 'PA0000002' }),
      prior,
      cancel: 'all',
    });
    expect(texts(validatePasRequestBundle(update))).toEqual([]);
    const claim = update.entry![0]!.resource as Claim;
    expect(
      claim.extension?.find((e) => e.url === PAS_EXT.certificationType)?.valueCodeableConcept?.coding?.[0]
        ?.code,
    ).toBe('3');
    const item = claim.item![0]!;
    expect(item.modifierExtension).toEqual([{ url: PAS_EXT.infoCancelled, valueBoolean: true }]);
    expect(
      item.extension?.find((e) => e.url === PAS_EXT.certificationType)?.valueCodeableConcept?.coding?.[0]
        ?.code,
    ).toBe('3');
    expect(item.extension?.find((e) => e.url === PAS_EXT.infoChanged)?.valueCode).toBe('changed');
  });

  test('a cancelled item without certification type 3 is refused (spec-70)', () => {
    const update = buildPasUpdate({
      ...requestInput({ claimId: 'pas-abc-2', trace: 'PA0000002' }),
      prior,
      cancel: 'all',
    });
    const item = (update.entry![0]!.resource as Claim).item![0]!;
    item.extension = item.extension!.map((e) =>
      e.url === PAS_EXT.certificationType
        ? {
            url: e.url,
            valueCodeableConcept: {
              coding: [{ system: 'https://codesystem.x12.org/005010/1322', code: 'I' }],
            },
          }
        : e,
    );
    expect(texts(validatePasRequestBundle(update)).join('\n')).toMatch(/spec-70/);
  });
});

/** JSON paths of a resource, arrays collapsed, extensions named by their url's last segment. */
function shape(value: unknown, at: string, out: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    value.forEach((v) => shape(v, at, out));
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'text' && at.split('.').length === 1) {
        continue; // narrative
      }
      if ((key === 'extension' || key === 'modifierExtension') && Array.isArray(child)) {
        for (const ext of child as { url?: string }[]) {
          const name = `${at}.${key}:${(ext.url ?? '').split('/').at(-1) ?? ''}`;
          out.add(name);
          shape({ ...ext, url: undefined }, name, out);
        }
        continue;
      }
      out.add(`${at}.${key}`);
      shape(child, `${at}.${key}`, out);
    }
  }
  return out;
}

describeShared(['conformance', 'pas', 'ig-2.2.1'], 'the structure of the IG request examples', (dir) => {
  const examples = readdirSync(dir)
    .filter(
      (f) =>
        /^Bundle-.*(Authorization|Request)(Update)?BundleExample\.json$/.test(f) && !f.includes('Inquiry'),
    )
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Bundle);
  const igResources = [
    ...examples.flatMap((b) => (b.entry ?? []).map((e) => e.resource!)),
    JSON.parse(
      readFileSync(path.join(dir, 'MedicationRequest-MedicationRequestExample.json'), 'utf8'),
    ) as Resource,
  ];
  /**
   * What Dripline sends that no IG request example shows, each allowed by the profiles and needed
   * for an infusion drug (pas.md §1.4): the billing units, the course's dates, the MedicationRequest's
   * PAS Timing count (prof-1) and dose, the patient's birth date and address (US Core).
   */
  const beyondExamples = new Set([
    'Claim.item.quantity',
    'Claim.item.quantity.value',
    'Claim.item.quantity.unit',
    'Claim.item.servicedPeriod',
    'Claim.item.servicedPeriod.start',
    'Claim.item.servicedPeriod.end',
    'MedicationRequest.identifier',
    'MedicationRequest.identifier.system',
    'MedicationRequest.identifier.value',
    'MedicationRequest.dosageInstruction.text',
    'MedicationRequest.dosageInstruction.timing.repeat',
    'MedicationRequest.dosageInstruction.timing.repeat.count',
    'MedicationRequest.dosageInstruction.route',
    'MedicationRequest.dosageInstruction.route.coding',
    'MedicationRequest.dosageInstruction.route.coding.system',
    'MedicationRequest.dosageInstruction.route.coding.code',
    'MedicationRequest.dosageInstruction.doseAndRate',
    'MedicationRequest.dosageInstruction.doseAndRate.doseQuantity',
    'MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.value',
    'MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.unit',
    'MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.system',
    'MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.code',
    'MedicationRequest.medicationCodeableConcept.coding.display',
    'Patient.birthDate',
    'Patient.address',
    'Patient.address.line',
    'Patient.address.city',
    'Patient.address.state',
    'Patient.address.postalCode',
    'Patient.gender',
    'Organization.telecom',
    'Organization.telecom.system',
    'Organization.telecom.value',
    'Organization.identifier.type',
    'Organization.identifier.type.coding',
    'Organization.identifier.type.coding.system',
    'Organization.identifier.type.coding.code',
    'PractitionerRole.organization',
    'PractitionerRole.organization.reference',
    'Practitioner.name.prefix',
    // The member id's value (the IG's Coverage examples carry the MB type with the id in subscriberId only).
    'Coverage.identifier.value',
    // Cancelling the whole request: the Claim-level certification type 3 (pas.md §4; no IG example cancels).
    'Claim.extension:extension-certificationType',
    'Claim.extension:extension-certificationType.url',
    'Claim.extension:extension-certificationType.valueCodeableConcept',
    'Claim.extension:extension-certificationType.valueCodeableConcept.coding',
    'Claim.extension:extension-certificationType.valueCodeableConcept.coding.system',
    'Claim.extension:extension-certificationType.valueCodeableConcept.coding.code',
  ]);

  test('the IG examples themselves pass Dripline’s validator (all but the surgical one, which leaves out two resources it references)', () => {
    const results = examples.map((b) => [b.id, texts(validatePasRequestBundle(b))] as const);
    expect(results.filter(([, issues]) => issues.length > 0)).toEqual([
      [
        'SurgicalRequestBundleExample',
        [
          'Practitioner/ReferralPractitionerExample is referenced but not in the Bundle (spec-13) @ Bundle.entry[6].resource',
          'Location/ReferralLocationExample is referenced but not in the Bundle (spec-13) @ Bundle.entry[6].resource',
        ],
      ],
    ]);
  });

  test.each([
    ['initial', buildPasRequest(requestInput())],
    [
      'update',
      buildPasUpdate({
        ...requestInput({ claimId: 'pas-abc-2' }),
        prior: buildPasRequest(requestInput()).entry![0]!.resource as Claim & { id: string },
        cancel: 'all',
      }),
    ],
  ])(
    'every element of the %s request appears in an IG request example of the same type, or is a named infusion addition',
    (_name, bundle) => {
      const known = new Map<string, Set<string>>();
      for (const r of igResources) {
        shape(
          r,
          r.resourceType,
          (known.get(r.resourceType) ?? known.set(r.resourceType, new Set()).get(r.resourceType))!,
        );
      }
      const unknown: string[] = [];
      for (const entry of bundle.entry ?? []) {
        const r = entry.resource!;
        const ig = known.get(r.resourceType);
        expect(ig).toBeDefined();
        for (const p of shape(r, r.resourceType, new Set())) {
          if (!ig!.has(p) && !beyondExamples.has(p)) {
            unknown.push(p);
          }
        }
      }
      expect([...new Set(unknown)]).toEqual([]);
    },
  );
});
