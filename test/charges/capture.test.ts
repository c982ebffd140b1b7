/**
 * Charge capture end to end over real HTTP: the sandbox EHR replays the seeded infusion day,
 * Dripline ingests it, and charge capture turns every finished encounter into ChargeItems with
 * Provenance — stable on recomputation, corrected when the EHR corrects, voided when an
 * administration is entered in error, and never changed under a submitted claim.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { validateResource } from '@medplum/core';
import type { Claim, Encounter, MedicationAdministration, Resource } from '@medplum/fhirtypes';
import { settingOf } from '../../src/coding/fhir/extract.ts';
import { getOwnProfile, loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { generateInfusionDay } from '../../src/sandbox/ehr/seed/generate.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { PROFILE_CHARGE_ITEM } from '../../src/contract/canonical.ts';

const TENANT = 'sandbox';
const DAY = { date: '2026-11-26', patients: 16 };
const seeded = generateInfusionDay(DAY);

let ehr: SandboxEhr;
let server: TestServer;
let token: string;

async function queueEmpty(queue: string): Promise<boolean> {
  const store = server.running.store;
  const ready = await store.jobs.listJobs(TENANT, queue, 'ready', 1);
  const leased = await store.jobs.listJobs(TENANT, queue, 'leased', 1);
  return ready.length === 0 && leased.length === 0;
}

/** The EHR delivered everything, ingest stored it, and charge capture caught up (twice in a row). */
async function drained(): Promise<boolean> {
  for (let i = 0; i < 2; i++) {
    await ehr.idle();
    if (!(await queueEmpty(INGEST_QUEUE)) || !(await queueEmpty(ENCOUNTER_CHANGED_QUEUE))) {
      return false;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function search(type: string, code: string, value: string): Promise<any[]> {
  const result = await server.running.store.resources.search(TENANT, {
    resourceType: type,
    filters: [{ code, kind: 'reference', values: [value] }],
    sort: [{ code: '_id', descending: false }],
    count: 1000,
    offset: 0,
    total: false,
  });
  return result.resources;
}

async function all(type: string): Promise<any[]> {
  const result = await server.running.store.resources.search(TENANT, {
    resourceType: type,
    filters: [],
    sort: [{ code: '_id', descending: false }],
    count: 1000,
    offset: 0,
    total: false,
  });
  return result.resources;
}

const chargesOf = (encounter: string): Promise<any[]> => search('ChargeItem', 'encounter', encounter);
const billable = (items: any[]): any[] => items.filter((c) => c.status === 'billable');
const codeOf = (item: any): string => item.code.coding[0].code;
const servesAdministration = (item: any, id: string): boolean =>
  (item.service ?? []).some((s: any) => s.reference === `MedicationAdministration/${id}`);

function stepWithNote(suffix: string): { resource: Resource } {
  const step = seeded.timeline.find((s) => s.note?.endsWith(suffix));
  if (!step) {
    throw new Error(`seeded day has no step "${suffix}"`);
  }
  return step;
}

beforeAll(async () => {
  loadFhirDefinitions();
  ehr = await startSandboxEhr({ port: 0, seed: DAY });
  const connection = await sandboxConnection(ehr);
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    { extraConnections: [{ tenant: TENANT, connection }] },
  );
  await waitFor('active subscriptions', async () => {
    const records = await Promise.all(
      INGEST_TOPICS.map((t) => loadRecord(server.running.store, TENANT, connection.id, t)),
    );
    return records.every((r) => r?.status === 'active');
  });
  await ehr.replay({ speed: 0 });
  await waitFor('ingest and charge capture to drain', drained, 90_000);
  token = await server.token(TENANT, 'system/*.rs');
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await ehr?.stop();
});

describe('charge capture of the seeded day', () => {
  test('every finished office/hospital encounter with coded administrations has billable ChargeItems', async () => {
    const encounters = (await ehr.listResources('Encounter')) as Encounter[];
    const administrations = (await ehr.listResources(
      'MedicationAdministration',
    )) as MedicationAdministration[];
    const visits = encounters.filter(
      (e) => e.status === 'finished' && settingOf(e) !== undefined && settingOf(e) !== 'home',
    );
    expect(visits.length).toBeGreaterThan(8);
    const missing: string[] = [];
    for (const e of visits) {
      const coded = administrations.filter(
        (a) =>
          a.context?.reference === `Encounter/${e.id}` &&
          (a.status === 'completed' || a.status === 'stopped'),
      );
      if (coded.length > 0 && billable(await chargesOf(`Encounter/${e.id}`)).length === 0) {
        missing.push(`Encounter/${e.id}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('home infusion: per diems on the episode, nursing visits on the visit', async () => {
    const encounters = (await ehr.listResources('Encounter')) as Encounter[];
    const visits = encounters.filter((e) => e.partOf && e.status === 'finished');
    expect(visits.length).toBeGreaterThan(0);
    for (const visit of visits) {
      const episode = visit.partOf!.reference!;
      expect(
        billable(await chargesOf(episode)).length + billable(await chargesOf(`Encounter/${visit.id}`)).length,
      ).toBeGreaterThan(0);
    }
  });

  test('each ChargeItem validates against the dripline-chargeitem profile and is readable over the FHIR API', async () => {
    const profile = getOwnProfile(PROFILE_CHARGE_ITEM);
    expect(profile).toBeDefined();
    const items = await all('ChargeItem');
    expect(items.length).toBeGreaterThan(40);
    for (const item of items) {
      expect(item.meta.profile).toContain(PROFILE_CHARGE_ITEM);
      expect(() => validateResource(item, { profile: profile! })).not.toThrow();
    }
    const encounters = [...new Set(items.map((i) => i.context.reference as string))];
    for (const encounter of encounters) {
      const response = await fhirFetch(`${server.fhir}/ChargeItem?encounter=${encounter}&_count=200`, token);
      expect(response.status).toBe(200);
      const ids = (response.body.entry ?? []).map((e: any) => e.resource.id).sort();
      expect(ids).toEqual(
        items
          .filter((i) => i.context.reference === encounter)
          .map((i) => i.id)
          .sort(),
      );
    }
  });

  test('each ChargeItem version is the target of one Provenance naming the administration versions it came from', async () => {
    const items = await all('ChargeItem');
    for (const item of items) {
      const target = `ChargeItem/${item.id}/_history/${item.meta.versionId}`;
      const provenances = await search('Provenance', 'target', `ChargeItem/${item.id}`);
      const current = provenances.filter((p) => p.target.some((t: any) => t.reference === target));
      expect(current).toHaveLength(1);
      // One Provenance per version written, never two for the same version.
      expect(provenances.length).toBe(Number(item.meta.versionId));
      const [provenance] = current;
      expect(provenance.agent[0].who.display).toBe('Dripline charge capture');
      expect(provenance.activity.text).toMatch(/rule/);
      expect(provenance.reason.map((r: any) => r.text)).toContainEqual(expect.stringMatching(`^${target}: `));
      const sources = provenance.entity
        .filter((e: any) => e.role === 'source')
        .map((e: any) => e.what.reference);
      // Each administration the charge serves is named at the exact version that was coded.
      for (const service of item.service) {
        const ref = sources.find((r: string) => r.startsWith(`${service.reference}/_history/`));
        expect(ref).toBeDefined();
        const [, type, id, , version] = /^(\w+)\/([^/]+)\/(_history)\/(.+)$/.exec(ref)!;
        expect(servesAdministration(item, id!)).toBe(true);
        await expect(
          server.running.store.resources.vread(TENANT, type!, id!, version!),
        ).resolves.toBeTruthy();
      }
      // Every administration named belongs to the same encounter's group.
      const administrations = sources.filter((r: string) => r.startsWith('MedicationAdministration/'));
      expect(administrations.length).toBeGreaterThanOrEqual(item.service.length);
      expect(sources.some((r: string) => r.startsWith(`${item.context.reference}/_history/`))).toBe(true);
    }
  });

  test('the infusion whose stop time was corrected after the patient left ends with the corrected units', async () => {
    const corrected = stepWithNote('stop time corrected by the nurse').resource as MedicationAdministration;
    const start = Date.parse(corrected.effectivePeriod!.start!);
    const end = Date.parse(corrected.effectivePeriod!.end!);
    expect((end - start) / 60_000).toBeGreaterThan(90); // charted 75 min first, corrected past 90
    const copy = (await server.running.store.resources.read(
      TENANT,
      'MedicationAdministration',
      corrected.id!,
    )) as any;
    expect(copy.effectivePeriod.end).toBe(corrected.effectivePeriod!.end);
    const charges = billable(await chargesOf(corrected.context!.reference!)).filter((c) =>
      servesAdministration(c, corrected.id!),
    );
    const addOn = charges.find((c) => codeOf(c) === '96366');
    expect(addOn?.quantity.value).toBe(1);
    expect(charges.some((c) => codeOf(c) === '96365')).toBe(true);
  });

  test('the ondansetron push charted twice and entered in error is never billable', async () => {
    const voided = stepWithNote('Duplicate charting voided').resource as MedicationAdministration;
    expect(voided.status).toBe('entered-in-error');
    const charges = await chargesOf(voided.context!.reference!);
    const touching = charges.filter((c) => servesAdministration(c, voided.id!));
    for (const c of touching) {
      expect(c.status).toBe('entered-in-error');
      expect(c.note?.at(-1)?.text).toMatch(/voided/i);
    }
    // The original push is still billed once.
    expect(billable(charges).some((c) => codeOf(c) === '96375' && c.quantity.value === 1)).toBe(true);
  });

  test('held administrations are listed in a "documentation issues" Task, not billed', async () => {
    const late = stepWithNote('charted after the fact with a start time only')
      .resource as MedicationAdministration;
    const charges = await chargesOf(late.context!.reference!);
    expect(billable(charges).some((c) => servesAdministration(c, late.id!))).toBe(false);
    const tasks = (await search('Task', 'encounter', late.context!.reference!)).filter(
      (t) => t.code.text === 'documentation issues',
    );
    expect(tasks).toHaveLength(1);
    expect(tasks[0].status).toBe('requested');
    expect(tasks[0].for.reference).toBe(late.subject.reference);
    expect(
      tasks[0].input.some((i: any) => i.valueReference?.reference === `MedicationAdministration/${late.id}`),
    ).toBe(true);
  });

  test('recomputing changes nothing: same ids, no new versions, no new Provenance or Tasks', async () => {
    const snapshot = async (): Promise<string[]> =>
      [...(await all('ChargeItem')), ...(await all('Task')), ...(await all('Provenance'))].map(
        (r: StoredResource) => `${r.resourceType}/${r.id}/${r.meta.versionId}`,
      );
    const before = await snapshot();
    const encounters = [...new Set((await all('ChargeItem')).map((c) => c.context.reference as string))];
    for (const encounter of encounters) {
      await server.running.store.jobs.enqueue(TENANT, {
        queue: ENCOUNTER_CHANGED_QUEUE,
        key: `${encounter}|test-rerun`,
        payload: { encounter, causes: [] },
      });
      const summary = await server.running.chargeCapture.process(TENANT, { encounter, causes: [] });
      expect(summary).toMatchObject({ created: 0, updated: 0, voided: 0, tasks: 0 });
    }
    server.running.chargeCapture.notify();
    await waitFor('re-enqueued jobs to drain', drained);
    expect(await snapshot()).toEqual(before);
  });
});

describe('an encounter whose claim was already submitted', () => {
  test('gets a "corrected claim needed" Task instead of changed charges when an administration changes', async () => {
    // An office infusion of one hour or less (96365 without add-on hours), not the corrected one.
    const corrected = stepWithNote('stop time corrected by the nurse').resource as MedicationAdministration;
    const administrations = (await ehr.listResources(
      'MedicationAdministration',
    )) as MedicationAdministration[];
    let target: { ma: MedicationAdministration; charges: any[] } | undefined;
    for (const ma of administrations) {
      if (ma.id === corrected.id || ma.status !== 'completed' || !ma.effectivePeriod?.end) {
        continue;
      }
      const charges = billable(await chargesOf(ma.context!.reference!));
      const mine = charges.filter((c) => servesAdministration(c, ma.id!));
      if (mine.some((c) => codeOf(c) === '96365') && !charges.some((c) => codeOf(c) === '96366')) {
        target = { ma, charges };
        break;
      }
    }
    expect(target).toBeDefined();
    const { ma, charges } = target!;
    const encounter = ma.context!.reference!;
    const claim: Claim = {
      resourceType: 'Claim',
      status: 'active',
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
      },
      use: 'claim',
      patient: { reference: ma.subject.reference! },
      created: new Date().toISOString(),
      provider: { display: 'Test clinic' },
      priority: { coding: [{ code: 'normal' }] },
      insurance: [{ sequence: 1, focal: true, coverage: { display: 'test' } }],
      item: charges.map((c, i) => ({
        sequence: i + 1,
        productOrService: c.code,
        quantity: c.quantity,
        encounter: [{ reference: encounter }],
      })),
    };
    const stored = await server.running.store.resources.create(TENANT, claim);
    const claimId = stored.resource.id;
    const versions = (items: any[]): string[] => items.map((c) => `${c.id}/${c.meta.versionId}`).sort();
    const before = versions(await chargesOf(encounter));

    // The nurse corrects the stop time to 100 minutes after the start: one add-on hour (> 90 min).
    const current = (await ehr.readResource('MedicationAdministration', ma.id!)) as MedicationAdministration;
    const newEnd = new Date(Date.parse(current.effectivePeriod!.start!) + 100 * 60_000).toISOString();
    await ehr.updateResource({ ...current, effectivePeriod: { ...current.effectivePeriod, end: newEnd } });

    const task = await waitFor(
      'the corrected-claim Task',
      async () =>
        (await search('Task', 'focus', `Claim/${claimId}`)).find(
          (t) => t.code.text === 'corrected claim needed',
        ),
      30_000,
    );
    await waitFor('drain', drained);
    expect(task.status).toBe('requested');
    expect(task.encounter.reference).toBe(encounter);
    expect(task.for.reference).toBe(ma.subject.reference);
    expect(task.input.some((i: any) => /96366/.test(i.valueString ?? i.valueReference?.display ?? ''))).toBe(
      true,
    );
    expect(versions(await chargesOf(encounter))).toEqual(before);
    const copy = (await server.running.store.resources.read(
      TENANT,
      'MedicationAdministration',
      ma.id!,
    )) as any;
    expect(Date.parse(copy.effectivePeriod.end)).toBe(Date.parse(newEnd));

    // Once more: the same change does not duplicate the Task.
    const summary = await server.running.chargeCapture.process(TENANT, { encounter, causes: [] });
    expect(summary).toMatchObject({ created: 0, updated: 0, voided: 0, tasks: 0 });
    expect(summary.deferred).toBeGreaterThan(0);
    const tasks = (await search('Task', 'focus', `Claim/${claimId}`)).filter(
      (t) => t.code.text === 'corrected claim needed',
    );
    expect(tasks).toHaveLength(1);
  }, 60_000);
});
