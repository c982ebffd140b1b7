/**
 * Subscriptions end to end over real HTTP: a receiver in the test records what the sandbox EHR
 * POSTs (handshake, event notifications per content level, heartbeats, classic and R5 shapes),
 * and $status / $events answer with the same numbers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { startSandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import type { Receiver } from './helpers.ts';
import {
  backportSubscription,
  ENCOUNTER_TOPIC,
  fhir,
  MA_TOPIC,
  medicationAdministration,
  seedWorld,
  startReceiver,
  statusOf,
  tokenFor,
} from './helpers.ts';

let ehr: SandboxEhr;
let receiver: Receiver;
let token: string;
let world: { patient: string; encounter: string; location: string };
let counter = 0;

beforeAll(async () => {
  ehr = await startSandboxEhr({ retry: { attempts: 3, baseDelayMs: 20, timeoutMs: 2000 } });
  receiver = await startReceiver();
  token = await tokenFor(ehr, 'system/*.rs system/Subscription.cruds');
  world = await seedWorld(ehr);
});

afterEach(async () => {
  receiver.respond = () => 200;
  ehr.setFaults({});
  await ehr.idle();
});

afterAll(async () => {
  await ehr.stop();
  await receiver.close();
});

/** Creates a subscription whose endpoint is a fresh path on the receiver; waits for the handshake outcome. */
async function subscribe(
  overrides: Parameters<typeof backportSubscription>[0] extends infer I ? Partial<I> : never = {},
  raw?: (endpoint: string) => unknown,
): Promise<{ id: string; path: string; body: any }> {
  const path = `/hook/${++counter}`;
  const endpoint = receiver.url + path;
  const body = raw ? raw(endpoint) : backportSubscription({ endpoint, ...overrides });
  const res = await fhir(ehr, token, 'Subscription', { method: 'POST', body });
  expect(res.status).toBe(201);
  await ehr.idle();
  return { id: res.body.id, path, body: res.body };
}

async function readSubscription(id: string): Promise<any> {
  return (await fhir(ehr, token, `Subscription/${id}`)).body;
}

function notifications(path: string, type = 'event-notification'): any[] {
  return receiver
    .at(path)
    .map((r) => r.body)
    .filter((b) => b && statusOf(b).type === type);
}

describe('handshake', () => {
  test('created as requested, handshake with counter 0, then active', async () => {
    const path = `/hook/${++counter}`;
    const res = await fhir(ehr, token, 'Subscription', {
      method: 'POST',
      body: backportSubscription({
        endpoint: receiver.url + path,
        headers: ['Authorization: Bearer s3cret'],
      }),
    });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('requested');
    await ehr.idle();
    const [handshake] = receiver.at(path);
    expect(handshake?.method).toBe('POST');
    expect(handshake?.headers['authorization']).toBe('Bearer s3cret');
    expect(handshake?.headers['content-type']).toContain('application/fhir+json');
    expect(handshake?.body.resourceType).toBe('Bundle');
    expect(handshake?.body.type).toBe('history');
    const status = statusOf(handshake?.body);
    expect(status).toMatchObject({
      type: 'handshake',
      status: 'requested',
      'events-since-subscription-start': '0',
      subscription: `${ehr.fhirBaseUrl}/Subscription/${res.body.id}`,
      topic: MA_TOPIC,
    });
    expect(status.events).toEqual([]);
    expect(handshake?.body.entry[0].request).toEqual({
      method: 'GET',
      url: `${ehr.fhirBaseUrl}/Subscription/${res.body.id}/$status`,
    });
    expect((await readSubscription(res.body.id)).status).toBe('active');
  });

  test('a non-200 handshake answer puts the subscription in error; an update back to requested repairs it', async () => {
    receiver.respond = () => 500;
    const { id, path } = await subscribe();
    const errored = await readSubscription(id);
    expect(errored.status).toBe('error');
    expect(errored.error).toContain('500');
    expect(receiver.at(path)).toHaveLength(1);

    receiver.respond = () => 200;
    const repaired = await fhir(ehr, token, `Subscription/${id}`, {
      method: 'PUT',
      body: { ...errored, status: 'requested' },
    });
    expect(repaired.body.status).toBe('requested');
    await ehr.idle();
    expect(notifications(path, 'handshake')).toHaveLength(2);
    expect((await readSubscription(id)).status).toBe('active');
  });

  test('an unreachable endpoint puts the subscription in error', async () => {
    const res = await fhir(ehr, token, 'Subscription', {
      method: 'POST',
      body: backportSubscription({ endpoint: 'http://127.0.0.1:9/closed' }),
    });
    await ehr.idle();
    const sub = await readSubscription(res.body.id);
    expect(sub.status).toBe('error');
    const status = statusOf((await fhir(ehr, token, `Subscription/${res.body.id}/$status`)).body);
    expect(status.status).toBe('error');
    expect(status.error.coding[0].code).toBe('no-response');
  });

  test('a header the HTTP client refuses (an R5 parameter name with a space) fails the handshake: error, not stuck', async () => {
    const { id, path } = await subscribe({}, (endpoint) => ({
      resourceType: 'Subscription',
      status: 'requested',
      topic: ENCOUNTER_TOPIC,
      filterBy: [{ resourceType: 'Encounter', filterParameter: 'patient', value: world.patient }],
      channelType: {
        system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type',
        code: 'rest-hook',
      },
      endpoint,
      parameter: [{ name: 'Not A Token', value: 'x' }],
      content: 'id-only',
    }));
    const sub = await readSubscription(id);
    expect(sub.status).toBe('error');
    expect(receiver.at(path)).toEqual([]);
  });
});

