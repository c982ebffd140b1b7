/**
 * The pure parts of the sandbox EHR's subscriptions: reading a Subscription, filter strings,
 * matching, and rendering notifications in the Backport IG and R5 shapes.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../../src/fhir/definitions.ts';
import type { NotificationEventRecord } from '../../../src/sandbox/ehr/notification-render.ts';
import { renderNotification } from '../../../src/sandbox/ehr/notification-render.ts';
import type { SubscriptionSpec } from '../../../src/sandbox/ehr/subscriptions.ts';
import {
  matchesSubscription,
  parseFilterString,
  parseSubscription,
  relativeReference,
} from '../../../src/sandbox/ehr/subscriptions.ts';
import { backportSubscription, ENCOUNTER_TOPIC, MA_TOPIC } from './helpers.ts';

beforeAll(() => {
  loadFhirDefinitions();
});

const BASE = 'https://ehr.example/fhir';

describe('parseSubscription', () => {
  test('backport extensions: filters, content, heartbeat, max-count, headers', () => {
    const parsed = parseSubscription(
      backportSubscription({
        endpoint: 'https://dripline.example/hook',
        content: 'full-resource',
        filters: ['MedicationAdministration?context=Encounter/a,Encounter/b&patient=Patient/1'],
        heartbeatSeconds: 60,
        maxCount: 20,
        headers: ['Authorization: Bearer a:b'],
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      spec: {
        shape: 'backport',
        topic: MA_TOPIC,
        resourceType: 'MedicationAdministration',
        filters: [
          { code: 'context', values: ['Encounter/a', 'Encounter/b'] },
          { code: 'patient', values: ['Patient/1'] },
        ],
        endpoint: 'https://dripline.example/hook',
        headers: [['Authorization', 'Bearer a:b']],
        content: 'full-resource',
        payloadMimeType: 'application/fhir+json',
        heartbeatPeriodSeconds: 60,
        maxCount: 20,
      },
    });
  });

  test('classic criteria, r5 extension, and refusals', () => {
    const classic = parseSubscription({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'x',
      criteria: 'Encounter?patient=Patient/1',
      channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1/h' },
    });
    expect(classic.ok && classic.spec.shape).toBe('classic');
    expect(classic.ok && classic.spec.content).toBe('empty');
    const r5 = parseSubscription(backportSubscription({ endpoint: 'http://127.0.0.1/h', shape: 'r5' }));
    expect(r5.ok && r5.spec.shape).toBe('r5');
    const refuse = (s: any): string => {
      const r = parseSubscription(s);
      return r.ok ? 'ok' : r.message;
    };
    expect(refuse({ ...backportSubscription({ endpoint: 'ftp://x/h' }) })).toMatch(/http/);
    expect(refuse(backportSubscription({ endpoint: 'http://x/h', headers: ['no colon'] }))).toMatch(
      /Name: value/,
    );
    expect(refuse(backportSubscription({ endpoint: 'http://x/h', filters: ['bogus-param=1'] }))).toMatch(
      /unsupported filter/,
    );
  });

  test('filters and classic criteria may use only FHIR R4 search parameters of the type', () => {
    const refuse = (s: any): string => {
      const r = parseSubscription(s);
      return r.ok ? 'ok' : r.message;
    };
    const classic = (criteria: string): any => ({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'x',
      criteria,
      channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1/h' },
    });
    // R4 MedicationAdministration has no `location` (nor `encounter`) search parameter.
    expect(refuse(classic('MedicationAdministration?location=Location/a'))).toMatch(
      /"location": not a FHIR R4 search parameter of MedicationAdministration/,
    );
    expect(refuse(classic('MedicationAdministration?encounter=Encounter/a'))).toMatch(/not a FHIR R4/);
    expect(
      refuse(
        backportSubscription({
          endpoint: 'http://x/h',
          filters: ['MedicationAdministration?location=Location/a'],
        }),
      ),
    ).toMatch(/not a FHIR R4 search parameter/);
    expect(refuse(classic('MedicationAdministration?context=Encounter/a&_lastUpdated=gt2026-01-01'))).toBe(
      'ok',
    );
    expect(refuse(classic('Encounter?location=Location/a,Location/b'))).toBe('ok');
    expect(refuse(classic('MedicationAdministration?'))).toBe('ok');
  });
});

describe('filters', () => {
  test('accepted forms', () => {
    expect(parseFilterString('Encounter?patient=Patient/1', 'Encounter')).toEqual({
      ok: true,
      clauses: [{ code: 'patient', values: ['Patient/1'] }],
    });
    expect(parseFilterString('Encounter.patient=Patient/123', 'Encounter')).toEqual({
      ok: true,
      clauses: [{ code: 'patient', values: ['Patient/123'] }],
    });
    expect(parseFilterString('status=finished', 'Encounter')).toEqual({
      ok: true,
      clauses: [{ code: 'status', values: ['finished'] }],
    });
    expect(parseFilterString('Patient?name=x', 'Encounter').ok).toBe(false);
  });

  test('references compare by Type/id whatever their form', () => {
    expect(relativeReference('https://ehr.example/fhir/Location/abc')).toBe('Location/abc');
    expect(relativeReference('Location/abc/_history/2')).toBe('Location/abc');
    expect(relativeReference('abc', 'Location')).toBe('Location/abc');
  });

  test('values of a filter are OR-ed, filters AND-ed (Backport IG: logical AND)', async () => {
    const encounter: Resource = {
      resourceType: 'Encounter',
      id: 'e1',
      status: 'in-progress',
      class: { code: 'AMB' },
      location: [{ location: { reference: 'https://ehr.example/fhir/Location/suite' } }],
    };
    const ma: Resource = {
      resourceType: 'MedicationAdministration',
      id: 'm1',
      status: 'completed',
      medicationCodeableConcept: { text: 'x' },
      subject: { reference: 'Patient/p1' },
      context: { reference: 'Encounter/e1' },
      effectiveDateTime: '2026-11-26T10:00:00Z',
    };
    const ctx = { resolve: () => Promise.resolve(undefined) };
    const spec = (filters: SubscriptionSpec['filters'], topic = MA_TOPIC): SubscriptionSpec => ({
      shape: 'backport',
      topic,
      resourceType: topic === MA_TOPIC ? 'MedicationAdministration' : 'Encounter',
      filters,
      endpoint: 'http://x',
      headers: [],
      content: 'empty',
    });
    const matches = (filters: SubscriptionSpec['filters'], resource: Resource = ma, topic = MA_TOPIC) =>
      matchesSubscription(spec(filters, topic), resource, 'create', ctx);
    expect(await matches([{ code: 'context', values: ['Encounter/e1'] }])).toBe(true);
    expect(await matches([{ code: 'context', values: ['Encounter/e2'] }])).toBe(false);
    expect(await matches([{ code: 'context', values: ['Encounter/e2', 'Encounter/e1'] }])).toBe(true);
    expect(
      await matches([
        { code: 'context', values: ['Encounter/e1'] },
        { code: 'patient', values: ['p1'] },
      ]),
    ).toBe(true);
    expect(
      await matches([
        { code: 'context', values: ['Encounter/e1'] },
        { code: 'patient', values: ['Patient/p2'] },
      ]),
    ).toBe(false);
    // Two filters on the same parameter are AND-ed too: one value each means both must hold.
    expect(
      await matches([
        { code: 'context', values: ['Encounter/e1'] },
        { code: 'context', values: ['Encounter/e2'] },
      ]),
    ).toBe(false);
    expect(await matches([{ code: 'status', values: ['completed'] }])).toBe(true);
    expect(await matches([{ code: 'status', values: ['stopped'] }])).toBe(false);
    expect(await matches([], ma, ENCOUNTER_TOPIC)).toBe(false);
    const location = (values: string[]) =>
      matches([{ code: 'location', values }], encounter, ENCOUNTER_TOPIC);
    expect(await location(['Location/suite'])).toBe(true);
    expect(await location(['Location/other', 'Location/suite'])).toBe(true);
    expect(await location(['Location/other'])).toBe(false);
  });
});

describe('renderNotification', () => {
  let n = 0;
  const newId = (): string => `id-${++n}`;
  const event: NotificationEventRecord = {
    eventNumber: 7,
    timestamp: '2026-11-26T15:00:00.000Z',
    interaction: 'update',
    focus: { resourceType: 'Encounter', id: 'e1', versionId: 'v2' },
    resource: {
      resourceType: 'Encounter',
      id: 'e1',
      status: 'finished',
      class: { code: 'AMB' },
      meta: { versionId: 'v2' },
    },
  };
  const base = {
    fhirBaseUrl: BASE,
    subscriptionId: 's1',
    topic: ENCOUNTER_TOPIC,
    status: 'active' as const,
    timestamp: '2026-11-26T15:00:01.000Z',
    newId,
  };

  test('handshake mirrors the IG example', () => {
    const bundle = renderNotification({
      ...base,
      status: 'requested',
      type: 'handshake',
      eventsSinceSubscriptionStart: 0,
      content: 'id-only',
    });
    expect(bundle.type).toBe('history');
    expect(bundle.meta?.profile).toEqual([
      'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4',
    ]);
    expect(bundle.entry).toHaveLength(1);
    const [entry] = bundle.entry ?? [];
    expect(entry?.fullUrl).toMatch(/^urn:uuid:/);
    expect(entry?.request).toEqual({ method: 'GET', url: `${BASE}/Subscription/s1/$status` });
    expect(entry?.response).toEqual({ status: '200' });
    expect((entry?.resource as any).parameter).toEqual([
      { name: 'subscription', valueReference: { reference: `${BASE}/Subscription/s1` } },
      { name: 'topic', valueCanonical: ENCOUNTER_TOPIC },
      { name: 'status', valueCode: 'requested' },
      { name: 'type', valueCode: 'handshake' },
      { name: 'events-since-subscription-start', valueString: '0' },
    ]);
  });

  test('full-resource event: focus part and the resource entry with request/response', () => {
    const bundle = renderNotification({
      ...base,
      type: 'event-notification',
      eventsSinceSubscriptionStart: 7,
      events: [event],
      content: 'full-resource',
    });
    const params = (bundle.entry?.[0]?.resource as any).parameter;
    expect(params.at(-1)).toEqual({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: '7' },
        { name: 'timestamp', valueInstant: '2026-11-26T15:00:00.000Z' },
        { name: 'focus', valueReference: { reference: `${BASE}/Encounter/e1` } },
      ],
    });
    expect(bundle.entry?.[1]).toEqual({
      fullUrl: `${BASE}/Encounter/e1`,
      resource: event.resource,
      request: { method: 'PUT', url: 'Encounter/e1' },
      response: { status: '200', etag: 'W/"v2"' },
    });
  });

  test('query-status is a searchset; r5 is a subscription-notification with SubscriptionStatus', () => {
    const status = renderNotification({
      ...base,
      status: 'error',
      type: 'query-status',
      eventsSinceSubscriptionStart: 3,
      content: 'empty',
      errors: [{ text: 'boom' }],
    });
    expect(status.type).toBe('searchset');
    expect(status.total).toBe(1);
    const params = (status.entry?.[0]?.resource as any).parameter;
    expect(params.find((p: any) => p.name === 'topic')).toBeUndefined(); // empty content: no topic
    expect(params.find((p: any) => p.name === 'error')).toEqual({
      name: 'error',
      valueCodeableConcept: { text: 'boom' },
    });

    const r5 = renderNotification({
      ...base,
      shape: 'r5',
      type: 'event-notification',
      eventsSinceSubscriptionStart: 7,
      events: [event],
      content: 'empty',
    }) as any;
    expect(r5.type).toBe('subscription-notification');
    expect(r5.entry).toHaveLength(1);
    expect(r5.entry[0].resource).toEqual({
      resourceType: 'SubscriptionStatus',
      id: expect.any(String),
      status: 'active',
      type: 'event-notification',
      eventsSinceSubscriptionStart: '7',
      notificationEvent: [{ eventNumber: '7', timestamp: '2026-11-26T15:00:00.000Z' }],
      subscription: { reference: `${BASE}/Subscription/s1` },
      topic: ENCOUNTER_TOPIC,
    });
  });
});
