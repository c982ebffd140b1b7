/**
 * What Dripline asks an EHR for (topic URLs, filters, payload per connection and topic), how the
 * same plan is expressed in each subscription mode, that its defaults use only FHIR R4 search
 * parameters (the strict sandbox EHR's parser is the judge), and the one location rule.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { Encounter, MedicationAdministration, Resource, Subscription } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { encounterAtLocations, keepInLocations, placingEncounter } from '../../src/ingest/location-filter.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { buildSubscription } from '../../src/ingest/subscription-manager.ts';
import { DEFAULT_TOPIC_URLS, topicPlan } from '../../src/ingest/topics.ts';
import { parseSubscription } from '../../src/sandbox/ehr/subscriptions.ts';

beforeAll(() => {
  loadFhirDefinitions();
});

const A = 'Location/a';
const B = 'Location/b';

function connection(overrides: Partial<EhrConnectionConfig> = {}): EhrConnectionConfig {
  return {
    id: 'ehr',
    fhirBaseUrl: 'https://ehr.example/fhir',
    clientId: 'dripline',
    privateKeyJwk: { kty: 'EC', d: 'x' },
    scope: 'system/*.rs',
    mode: 'backport',
    payload: 'id-only',
    locations: [],
    heartbeatSeconds: 300,
    pollIntervalSeconds: 300,
    ...overrides,
  };
}

const ENDPOINT = 'https://dripline.example/ehr/ehr/notify';
const subscription = (c: EhrConnectionConfig, topic: (typeof INGEST_TOPICS)[number]): any =>
  buildSubscription(c, topic, ENDPOINT, 'secret');
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const filtersOf = (s: any): string[] =>
  (s._criteria?.extension ?? [])
    .filter((e: any) => e.url === `${BACKPORT}/backport-filter-criteria`)
    .map((e: any) => e.valueString);

describe('defaults: today’s topics and payload; locations only where R4 can search them', () => {
  test('rest-hook: administrations unfiltered, encounters at any of the locations in one criteria', () => {
    const c = connection({ mode: 'rest-hook', locations: [A, B] });
    expect(subscription(c, 'MedicationAdministration').criteria).toBe('MedicationAdministration?');
    expect(subscription(c, 'Encounter').criteria).toBe('Encounter?location=Location/a,Location/b');
  });

  test('backport: topic URLs, one location filter (OR of both) on encounters only, payload', () => {
    const c = connection({ mode: 'backport', locations: [A, B] });
    const ma = subscription(c, 'MedicationAdministration');
    const enc = subscription(c, 'Encounter');
    expect(ma.criteria).toBe(DEFAULT_TOPIC_URLS.MedicationAdministration);
    expect(filtersOf(ma)).toEqual([]);
    expect(enc.criteria).toBe(DEFAULT_TOPIC_URLS.Encounter);
    expect(filtersOf(enc)).toEqual(['Encounter?location=Location/a,Location/b']);
    expect(enc.channel._payload.extension[0].valueCode).toBe('id-only');
  });

  test('r5: filterBy on encounters only, one entry with both locations', () => {
    const c = connection({ mode: 'r5', locations: [A, B] });
    expect(subscription(c, 'MedicationAdministration').filterBy).toBeUndefined();
    expect(subscription(c, 'Encounter').filterBy).toEqual([
      { resourceType: 'Encounter', filterParameter: 'location', value: 'Location/a,Location/b' },
    ]);
    expect(subscription(c, 'Encounter').topic).toBe(DEFAULT_TOPIC_URLS.Encounter);
  });

  test.each(['rest-hook', 'backport', 'r5'] as const)(
    '%s: a strict EHR (FHIR R4 search parameters only) accepts both subscriptions',
    (mode) => {
      for (const locations of [[], [A], [A, B]]) {
        for (const topic of INGEST_TOPICS) {
          const parsed = parseSubscription(
            subscription(connection({ mode, locations }), topic) as Subscription,
          );
          expect({ mode, topic, locations, parsed: parsed.ok || parsed.message }).toEqual({
            mode,
            topic,
            locations,
            parsed: true,
          });
        }
      }
    },
  );
});

describe('each connection names its own topics, filters and payload', () => {
  const topics = {
    MedicationAdministration: {
      url: 'https://ehr.example/fhir/SubscriptionTopic/med-admin',
      filters: ['MedicationAdministration?status=completed,in-progress'],
      payload: 'full-resource' as const,
    },
    Encounter: { filters: ['Encounter?class=AMB', 'Encounter?status:not=planned'] },
  };

  test('the plan takes what is named and defaults the rest', () => {
    const c = connection({ topics, locations: [A] });
    expect(topicPlan(c, 'MedicationAdministration')).toEqual({
      topic: 'MedicationAdministration',
      ...topics.MedicationAdministration,
    });
    // Named filters replace the location default (the location rule still applies on ingest).
    expect(topicPlan(c, 'Encounter')).toEqual({
      topic: 'Encounter',
      url: DEFAULT_TOPIC_URLS.Encounter,
      filters: topics.Encounter.filters,
      payload: 'id-only',
    });
  });

  test('backport, r5 and rest-hook express the same plan', () => {
    const backport = subscription(connection({ topics }), 'MedicationAdministration');
    expect(backport.criteria).toBe(topics.MedicationAdministration.url);
    expect(filtersOf(backport)).toEqual(topics.MedicationAdministration.filters);
    expect(backport.channel._payload.extension[0].valueCode).toBe('full-resource');
    const r5 = subscription(connection({ mode: 'r5', topics }), 'Encounter');
    expect(r5.filterBy).toEqual([
      { resourceType: 'Encounter', filterParameter: 'class', value: 'AMB' },
      { resourceType: 'Encounter', filterParameter: 'status', modifier: 'not', value: 'planned' },
    ]);
    expect(r5.content).toBe('id-only');
    expect(subscription(connection({ mode: 'r5', topics }), 'MedicationAdministration').content).toBe(
      'full-resource',
    );
    expect(subscription(connection({ mode: 'rest-hook', topics }), 'Encounter').criteria).toBe(
      'Encounter?class=AMB&status:not=planned',
    );
  });

  test('config: topics and gapGraceSeconds are read and validated per connection', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dripline-topics-'));
    const write = (conn: Record<string, unknown>): string => {
      const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
      const base = { id: 'ehr', fhirBaseUrl: 'https://ehr.example/fhir', clientId: 'd' };
      writeFileSync(
        file,
        JSON.stringify({
          tenants: [
            {
              id: 't',
              name: 'T',
              connections: [{ ...base, privateKeyJwk: { kty: 'EC', d: 'x' }, mode: 'backport', ...conn }],
            },
          ],
        }),
      );
      return file;
    };
    const config = loadConfig({ DRIPLINE_CONFIG: write({ topics, gapGraceSeconds: 30 }) });
    const read = config.tenants[0]?.connections[0];
    expect(read?.topics).toEqual(topics);
    expect(read?.gapGraceSeconds).toBe(30);
    expect(() =>
      loadConfig({ DRIPLINE_CONFIG: write({ topics: { Encounter: { filters: ['Patient?name=x'] } } }) }),
    ).toThrow(/topics\.Encounter\.filters\.0/);
    expect(() =>
      loadConfig({ DRIPLINE_CONFIG: write({ topics: { Condition: { url: 'https://x/t' } } }) }),
    ).toThrow(/topics\.Condition/);
    expect(() => loadConfig({ DRIPLINE_CONFIG: write({ gapGraceSeconds: -1 }) })).toThrow(/gapGraceSeconds/);
  });
});

describe('the location rule', () => {
  const encounter = (id: string, ...locations: string[]): Encounter => ({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { code: 'AMB' },
    location: locations.map((reference) => ({ location: { reference } })),
  });
  const administration = (id: string, context?: string): MedicationAdministration => ({
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    medicationCodeableConcept: { text: 'x' },
    subject: { reference: 'Patient/p' },
    effectiveDateTime: '2026-11-26T10:00:00Z',
    ...(context ? { context: { reference: context } } : {}),
  });

  test('an encounter is placed by its locations, an administration by its encounter', () => {
    expect(placingEncounter(administration('m', 'https://ehr.example/fhir/Encounter/e1'))).toBe(
      'Encounter/e1',
    );
    expect(placingEncounter(encounter('e2'))).toBe('Encounter/e2');
    expect(placingEncounter(administration('m'))).toBeUndefined();
    expect(encounterAtLocations(encounter('e', 'https://ehr.example/fhir/Location/b'), [A, B])).toBe(true);
    expect(encounterAtLocations(encounter('e', 'Location/c'), [A, B])).toBe(false);
    expect(encounterAtLocations(undefined, [A])).toBe(false);
  });

  test('keeps what happened at one of the locations, reading each missing encounter once', async () => {
    const ehr: Record<string, Resource> = {
      'Encounter/here': encounter('here', B),
      'Encounter/away': encounter('away', 'Location/home'),
    };
    const reads: string[] = [];
    const lookup = (reference: string): Promise<Resource | undefined> => {
      reads.push(reference);
      return Promise.resolve(ehr[reference]);
    };
    const given: Resource[] = [
      administration('m1', 'Encounter/here'),
      administration('m2', 'Encounter/away'),
      administration('m3', 'Encounter/here'),
      administration('m4', 'Encounter/gone'),
      administration('m5'),
      encounter('carried', A),
      administration('m6', 'Encounter/carried'),
    ];
    const { kept, dropped } = await keepInLocations(given, [A, B], lookup);
    expect(kept.map((r) => r.id)).toEqual(['m1', 'm3', 'carried', 'm6']);
    expect(dropped).toBe(3);
    expect(reads.sort()).toEqual(['Encounter/away', 'Encounter/gone', 'Encounter/here']);
    const all = await keepInLocations(given, [], lookup);
    expect(all).toEqual({ kept: given, dropped: 0 });
  });
});