describe('event notifications', () => {
  test.each(['empty', 'id-only', 'full-resource'] as const)(
    '%s content: shape and increasing event numbers',
    async (content) => {
      const { id, path } = await subscribe({ content });
      const ma = await ehr.createResource(medicationAdministration(`ma-${content}`, world));
      const updated = await ehr.updateResource({ ...ma, status: 'completed' });
      await ehr.idle();
      const events = notifications(path);
      expect(events).toHaveLength(2);
      const numbers = events.map((b) => statusOf(b).events[0]['event-number']);
      expect(numbers).toEqual(['1', '2']);
      expect(events.map((b) => statusOf(b)['events-since-subscription-start'])).toEqual(['1', '2']);

      const last = events[1];
      const status = statusOf(last);
      expect(status.status).toBe('active');
      expect(status.subscription).toBe(`${ehr.fhirBaseUrl}/Subscription/${id}`);
      expect(status.events[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
      const focusUrl = `${ehr.fhirBaseUrl}/MedicationAdministration/${ma.id}`;
      if (content === 'empty') {
        expect(status.events[0].focus).toBeUndefined();
        expect(status.topic).toBeUndefined();
        expect(last.entry).toHaveLength(1);
      } else if (content === 'id-only') {
        expect(status.events[0].focus).toBe(focusUrl);
        expect(last.entry).toHaveLength(2);
        expect(last.entry[1].fullUrl).toBe(focusUrl);
        expect(last.entry[1].request).toEqual({ method: 'PUT', url: `MedicationAdministration/${ma.id}` });
        expect(last.entry[1].resource).toBeUndefined();
        expect(events[0].entry[1].request).toEqual({ method: 'POST', url: 'MedicationAdministration' });
      } else {
        expect(status.events[0].focus).toBe(focusUrl);
        expect(last.entry[1].fullUrl).toBe(focusUrl);
        expect(last.entry[1].resource).toEqual(updated);
        expect(last.entry[1].response.etag).toBe(`W/"${updated.meta?.versionId}"`);
      }
    },
  );

  test('filters: patient, encounter (context) and encounter location', async () => {
    const other = await seedWorld(ehr, '-other');
    const byPatient = await subscribe({ filters: [`MedicationAdministration?patient=${world.patient}`] });
    const byEncounter = await subscribe({ filters: [`MedicationAdministration?context=${other.encounter}`] });
    const byEither = await subscribe({
      filters: [`MedicationAdministration?context=${world.encounter},${other.encounter}`],
    });
    const byBoth = await subscribe({
      filters: [
        `MedicationAdministration?context=${world.encounter}`,
        `MedicationAdministration?context=${other.encounter}`,
      ],
    });
    const encounters = await subscribe({
      topic: ENCOUNTER_TOPIC,
      filters: [`Encounter?location=${other.location}`],
    });
    const eitherLocation = await subscribe({
      topic: ENCOUNTER_TOPIC,
      filters: [`Encounter?location=${world.location},${other.location}`],
    });
    await ehr.createResource(medicationAdministration('ma-filter-1', world));
    await ehr.createResource(medicationAdministration('ma-filter-2', other));
    await ehr.updateResource({
      ...(await ehr.readResource('Encounter', 'enc-other')),
      status: 'finished',
    } as any);
    await ehr.updateResource({ ...(await ehr.readResource('Encounter', 'enc')), status: 'finished' } as any);
    await ehr.idle();
    const focus = (path: string): string[] =>
      notifications(path).map((b) => statusOf(b).events[0].focus.split('/').pop());
    expect(focus(byPatient.path)).toEqual(['ma-filter-1']);
    expect(focus(byEncounter.path)).toEqual(['ma-filter-2']);
    expect(focus(byEither.path)).toEqual(['ma-filter-1', 'ma-filter-2']);
    expect(focus(byBoth.path)).toEqual([]);
    expect(focus(encounters.path)).toEqual(['enc-other']);
    expect(focus(eitherLocation.path)).toEqual(['enc-other', 'enc']);
    // undo for later tests
    await ehr.updateResource({
      ...(await ehr.readResource('Encounter', 'enc')),
      status: 'in-progress',
    } as any);
  });

  test.each([
    ['classic criteria', { criteria: 'MedicationAdministration?location=Location/x' }],
    ['a backport filter', { filters: ['MedicationAdministration?location=Location/x'] }],
  ])('%s with a search parameter R4 does not define is refused: 400 OperationOutcome', async (_what, ask) => {
    const endpoint = `${receiver.url}/hook/${++counter}`;
    const body =
      'criteria' in ask
        ? {
            resourceType: 'Subscription',
            status: 'requested',
            reason: 'x',
            criteria: ask.criteria,
            channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
          }
        : backportSubscription({ endpoint, filters: ask.filters });
    const res = await fhir(ehr, token, 'Subscription', { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).toContain('not a FHIR R4 search parameter of MedicationAdministration');
  });

  test('HTTP writes notify too, and channel headers ride on every delivery', async () => {
    const { path } = await subscribe({ headers: ['Authorization: Bearer abc', 'X-Tenant: clinic-a'] });
    const writer = await tokenFor(ehr, 'system/MedicationAdministration.cu');
    const res = await fhir(ehr, writer, 'MedicationAdministration', {
      method: 'POST',
      body: medicationAdministration('ignored', world),
    });
    expect(res.status).toBe(201);
    await ehr.idle();
    const delivered = receiver.at(path);
    expect(delivered).toHaveLength(2);
    for (const r of delivered) {
      expect(r.headers['authorization']).toBe('Bearer abc');
      expect(r.headers['x-tenant']).toBe('clinic-a');
    }
  });

  test('repeated delivery failures put the subscription in error; events keep counting', async () => {
    const { id, path } = await subscribe();
    receiver.respond = (r) => (statusOf(r.body).type === 'event-notification' ? 503 : 200);
    await ehr.createResource(medicationAdministration('ma-fail-1', world));
    await ehr.idle();
    expect(notifications(path)).toHaveLength(3); // attempts: 3
    expect((await readSubscription(id)).status).toBe('error');
    await ehr.createResource(medicationAdministration('ma-fail-2', world));
    await ehr.idle();
    expect(notifications(path)).toHaveLength(3); // nothing more while in error
    const status = statusOf((await fhir(ehr, token, `Subscription/${id}/$status`)).body);
    expect(status).toMatchObject({ status: 'error', 'events-since-subscription-start': '2' });
  });
});

describe('retry backoff', () => {
  test('doubles from the base delay up to maxDelayMs, no further', async () => {
    // Attempts 1..5, base 100 ms, cap 200 ms: gaps ≥ 100, 200, 200, 200. Uncapped the last gap
    // would be ≥ 800 ms (timers never fire early), so a last gap under 800 ms shows the cap.
    const capped = await startSandboxEhr({ retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 200 } });
    try {
      const capToken = await tokenFor(capped, 'system/*.rs system/Subscription.cruds');
      const capWorld = await seedWorld(capped);
      const path = `/hook/${++counter}`;
      const res = await fhir(capped, capToken, 'Subscription', {
        method: 'POST',
        body: backportSubscription({ endpoint: receiver.url + path }),
      });
      expect(res.status).toBe(201);
      await capped.idle();
      receiver.respond = (r) => (statusOf(r.body).type === 'event-notification' ? 503 : 200);
      await capped.createResource(medicationAdministration('ma-backoff', capWorld));
      await capped.idle();
      const at = receiver
        .at(path)
        .filter((r) => statusOf(r.body).type === 'event-notification')
        .map((r) => r.at);
      expect(at).toHaveLength(5);
      const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
      expect(gaps[0]).toBeGreaterThanOrEqual(90);
      expect(gaps[1]).toBeGreaterThanOrEqual(190);
      expect(gaps[3]).toBeGreaterThanOrEqual(190);
      expect(gaps[3]).toBeLessThan(800);
    } finally {
      await capped.stop();
    }
  });
});

describe('heartbeat', () => {
  test('arrives after the heartbeat period with the current counter', async () => {
    const { path } = await subscribe({ heartbeatSeconds: 1 });
    await ehr.createResource(medicationAdministration('ma-heartbeat', world));
    await receiver.waitFor(() => notifications(path, 'heartbeat').length >= 1, 3000);
    const heartbeat = notifications(path, 'heartbeat')[0];
    const status = statusOf(heartbeat);
    expect(status).toMatchObject({ status: 'active', 'events-since-subscription-start': '1' });
    expect(status.events).toEqual([]);
    const [eventAt, heartbeatAt] = receiver
      .at(path)
      .slice(1)
      .map((r) => r.at);
    expect((heartbeatAt ?? 0) - (eventAt ?? 0)).toBeGreaterThanOrEqual(900);
  });

  test('heartbeatNow sends it at once, with the current counter, to the subscriptions that asked for one', async () => {
    const beating = await subscribe({ heartbeatSeconds: 3600 });
    const silent = await subscribe({});
    await ehr.createResource(medicationAdministration('ma-heartbeat-now', world));
    await ehr.idle();
    expect(notifications(beating.path, 'heartbeat')).toEqual([]);
    ehr.heartbeatNow();
    await ehr.idle();
    const heartbeats = notifications(beating.path, 'heartbeat');
    expect(heartbeats).toHaveLength(1);
    expect(statusOf(heartbeats[0])).toMatchObject({
      status: 'active',
      'events-since-subscription-start': '1',
    });
    expect(notifications(silent.path, 'heartbeat')).toEqual([]);
  });
});

describe('$status and $events', () => {
  test('report the counter and re-render logged events with the content level', async () => {
    const { id } = await subscribe({ content: 'full-resource' });
    const versions: any[] = [];
    let ma = await ehr.createResource(medicationAdministration('ma-events', world));
    versions.push(ma);
    for (const status of ['on-hold', 'in-progress', 'completed']) {
      ma = await ehr.updateResource({ ...ma, status });
      versions.push(ma);
    }
    await ehr.idle();

    const statusRes = await fhir(ehr, token, `Subscription/${id}/$status`);
    expect(statusRes.status).toBe(200);
    expect(statusRes.body.type).toBe('searchset');
    expect(statusRes.body.entry).toHaveLength(1);
    expect(statusOf(statusRes.body)).toMatchObject({
      type: 'query-status',
      status: 'active',
      'events-since-subscription-start': '4',
    });
    const post = await fhir(ehr, token, `Subscription/${id}/$status`, {
      method: 'POST',
      body: { resourceType: 'Parameters' },
    });
    expect(statusOf(post.body)['events-since-subscription-start']).toBe('4');

    const events = await fhir(
      ehr,
      token,
      `Subscription/${id}/$events?eventsSinceNumber=2&eventsUntilNumber=3`,
    );
    expect(events.status).toBe(200);
    expect(events.body.type).toBe('history');
    const status = statusOf(events.body);
    expect(status.type).toBe('query-event');
    expect(status['events-since-subscription-start']).toBe('4');
    expect(status.events.map((e: any) => e['event-number'])).toEqual(['2', '3']);
    expect(events.body.entry.slice(1).map((e: any) => e.resource.status)).toEqual(['on-hold', 'in-progress']);
    expect(events.body.entry[1].resource).toEqual(versions[1]);

    const viaPost = await fhir(ehr, token, `Subscription/${id}/$events`, {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [{ name: 'eventsSinceNumber', valueString: '4' }] },
    });
    expect(statusOf(viaPost.body).events.map((e: any) => e['event-number'])).toEqual(['4']);
    expect((await fhir(ehr, token, 'Subscription/nope/$status')).status).toBe(404);
    expect((await fhir(ehr, token, `Subscription/${id}/$events?eventsSinceNumber=x`)).status).toBe(400);
  });
});

describe('other shapes', () => {
  test('classic rest-hook: the resource itself, Medplum-style headers, no handshake', async () => {
    const { id, path, body } = await subscribe({}, (endpoint) => ({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'classic',
      criteria: `MedicationAdministration?patient=${world.patient}`,
      channel: {
        type: 'rest-hook',
        endpoint,
        payload: 'application/fhir+json',
        header: ['Authorization: Bearer c'],
      },
    }));
    expect(body.status).toBe('active');
    const ma = await ehr.createResource(medicationAdministration('ma-classic', world));
    const done = await ehr.updateResource({ ...ma, status: 'completed' });
    await ehr.idle();
    const delivered = receiver.at(path);
    expect(delivered.map((r) => r.headers['x-medplum-interaction'])).toEqual(['create', 'update']);
    expect(delivered[0]?.headers['x-medplum-subscription']).toBe(id);
    expect(delivered[0]?.headers['authorization']).toBe('Bearer c');
    expect(delivered[1]?.body).toEqual(done);
  });

  test('classic without payload: an empty POST', async () => {
    const { path } = await subscribe({}, (endpoint) => ({
      resourceType: 'Subscription',
      status: 'active',
      reason: 'classic ping',
      criteria: 'MedicationAdministration?status=completed',
      channel: { type: 'rest-hook', endpoint },
    }));
    await ehr.createResource(medicationAdministration('ma-ping-1', world));
    await ehr.createResource(medicationAdministration('ma-ping-2', world, 'completed'));
    await ehr.idle();
    const delivered = receiver.at(path);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.raw).toBe('');
  });

  test('r5 shape: subscription-notification Bundle with a SubscriptionStatus first', async () => {
    const { id, path } = await subscribe({ shape: 'r5', content: 'id-only' });
    const ma = await ehr.createResource(medicationAdministration('ma-r5', world));
    await ehr.idle();
    const [handshake, event] = receiver.at(path).map((r) => r.body);
    expect(handshake.type).toBe('subscription-notification');
    expect(handshake.entry[0].resource).toMatchObject({
      resourceType: 'SubscriptionStatus',
      type: 'handshake',
      status: 'requested',
      eventsSinceSubscriptionStart: '0',
    });
    expect(event.type).toBe('subscription-notification');
    expect(event.entry[0].resource).toMatchObject({
      resourceType: 'SubscriptionStatus',
      type: 'event-notification',
      status: 'active',
      eventsSinceSubscriptionStart: '1',
      subscription: { reference: `${ehr.fhirBaseUrl}/Subscription/${id}` },
      topic: MA_TOPIC,
      notificationEvent: [
        { eventNumber: '1', focus: { reference: `${ehr.fhirBaseUrl}/MedicationAdministration/${ma.id}` } },
      ],
    });
    expect(event.entry[1].fullUrl).toBe(`${ehr.fhirBaseUrl}/MedicationAdministration/${ma.id}`);
    expect(event.entry[1].resource).toBeUndefined();
  });

  test('an R5-shaped Subscription resource is understood too', async () => {
    const { path } = await subscribe({}, (endpoint) => ({
      resourceType: 'Subscription',
      status: 'requested',
      topic: ENCOUNTER_TOPIC,
      filterBy: [{ resourceType: 'Encounter', filterParameter: 'patient', value: world.patient }],
      channelType: {
        system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type',
        code: 'rest-hook',
      },
      endpoint,
      parameter: [{ name: 'Authorization', value: 'Bearer r5' }],
      content: 'full-resource',
    }));
    await ehr.updateResource({
      ...(await ehr.readResource('Encounter', 'enc')),
      status: 'in-progress',
    } as any);
    await ehr.idle();
    const [handshake, event] = receiver.at(path);
    expect(handshake?.headers['authorization']).toBe('Bearer r5');
    expect(event?.body.entry[1].resource.resourceType).toBe('Encounter');
  });
});
