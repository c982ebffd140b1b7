/**
 * Injected delivery faults (drop, duplicate, reorder, delay) are observable at a receiver and
 * deterministic with a given `random`; the seeded day replays through the notifying write path.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { generateInfusionDay } from '../../../src/sandbox/ehr/seed/generate.ts';
import { startSandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import type { DeliveryAttempt, SandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import type { Resource } from '@medplum/fhirtypes';
import type { Receiver } from './helpers.ts';
import {
  backportSubscription,
  ENCOUNTER_TOPIC,
  fhir,
  medicationAdministration,
  seedWorld,
  startReceiver,
  statusOf,
  tokenFor,
} from './helpers.ts';

let receiver: Receiver;
let counter = 0;
/** Subscriptions of the current test, switched off after it (so `random` is only drawn for one). */
let created: { ehr: SandboxEhr; token: string; id: string }[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.close();
});

async function subscribe(
  ehr: SandboxEhr,
  token: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; path: string }> {
  const path = `/faults/${++counter}`;
  const res = await fhir(ehr, token, 'Subscription', {
    method: 'POST',
    body: backportSubscription({ endpoint: receiver.url + path, ...overrides }),
  });
  expect(res.status).toBe(201);
  await ehr.idle();
  expect(ehr.subscriptionInfo(res.body.id)?.status).toBe('active');
  created.push({ ehr, token, id: res.body.id });
  return { id: res.body.id, path };
}

function eventNumbers(path: string): string[] {
  return receiver
    .at(path)
    .map((r) => statusOf(r.body))
    .filter((s) => s.type === 'event-notification')
    .map((s) => s.events[0]['event-number']);
}

