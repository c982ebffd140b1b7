/** Dripline's own profiles in profiles/ are current and enforced on incoming resources that claim them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { buildAll } from '../../scripts/profiles/build.ts';
import { isProfileLoaded, OperationOutcomeError, validateResource } from '@medplum/core';
import type { ChargeItem, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { fastCovers } from '../../src/fhir/fast-conformance.ts';
import { officeInfusionContext } from '../../src/claims/x12-samples.ts';
import {
  compiledProfileType,
  conformsFastToProfiles,
  getOwnProfile,
  loadFhirDefinitions,
  ownProfilesRead,
  PROFILES_DIR,
  validateAgainstProfile,
  validateWithOwnProfiles,
} from '../../src/fhir/definitions.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { administration, encounter, patient } from './fixtures.ts';
import { EXT_DISCARDED_AMOUNT, PROFILE_CHARGE_ITEM, PROFILE_CLAIM } from '../../src/contract/canonical.ts';

const CHARGE_ITEM_PROFILE = PROFILE_CHARGE_ITEM;

test('committed profiles match scripts/profiles/definitions.ts (run npm run profiles:build)', () => {
  for (const [name, text] of buildAll()) {
    expect(readFileSync(path.join(PROFILES_DIR, name), 'utf8')).toBe(text);
  }
});

test("our profiles are read on first use and each reaches @medplum/core's profile table on its first compile, not at load", () => {
  loadFhirDefinitions();
  expect(ownProfilesRead()).toBe(false);
  const claim = getOwnProfile(PROFILE_CLAIM)!;
  expect(ownProfilesRead()).toBe(true);
  expect(claim.url).toBe(PROFILE_CLAIM);
  expect(isProfileLoaded(PROFILE_CLAIM)).toBe(false);
  compiledProfileType(getOwnProfile(CHARGE_ITEM_PROFILE)!);
  expect(isProfileLoaded(CHARGE_ITEM_PROFILE)).toBe(true);
  // The ChargeItem profile names no other of ours: the Claim profile waits for its own compile.
  expect(isProfileLoaded(PROFILE_CLAIM)).toBe(false);
  compiledProfileType(claim);
  expect(isProfileLoaded(PROFILE_CLAIM)).toBe(true);
});

test('a compiled profile brings along the profiles of ours it names, not itself when it is not ours', () => {
  const chargeItem = getOwnProfile(CHARGE_ITEM_PROFILE)!;
  const url = 'http://example.test/StructureDefinition/names-discarded-amount';
  const naming = structuredClone(chargeItem);
  naming.url = url;
  const extension = naming.snapshot!.element.find((e) => e.id === 'ChargeItem.extension')!;
  extension.type = [{ code: 'Extension', profile: [EXT_DISCARDED_AMOUNT] }];
  expect(isProfileLoaded(EXT_DISCARDED_AMOUNT)).toBe(false);
  compiledProfileType(naming);
  expect(isProfileLoaded(EXT_DISCARDED_AMOUNT)).toBe(true);
  expect(isProfileLoaded(url)).toBe(false);
});

describe('profile validation over HTTP', () => {
  let server: TestServer;
  let token: string;
  let patientId: string;
  let encounterId: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await server.token('sandbox', 'system/*.cruds');
    patientId = (
      await fhirFetch(`${server.fhir}/Patient`, token, { method: 'POST', body: patient('PROF-1') })
    ).body.id;
    encounterId = (
      await fhirFetch(`${server.fhir}/Encounter`, token, {
        method: 'POST',
        body: encounter(patientId, '2026-11-26T09:00:00Z', '2026-11-26T11:00:00Z'),
      })
    ).body.id;
  });
  afterAll(async () => {
    await server.stop();
  });

  const chargeItem = (extra: Record<string, unknown>): any => ({
    resourceType: 'ChargeItem',
    meta: { profile: [CHARGE_ITEM_PROFILE] },
    status: 'billable',
    code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
    subject: { reference: `Patient/${patientId}` },
    ...extra,
  });

  test('a ChargeItem claiming the profile without encounter, date or units is refused', async () => {
    const res = await fhirFetch(`${server.fhir}/ChargeItem`, token, { method: 'POST', body: chargeItem({}) });
    expect(res.status).toBe(400);
    const missing = res.body.issue.map((i: any) => `${i.details.text}: ${i.expression[0]}`);
    expect(missing).toEqual([
      'Missing required property: ChargeItem.context',
      'Missing required property: ChargeItem.occurrence[x]',
      'Missing required property: ChargeItem.quantity',
    ]);
  });

  test('a conforming ChargeItem is accepted', async () => {
    const res = await fhirFetch(`${server.fhir}/ChargeItem`, token, {
      method: 'POST',
      body: chargeItem({
        context: { reference: `Encounter/${encounterId}` },
        occurrenceDateTime: '2026-11-26T09:00:00Z',
        quantity: { value: 1 },
      }),
    });
    expect(res.status).toBe(201);
  });

  test('the same ChargeItem without the profile claim is only checked against base R4', async () => {
    const { meta: _meta, ...plain } = chargeItem({});
    const res = await fhirFetch(`${server.fhir}/ChargeItem`, token, { method: 'POST', body: plain });
    expect(res.status).toBe(201);
  });

  test('MedicationAdministration carries the discarded-amount extension', async () => {
    const body = administration(patientId, encounterId, '2026-11-26T09:10:00Z', '2026-11-26T10:40:00Z');
    body.extension = [
      {
        url: EXT_DISCARDED_AMOUNT,
        valueQuantity: { value: 20, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
      },
    ];
    const res = await fhirFetch(`${server.fhir}/MedicationAdministration`, token, { method: 'POST', body });
    expect(res.status).toBe(201);
    expect(res.body.extension[0].valueQuantity.value).toBe(20);
  });
});

describe('compiled profiles (parsed once) judge as @medplum/core parsing the profile on every call', () => {
  const outcome = (run: () => void): unknown => {
    try {
      run();
      return 'valid';
    } catch (err) {
      return err instanceof OperationOutcomeError ? err.outcome.issue : String(err);
    }
  };
  const claim: Resource = { ...officeInfusionContext(1).claim, meta: { profile: [PROFILE_CLAIM] } };
  const cases: [string, Resource][] = [
    ['a built claim', claim],
    [
      'a claim with a line sequence of 0',
      { ...claim, item: [{ ...officeInfusionContext(1).claim.item![0]!, sequence: 0 }] },
    ],
    ['a claim without a patient', { ...claim, patient: undefined as never }],
    [
      'a ChargeItem without encounter, date or units',
      {
        resourceType: 'ChargeItem',
        meta: { profile: [CHARGE_ITEM_PROFILE] },
        status: 'billable',
        code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
        subject: { reference: 'Patient/p1' },
      } satisfies ChargeItem,
    ],
  ];
  test.each(cases)('%s', (_name, resource) => {
    loadFhirDefinitions();
    const urls = resource.meta?.profile ?? [];
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      const profile = getOwnProfile(url);
      expect(profile).toBeDefined();
      const compiled = outcome(() => validateAgainstProfile(resource, profile!));
      expect(compiled).toEqual(outcome(() => validateResource(resource, { profile: profile! })));
    }
  });
  test('the invalid cases are refused (the comparison is not between two passes)', () => {
    const refused = cases
      .slice(1)
      .map(([, r]) => outcome(() => validateAgainstProfile(r, getOwnProfile(r.meta!.profile![0]!)!)));
    expect(refused.every((o) => o !== 'valid')).toBe(true);
  });
});

describe('validateWithOwnProfiles: one walk for a conforming profiled resource, every violation still refused', () => {
  const profile = (): StructureDefinition => getOwnProfile(CHARGE_ITEM_PROFILE) as StructureDefinition;
  const item = (extra: Partial<ChargeItem> = {}): ChargeItem => ({
    resourceType: 'ChargeItem',
    meta: { profile: [CHARGE_ITEM_PROFILE] },
    status: 'billable',
    code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
    subject: { reference: 'Patient/p1' },
    context: { reference: 'Encounter/e1' },
    occurrenceDateTime: '2026-11-26T09:00:00Z',
    quantity: { value: 1 },
    ...extra,
  });
  const refusal = (resource: Resource): string[] | 'valid' => {
    try {
      validateWithOwnProfiles(resource);
      return 'valid';
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) {
        throw err;
      }
      return err.outcome.issue.map((i) => `${i.details?.text ?? ''}: ${i.expression?.join() ?? ''}`);
    }
  };

  test("a conforming ChargeItem passes, decided by the profile's compiled check alone", () => {
    loadFhirDefinitions();
    expect(refusal(item())).toBe('valid');
    // The profile's check covers base R4, so the base pass is not walked as well.
    expect(fastCovers(compiledProfileType(profile()), 'ChargeItem')).toBe(true);
    expect(conformsFastToProfiles(item(), [profile()])).toBe(true);
  });

  test('what only the profile requires is refused', () => {
    const { context: _context, ...withoutEncounter } = item();
    expect(refusal(withoutEncounter)).toEqual(['Missing required property: ChargeItem.context']);
  });

  test('what base R4 forbids is refused, with or without the profile claim', () => {
    const bad = { ...item(), unknownElement: true } as ChargeItem;
    expect(refusal(bad)).toEqual(['Invalid additional property "unknownElement": ChargeItem.unknownElement']);
    const { meta: _meta, ...plain } = bad;
    expect(refusal(plain)).toEqual(refusal(bad));
    expect(refusal(item({ quantity: { value: 'one' as unknown as number } }))).not.toBe('valid');
  });
});
