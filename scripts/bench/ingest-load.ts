/**
 * bench:ingest's workload and load generator. The generator runs in a worker thread started on this
 * file (its own event loop, like bench:http's autocannon), with keep-alive HTTP/1.1 connections of
 * the lean client ./raw-http.ts (requests prepared before the first send); the main thread
 * (./ingest.ts) seeds the EHR with the same administrations.
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort } from 'node:worker_threads';
import type { Bundle, Encounter, MedicationAdministration } from '@medplum/fhirtypes';
import { TOPIC_ENCOUNTER, TOPIC_MEDICATION_ADMINISTRATION } from '../../src/contract/canonical.ts';
import { preparePost, RawConnection } from './raw-http.ts';

export const TENANT = 'bench';
export const PATIENTS = 50;
export const MEDICATIONS = 10;

/**
 * The charge-capture phase's administrations start with this prefix: each is its own visit (an
 * Encounter of its own, one infliximab infusion, the patient's visit that day), as an infusion
 * clinic's day is made, so charge capture codes a visit of realistic size. The other phases' 50
 * encounters gather thousands of administrations each: a load for ingest alone, which no clinic's
 * visit looks like.
 */
export const VISIT_PREFIX = 'ma-visit';
/** The visits' drug: infliximab 100 mg vial (J1745, its NDC in the sandbox's drug table). */
export const VISIT_MEDICATION = {
  resourceType: 'Medication' as const,
  id: 'med-infliximab',
  code: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '57894-0030-01' }] },
};

/** The day (YYYY-MM-DD) of visit `i`: one visit per patient a day, going back from 2026-11-26. */
function visitDay(i: number): string {
  return new Date(Date.UTC(2026, 10, 26) - Math.floor(i / PATIENTS) * 86_400_000).toISOString().slice(0, 10);
}

/** Visit `i` of the charge-capture phase `prefix`: an office visit, finished. */
export function visitEncounter(prefix: string, i: number): Encounter & { id: string } {
  const day = visitDay(i);
  return officeEncounter(`${prefix}-enc-${i}`, `pat-${i % PATIENTS}`, 'finished', {
    start: `${day}T08:00:00Z`,
    end: `${day}T12:00:00Z`,
  });
}

/** An office visit (place of service 11: the setting the administration codes follow). */
export function officeEncounter(
  id: string,
  patient: string,
  status: Encounter['status'],
  period: NonNullable<Encounter['period']>,
): Encounter & { id: string } {
  return {
    resourceType: 'Encounter',
    id,
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [
      {
        coding: [
          {
            system: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
            code: '11',
          },
        ],
      },
    ],
    subject: { reference: `Patient/${patient}` },
    period,
  };
}

export type Payload = 'full-resource' | 'id-only';

export interface LoadSpec {
  readonly url: string;
  readonly secret: string;
  readonly subscriptionUrl: string;
  readonly fhirBaseUrl: string;
  readonly payload: Payload;
  readonly prefix: string;
  readonly count: number;
  readonly firstEvent: number;
  readonly concurrency: number;
  /** Open loop at this many per second; 0 = closed loop. */
  readonly rate: number;
  /**
   * The notifications' focuses when not `<prefix>-<i>` administrations: `ids` of `focusType`
   * (the day-shaped phase's waves, ./ingest-day-shape.ts; id-only). `count` is then ids.length.
   */
  readonly focus?: {
    readonly type: 'Encounter' | 'MedicationAdministration';
    readonly ids: readonly string[];
  };
}

export interface LoadResult {
  /** Date.now() at each send, by index. */
  readonly sentAt: number[];
  /** Send → complete response, ms, by index. */
  readonly latency: number[];
  readonly statuses: Record<string, number>;
  readonly errors: string[];
  readonly firstSend: number;
  readonly lastAck: number;
}