/** A deterministic `random` cycling through the given values. */
function cycle(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

describe('faults', () => {
  let ehr: SandboxEhr;
  let token: string;
  let world: { patient: string; encounter: string };

  beforeAll(async () => {
    ehr = await startSandboxEhr();
    token = await tokenFor(ehr, 'system/*.rs system/Subscription.cruds');
    world = await seedWorld(ehr);
  });
  afterEach(async () => {
    ehr.setFaults({});
    await ehr.idle();
    for (const sub of created) {
      const current = (await fhir(sub.ehr, sub.token, `Subscription/${sub.id}`)).body;
      await fhir(sub.ehr, sub.token, `Subscription/${sub.id}`, {
        method: 'PUT',
        body: { ...current, status: 'off' },
      });
      expect(sub.ehr.subscriptionInfo(sub.id)?.status).toBe('off');
    }
    created = [];
  });
  afterAll(async () => {
    await ehr.stop();
  });

  async function writeEvents(prefix: string, n: number): Promise<void> {
    for (let i = 1; i <= n; i++) {
      await ehr.createResource(medicationAdministration(`${prefix}-${i}`, world));
    }
    await ehr.idle();
  }

  test('drop: a real gap; the counter and $events still have every event', async () => {
    const { id, path } = await subscribe(ehr, token);
    ehr.setFaults({ dropRate: 0.5, random: cycle(0.1, 0.9) });
    await writeEvents('drop', 4);
    expect(eventNumbers(path)).toEqual(['2', '4']);
    expect(
      statusOf((await fhir(ehr, token, `Subscription/${id}/$status`)).body)[
        'events-since-subscription-start'
      ],
    ).toBe('4');
    const events = await fhir(
      ehr,
      token,
      `Subscription/${id}/$events?eventsSinceNumber=1&eventsUntilNumber=3`,
    );
    expect(statusOf(events.body).events.map((e: any) => e['event-number'])).toEqual(['1', '2', '3']);
    expect(ehr.subscriptionInfo(id)?.status).toBe('active'); // dropping is silent
  });

  test('duplicate: the same event number arrives twice', async () => {
    const { path } = await subscribe(ehr, token);
    ehr.setFaults({ duplicateRate: 0.5, random: cycle(0.1, 0.9) });
    await writeEvents('dup', 2);
    expect(eventNumbers(path)).toEqual(['1', '1', '2']);
  });

  test('reorder: adjacent notifications swap; a lone one is sent after a short hold', async () => {
    const { path } = await subscribe(ehr, token);
    ehr.setFaults({ reorder: true });
    await writeEvents('reorder', 3);
    expect(eventNumbers(path)).toEqual(['2', '1', '3']);
  });

  test('delay: each send waits within the range', async () => {
    const { path } = await subscribe(ehr, token);
    ehr.setFaults({ delayMs: [80, 100], random: () => 0.5 });
    const started = Date.now();
    await writeEvents('delay', 1);
    expect(eventNumbers(path)).toEqual(['1']);
    const arrived = receiver.at(path).at(-1)?.at ?? 0;
    expect(arrived - started).toBeGreaterThanOrEqual(85);
  });

  test('handshakes are never faulted', async () => {
    ehr.setFaults({ dropRate: 1 });
    const { path } = await subscribe(ehr, token);
    expect(receiver.at(path)).toHaveLength(1);
  });
});

describe('replay of the seeded day', () => {
  const seed = { date: '2026-11-26', patients: 3, seed: 5 };
  const day = generateInfusionDay(seed);
  let ehr: SandboxEhr;
  let token: string;

  beforeAll(async () => {
    ehr = await startSandboxEhr({ seed });
    token = await tokenFor(ehr, 'system/*.rs system/Subscription.cruds');
  });
  afterAll(async () => {
    await ehr.stop();
  });

  test('reference data is there before the day starts, without notifications', async () => {
    // The day's reference data and the EHR's own office staff (seeded apart), and nothing else.
    const expected = [...day.reference, ...ehr.staff];
    expect(ehr.staff.length).toBeGreaterThan(0);
    const idsOf = (resources: readonly Resource[]): string[] => resources.map((r) => r.id ?? '').sort();
    for (const type of new Set(expected.map((r) => r.resourceType))) {
      expect(idsOf(await ehr.listResources(type))).toEqual(
        idsOf(expected.filter((r) => r.resourceType === type)),
      );
    }
    expect(await ehr.listResources('MedicationAdministration')).toEqual([]);
  });

  test('the timeline is applied in order through the notifying path, first `limit` steps then the rest', async () => {
    const ma = await subscribe(ehr, token, { content: 'full-resource' });
    const enc = await subscribe(ehr, token, { content: 'id-only', topic: ENCOUNTER_TOPIC });

    await ehr.replay({ speed: 0, limit: 5 });
    await ehr.idle();
    const focusOf = (path: string): string[] =>
      receiver
        .at(path)
        .map((r) => statusOf(r.body))
        .filter((s) => s.type === 'event-notification')
        .map((s) => s.events[0].focus.replace(`${ehr.fhirBaseUrl}/`, ''));
    const expectedFirst = day.timeline
      .slice(0, 5)
      .map((s) => `${s.resource.resourceType}/${s.resource.id ?? ''}`);
    expect([...focusOf(enc.path), ...focusOf(ma.path)].sort()).toEqual([...expectedFirst].sort());

    await ehr.replay({ speed: 0 });
    await ehr.idle();
    const expected = (type: string): string[] =>
      day.timeline
        .filter((s) => s.resource.resourceType === type)
        .map((s) => `${type}/${s.resource.id ?? ''}`);
    expect(focusOf(ma.path)).toEqual(expected('MedicationAdministration'));
    expect(focusOf(enc.path)).toEqual(expected('Encounter'));

    // The EHR now holds the last version of every resource the timeline wrote.
    const last = new Map<string, any>();
    for (const step of day.timeline) {
      last.set(`${step.resource.resourceType}/${step.resource.id ?? ''}`, step.resource);
    }
    for (const [key, resource] of last) {
      const [type, id] = key.split('/');
      const stored = await ehr.readResource(type ?? '', id ?? '');
      const { meta: _meta, ...content } = stored as any;
      const { meta: _m, ...want } = resource;
      expect(content).toEqual(want);
    }
    // Full-resource notifications carried exactly what was written.
    const lastMa = receiver.at(ma.path).at(-1)?.body;
    const focus = lastMa.entry[1].resource;
    expect(focus).toEqual(await ehr.readResource('MedicationAdministration', focus.id));
  });

  test('speed scales the spacing between steps', async () => {
    const fresh = await startSandboxEhr({ seed });
    try {
      const steps = day.timeline.slice(0, 3);
      const spanMs = Date.parse(steps[2]?.at ?? '') - Date.parse(steps[0]?.at ?? '');
      const speed = spanMs / 150; // the three steps should take ~150 ms
      const started = Date.now();
      await fresh.replay({ speed, limit: 3 });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(2000);
      expect((await fresh.listResources(steps[0]?.resource.resourceType ?? '')).length).toBeGreaterThan(0);
    } finally {
      await fresh.stop();
    }
  });
});

describe('delivery observer (onDelivery)', () => {
  test('sees every attempt with the status the subscriber answered, or the error when none came', async () => {
    const attempts: DeliveryAttempt[] = [];
    const ehr = await startSandboxEhr({
      retry: { attempts: 2, baseDelayMs: 10 },
      onDelivery: (attempt) => attempts.push(attempt),
    });
    try {
      const token = await tokenFor(ehr, 'system/*.rs system/Subscription.cruds');
      const world = await seedWorld(ehr);
      const { id, path } = await subscribe(ehr, token);
      // The first event's first attempt is refused with 503 (then retried), the second answered 200.
      let refused = false;
      receiver.respond = (req) => (req.path === path && !refused && (refused = true) ? 503 : 200);
      await ehr.createResource(medicationAdministration('observed-1', world));
      await ehr.createResource(medicationAdministration('observed-2', world));
      await ehr.idle();
      receiver.respond = () => 200;
      // A subscriber that is not there: the connection fails, so the attempt carries an error.
      const closed = await startReceiver();
      await closed.close();
      const gone = await fhir(ehr, token, 'Subscription', {
        method: 'POST',
        body: backportSubscription({ endpoint: `${closed.url}/gone` }),
      });
      await ehr.idle();
      const events = attempts.filter((a) => a.subscriptionId === id && a.kind === 'event-notification');
      expect(events.map((a) => [a.eventNumber, a.status])).toEqual([
        [1, 503],
        [2, 200],
        [1, 200],
      ]);
      expect(attempts.find((a) => a.subscriptionId === id && a.kind === 'handshake')?.status).toBe(200);
      const handshake = attempts.find((a) => a.subscriptionId === gone.body.id);
      expect(handshake).toMatchObject({ kind: 'handshake' });
      expect(handshake?.status).toBeUndefined();
      expect(handshake?.error).toEqual(expect.any(String));
    } finally {
      receiver.respond = () => 200;
      created = [];
      await ehr.stop();
    }
  });
});
