/**
 * The notification receiver through real HTTP: authentication, subscription ownership, every
 * accepted shape, idempotent enqueue, and bad input as 4xx OperationOutcomes with nothing stored.
 * The worker is off here so the queue shows exactly what the receiver wrote.
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { SubscriptionDirectory } from '../../src/ingest/receiver.ts';
import { sha256Hex, updateRecord } from '../../src/ingest/records.ts';
import { advancingClock } from '../../src/time/clock.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { describeShared } from '../support/shared.ts';
import { unreachableEhrConnection } from '../support/ehr-connection.ts';
import { backportNotification as notification } from '../support/backport-notification.ts';

const SECRET_MA = 'ma-secret-0123456789abcdef';
const SECRET_ENC = 'enc-secret-0123456789abcdef';
const SECRET_OTHER = 'other-connection-secret-0123';
const HMAC_SECRET = 'hmac-secret-0123456789abcdef';

const connection = unreachableEhrConnection;

let server: TestServer;

async function jobs(tenant = 'sandbox'): Promise<any[]> {
  return server.running.store.jobs.listJobs(tenant, INGEST_QUEUE, 'ready', 1000);
}

async function post(
  connectionId: string,
  body: unknown,
  headers: Record<string, string> = {},
  init: { method?: string; path?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${server.url}/ehr/${connectionId}/notify${init.path ?? ''}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/fhir+json', ...headers },
    ...(init.method === 'DELETE' ? {} : { body: text }),
  });
  const raw = await res.text();
  return { status: res.status, headers: res.headers, body: raw ? JSON.parse(raw) : undefined };
}

const bearer = (secret: string): Record<string, string> => ({ authorization: `Bearer ${secret}` });

beforeAll(async () => {
  server = await startTestServer(
    { MAX_BODY_BYTES: '20000' },
    {
      ingest: false,
      extraConnections: [
        { tenant: 'sandbox', connection: connection('ehr-a') },
        { tenant: 'clinic-b', connection: connection('ehr-b') },
        { tenant: 'sandbox', connection: connection('ehr-signed', { hmacSecret: HMAC_SECRET }) },
        { tenant: 'sandbox', connection: connection('ehr-classic', { mode: 'rest-hook' }) },
      ],
    },
  );
  const { store } = server.running;
  const seed = async (
    tenant: string,
    conn: EhrConnectionConfig,
    topic: 'MedicationAdministration' | 'Encounter',
    ehrId: string,
    secret: string,
  ) =>
    updateRecord(store, tenant, conn, topic, 'http://x/notify', (r) => ({
      ...r,
      ehrSubscriptionId: ehrId,
      secretSha256: sha256Hex(secret),
      status: 'active',
    }));
  await seed('sandbox', connection('ehr-a'), 'MedicationAdministration', 'sub-ma', SECRET_MA);
  await seed('sandbox', connection('ehr-a'), 'Encounter', 'sub-enc', SECRET_ENC);
  await seed('clinic-b', connection('ehr-b'), 'MedicationAdministration', 'sub-b', SECRET_OTHER);
  await seed(
    'sandbox',
    connection('ehr-signed'),
    'MedicationAdministration',
    'sub-signed',
    'signed-secret-0123456789',
  );
  await seed(
    'sandbox',
    connection('ehr-classic', { mode: 'rest-hook' }),
    'MedicationAdministration',
    'sub-classic',
    'classic-secret-0123456789',
  );
});
afterAll(async () => {
  await server.stop();
});

describe('authentication and ownership', () => {
  test('no secret, a wrong secret, or another connection’s secret: 401 and nothing stored', async () => {
    const body = notification('Subscription/sub-ma', 'event-notification', '1', [
      { n: 1, focus: 'http://127.0.0.1:9/fhir/MedicationAdministration/ma-1' },
    ]);
    const before = (await jobs()).length;
    for (const headers of [{}, bearer('wrong-secret'), bearer(SECRET_OTHER)]) {
      const res = await post('ehr-a', body, headers);
      expect(res.status).toBe(401);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="dripline-notifications"/);
    }
    expect((await jobs()).length).toBe(before);
  });

  test('a notification naming a subscription its secret does not own is refused', async () => {
    const res = await post(
      'ehr-a',
      notification('Subscription/sub-enc', 'heartbeat', '0'),
      bearer(SECRET_MA),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="dripline-notifications", error="insufficient_scope"/,
    );
    const foreign = await post(
      'ehr-a',
      notification('https://other-ehr.example/fhir/Subscription/sub-b', 'heartbeat', '0'),
      bearer(SECRET_MA),
    );
    expect(foreign.status).toBe(403);
  });

  test('HMAC X-Signature is required where configured, over the exact bytes', async () => {
    const text = JSON.stringify(notification('Subscription/sub-signed', 'heartbeat', '0'));
    const auth = bearer('signed-secret-0123456789');
    expect((await post('ehr-signed', text, auth)).status).toBe(401);
    expect((await post('ehr-signed', text, { ...auth, 'x-signature': 'ab'.repeat(32) })).status).toBe(401);
    const signature = createHmac('sha256', HMAC_SECRET).update(text).digest('hex');
    expect((await post('ehr-signed', text, { ...auth, 'x-signature': signature })).status).toBe(200);
  });
});

describe('the subscription directory', () => {
  test('a secret it does not know reloads the records at most once a second of its clock', async () => {
    const { store } = server.running;
    const clock = advancingClock();
    const directory = new SubscriptionDirectory(store, clock.now);
    const binding = { tenant: 'sandbox', connection: connection('ehr-directory') };
    const secret = 'directory-secret-0123456789';
    expect(await directory.find(binding, secret)).toBeUndefined(); // loaded: no records yet
    await updateRecord(
      store,
      'sandbox',
      binding.connection,
      'MedicationAdministration',
      'http://x/notify',
      (r) => ({
        ...r,
        ehrSubscriptionId: 'sub-directory',
        secretSha256: sha256Hex(secret),
        status: 'active',
      }),
    );
    // Within the second the miss is answered from what was loaded; a second later it reloads.
    expect(await directory.find(binding, secret)).toBeUndefined();
    clock.advance(1_000);
    expect((await directory.find(binding, secret))?.ehrSubscriptionId).toBe('sub-directory');
  });
});

describe('accepted shapes', () => {
  test('handshake answers exactly 200 and records a status job', async () => {
    const res = await post('ehr-a', notification('Subscription/sub-ma', 'handshake', '0'), bearer(SECRET_MA));
    expect(res.status).toBe(200);
    const statusJobs = (await jobs()).filter(
      (j) => j.payload.kind === 'status' && j.payload.type === 'handshake',
    );
    expect(statusJobs.length).toBeGreaterThanOrEqual(1);
  });

  test('an event enqueues one job per event; the same event again enqueues nothing new', async () => {
    const focus = 'http://127.0.0.1:9/fhir/MedicationAdministration/ma-7';
    const body = notification('Subscription/sub-ma', 'event-notification', '7', [{ n: 7, focus }]);
    expect((await post('ehr-a', body, bearer(SECRET_MA))).status).toBe(200);
    expect((await post('ehr-a', body, bearer(SECRET_MA))).status).toBe(200);
    const events = (await jobs()).filter((j) => j.payload.kind === 'event' && j.payload.eventNumber === 7);
    expect(events).toHaveLength(1);
    expect(events[0].payload).toMatchObject({
      topic: 'MedicationAdministration',
      focus,
      eventsSinceSubscriptionStart: 7,
    });
  });

  test('a multi-event notification with a full resource carries it to the job', async () => {
    const focus = 'http://127.0.0.1:9/fhir/MedicationAdministration/ma-9';
    const body = notification('Subscription/sub-ma', 'event-notification', '9', [{ n: 8 }, { n: 9, focus }]);
    body.entry![1] = {
      fullUrl: focus,
      resource: {
        resourceType: 'MedicationAdministration',
        id: 'ma-9',
        status: 'completed',
        subject: { reference: 'Patient/p' },
        medicationCodeableConcept: { text: 'x' },
        effectiveDateTime: '2026-11-26T10:00:00Z',
      },
      request: { method: 'PUT', url: 'MedicationAdministration/ma-9' },
      response: { status: '200' },
    };
    expect((await post('ehr-a', body, bearer(SECRET_MA))).status).toBe(200);
    const events = (await jobs()).filter(
      (j) => j.payload.kind === 'event' && [8, 9].includes(j.payload.eventNumber),
    );
    expect(events.map((j) => j.payload.eventNumber).sort()).toEqual([8, 9]);
    expect(events.find((j) => j.payload.eventNumber === 9).payload.resources[0].id).toBe('ma-9');
    expect(events.find((j) => j.payload.eventNumber === 8).payload.resources).toEqual([]);
  });

  test('classic rest-hook: PUT of the resource, DELETE by path, and an empty ping', async () => {
    const auth = bearer('classic-secret-0123456789');
    const resource = {
      resourceType: 'MedicationAdministration',
      id: 'ma-c1',
      meta: { versionId: '2' },
      status: 'completed',
      subject: { reference: 'Patient/p' },
      medicationCodeableConcept: { text: 'x' },
      effectiveDateTime: '2026-11-26T10:00:00Z',
    };
    expect(
      (await post('ehr-classic', resource, auth, { method: 'PUT', path: '/MedicationAdministration/ma-c1' }))
        .status,
    ).toBe(200);
    expect(
      (await post('ehr-classic', '', auth, { method: 'DELETE', path: '/MedicationAdministration/ma-c1' }))
        .status,
    ).toBe(200);
    expect((await post('ehr-classic', '', { ...auth, 'content-type': '' })).status).toBe(200);
    const mine = (await jobs()).filter((j) => j.payload.connectionId === 'ehr-classic');
    expect(
      mine
        .map((j) =>
          j.payload.kind === 'classic' ? `${j.payload.interaction}:${j.payload.target.id}` : j.payload.kind,
        )
        .sort(),
    ).toEqual(['catch-up', 'delete:ma-c1', 'update:ma-c1']);
  });

  describeShared(['conformance', 'subscriptions'], 'public Backport IG examples', (conformanceDir) => {
    test('the public Backport IG examples are accepted', async () => {
      for (const file of readdirSync(conformanceDir).filter(
        (f) => f.endsWith('_example.json') && /bundle/.test(f),
      )) {
        const text = readFileSync(path.join(conformanceDir, file), 'utf8');
        const subscription = /"reference"\s*:\s*"([^"]*Subscription\/[^"]+)"/.exec(text)?.[1] ?? '';
        const id = subscription.split('/').pop() ?? '';
        const secret = `conformance-${id}-secret`;
        await updateRecord(
          server.running.store,
          'sandbox',
          connection('ehr-a'),
          'Encounter',
          'http://x/notify',
          (r) => ({
            ...r,
            ehrSubscriptionId: id,
            secretSha256: sha256Hex(secret),
          }),
        );
        // Dripline's subscription manager invalidates the receiver's cache when it changes a secret; do the same.
        server.running.ingest.directory.invalidate('ehr-a');
        const res = await post('ehr-a', text, bearer(secret));
        expect({ file, status: res.status }).toEqual({ file, status: 200 });
      }
    });
  });
});

describe('bad input', () => {
  test.each([
    ['malformed JSON', '{"resourceType": "Bundle",', {}, 400],
    [
      'unknown shape (transaction bundle)',
      { resourceType: 'Bundle', type: 'transaction', entry: [] },
      {},
      400,
    ],
    [
      'history bundle without a status',
      { resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'Patient' } }] },
      {},
      400,
    ],
    ['wrong content type', '<Bundle/>', { 'content-type': 'application/xml' }, 415],
    ['oversize body', { resourceType: 'Bundle', type: 'history', padding: 'x'.repeat(30000) }, {}, 413],
    ['deep nesting', `{"a":${'['.repeat(100)}${']'.repeat(100)}}`, {}, 400],
  ])('%s', async (_name, body, headers, status) => {
    const before = (await jobs()).length;
    const res = await post('ehr-a', body, { ...bearer(SECRET_MA), ...headers });
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await jobs()).length).toBe(before);
  });

  test('unknown connection 404, wrong method 405', async () => {
    expect((await post('nope', {}, bearer(SECRET_MA))).status).toBe(404);
    const get = await fetch(`${server.url}/ehr/ehr-a/notify`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  test('tenants stay apart: a connection’s jobs belong to its tenant', async () => {
    const body = notification('Subscription/sub-b', 'event-notification', '1', [
      { n: 1, focus: 'http://127.0.0.1:9/fhir/MedicationAdministration/b-1' },
    ]);
    expect((await post('ehr-b', body, bearer(SECRET_OTHER))).status).toBe(200);
    expect((await jobs('clinic-b')).some((j) => j.payload.connectionId === 'ehr-b')).toBe(true);
    expect((await jobs('sandbox')).some((j) => j.payload.connectionId === 'ehr-b')).toBe(false);
  });
});