export function administration(prefix: string, i: number): MedicationAdministration & { id: string } {
  const patient = i % PATIENTS;
  if (prefix.startsWith(VISIT_PREFIX)) {
    const day = visitDay(i);
    return {
      resourceType: 'MedicationAdministration',
      id: `${prefix}-${i}`,
      meta: { versionId: '1', lastUpdated: `${day}T11:00:00.000Z` },
      status: 'completed',
      medicationReference: { reference: `Medication/${VISIT_MEDICATION.id}` },
      subject: { reference: `Patient/pat-${patient}` },
      context: { reference: `Encounter/${prefix}-enc-${i}` },
      effectivePeriod: { start: `${day}T09:00:00Z`, end: `${day}T11:00:00Z` },
      performer: [{ actor: { reference: 'Practitioner/nurse-1' } }],
      dosage: {
        route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008', display: 'Intravenous' }] },
        dose: { value: 500, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
      },
    };
  }
  return {
    resourceType: 'MedicationAdministration',
    id: `${prefix}-${i}`,
    meta: { versionId: '1', lastUpdated: '2026-11-26T10:00:00.000Z' },
    status: 'completed',
    medicationReference: { reference: `Medication/med-${i % MEDICATIONS}` },
    subject: { reference: `Patient/pat-${patient}` },
    context: { reference: `Encounter/enc-${patient}` },
    effectivePeriod: { start: '2026-11-26T09:00:00Z', end: '2026-11-26T10:00:00Z' },
    performer: [{ actor: { reference: 'Practitioner/nurse-1' } }],
    dosage: {
      route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008', display: 'Intravenous' }] },
      dose: { value: 250, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
      rateQuantity: { value: 125, unit: 'mL/h', system: 'http://unitsofmeasure.org', code: 'mL/h' },
    },
  };
}

/** A Backport IG event-notification with one event (as the sandbox EHR renders them). */
export function notificationBody(spec: LoadSpec, i: number): string {
  const type = spec.focus?.type ?? 'MedicationAdministration';
  const resource = spec.focus ? undefined : administration(spec.prefix, i);
  const id = spec.focus ? (spec.focus.ids[i] ?? '') : (resource?.id ?? '');
  const eventNumber = spec.firstEvent + i;
  const focus = `${spec.fhirBaseUrl}/${type}/${id}`;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: '2026-11-26T10:00:00Z',
    entry: [
      {
        fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(eventNumber).padStart(12, '0')}`,
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: spec.subscriptionUrl } },
            {
              name: 'topic',
              valueCanonical: type === 'Encounter' ? TOPIC_ENCOUNTER : TOPIC_MEDICATION_ADMINISTRATION,
            },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(eventNumber) },
                { name: 'timestamp', valueInstant: '2026-11-26T10:00:00Z' },
                { name: 'focus', valueReference: { reference: focus } },
              ],
            },
          ],
        },
        request: { method: 'GET', url: `${spec.subscriptionUrl}/$status` },
        response: { status: '200' },
      },
      {
        fullUrl: focus,
        ...(spec.payload === 'full-resource' && resource ? { resource } : {}),
        request: { method: 'PUT', url: `${type}/${id}` },
        response: { status: '200' },
      },
    ],
  };
  return JSON.stringify(bundle);
}

/** The load generator (worker thread): sends spec.count notifications and times each. */
async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const target = new URL(spec.url);
  const requests = Array.from({ length: spec.count }, (_, i) =>
    preparePost(
      target,
      { 'content-type': 'application/fhir+json', authorization: `Bearer ${spec.secret}` },
      Buffer.from(notificationBody(spec, i)),
    ),
  );
  // One connection per sender: a sender waits for its answer before it sends again.
  const idle = Array.from({ length: spec.concurrency }, () => new RawConnection(target));
  const connections = [...idle];
  const sentAt = new Array<number>(spec.count).fill(0);
  const latency = new Array<number>(spec.count).fill(0);
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  let lastAck = 0;
  const send = async (i: number): Promise<void> => {
    const connection = idle.pop();
    if (!connection) {
      throw new Error('more requests in flight than senders');
    }
    sentAt[i] = Date.now();
    const t0 = performance.now();
    try {
      const status = await connection.send(requests[i] as Buffer);
      latency[i] = performance.now() - t0;
      lastAck = Date.now();
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    } catch (err) {
      latency[i] = performance.now() - t0;
      if (errors.length < 10) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
      statuses['error'] = (statuses['error'] ?? 0) + 1;
    } finally {
      idle.push(connection);
    }
  };

  const firstSend = Date.now();
  let next = 0;
  if (spec.rate <= 0) {
    const lane = async (): Promise<void> => {
      while (next < spec.count) {
        await send(next++);
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, lane));
  } else {
    // Open loop: notification i is due at i / rate; a due one waits only for a free slot.
    const start = performance.now();
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const pending: Promise<void>[] = [];
    while (next < spec.count) {
      const due = start + (next * 1000) / spec.rate;
      const wait = due - performance.now();
      if (wait > 1) {
        await new Promise((r) => setTimeout(r, wait));
      }
      while (inFlight >= spec.concurrency) {
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      inFlight++;
      pending.push(
        send(next++).then(() => {
          inFlight--;
          wake?.();
        }),
      );
    }
    await Promise.all(pending);
  }
  for (const connection of connections) {
    connection.close();
  }
  return { sentAt, latency, statuses, errors, firstSend, lastAck };
}

// The load generator thread (./ingest-send.ts): one for the whole run, sending each batch it is
// given in turn, so its start and its JIT warm-up are not paid again by every batch.
if (!isMainThread) {
  parentPort?.on('message', (spec: LoadSpec) => {
    generateLoad(spec).then(
      (result) => parentPort?.postMessage({ result }),
      (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
