/**
 * What starts an eligibility check (issue 13, item 1):
 * - an order received from the EHR (MedicationRequest, or a ServiceRequest for hydration or home
 *   nursing), active or in draft: a check now, asked only when no answer is fresh;
 * - an Encounter that has arrived or is in progress: the same;
 * - an Encounter planned for a later day: a check on the day before the visit (from 06:00 in the
 *   tenant's time zone), asked whatever answer came before that day;
 * - a Coverage stored or changed: a check now when no answer given since the change is fresh;
 * - on demand (API, CLI): always asked.
 * Each trigger is a durable job, enqueued in the same transaction as the copy that caused it
 * (keyed by the copy's EHR version, so the same event twice is one job); the worker (./worker.ts)
 * decides. Pure apart from the clock and the tenants handed in.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { sourceVersionOf } from '../../ingest/copies.ts';
import type { BatchOperation, Store, TenantId } from '../../store/port.ts';
import { normalizeReference } from '../../store/search-index.ts';
import { addDays, localDate, zonedIso } from '../../time/zone.ts';
import type { EligibilityJob } from './check.ts';
import { ELIGIBILITY_QUEUE } from './records.ts';

/** The hour of the day before a visit its check is asked (the payers' business day). */
const PRE_VISIT_MINUTE = 6 * 60;
const ORDER_STATUSES = new Set(['active', 'draft', 'on-hold']);
const HERE_STATUSES = new Set(['arrived', 'triaged', 'in-progress']);

/** The EHR version a copy was stored from, else its own version. */
function versionOf(copy: Resource): string {
  return sourceVersionOf(copy).versionId ?? copy.meta?.versionId ?? 'unversioned';
}

function patientOf(copy: Resource): string | undefined {
  const reference =
    copy.resourceType === 'Coverage'
      ? copy.beneficiary.reference
      : copy.resourceType === 'Encounter' ||
          copy.resourceType === 'MedicationRequest' ||
          copy.resourceType === 'ServiceRequest'
        ? copy.subject?.reference
        : undefined;
  const normalized = normalizeReference(reference ?? '');
  return normalized?.startsWith('Patient/') ? normalized : undefined;
}

function enqueue(key: string, job: EligibilityJob, runAt?: string): BatchOperation {
  return { op: 'enqueue', job: { queue: ELIGIBILITY_QUEUE, key, payload: job, ...(runAt ? { runAt } : {}) } };
}

/**
 * The eligibility jobs a stored copy starts, written in the copy's own transaction. Tenants with no
 * payers configured check nothing.
 */
export function eligibilityJobsFor(
  tenant: Pick<TenantConfig, 'payers' | 'timeZone' | 'coding'> | undefined,
  copy: Resource,
  now: Date,
): BatchOperation[] {
  if (!tenant || tenant.payers.length === 0 || !copy.id) {
    return [];
  }
  const patient = patientOf(copy);
  if (!patient) {
    return [];
  }
  const cause = `${copy.resourceType}/${copy.id}/_history/${versionOf(copy)}`;
  switch (copy.resourceType) {
    case 'MedicationRequest':
    case 'ServiceRequest':
      if (!ORDER_STATUSES.has(copy.status)) {
        return [];
      }
      return [
        enqueue(`copy|${cause}`, {
          kind: 'check',
          patient,
          mode: 'if-stale',
          reason: 'order received from the EHR',
          ...(copy.resourceType === 'MedicationRequest' ? { order: `MedicationRequest/${copy.id}` } : {}),
        }),
      ];
    case 'Coverage':
      return [
        enqueue(`copy|${cause}`, {
          kind: 'check',
          patient,
          mode: 'if-stale',
          reason: 'coverage changed in the EHR',
        }),
      ];
    case 'Encounter': {
      const zone = tenantCalendarZone(tenant);
      const encounter = `Encounter/${copy.id}`;
      if (HERE_STATUSES.has(copy.status)) {
        return [
          enqueue(`copy|${cause}`, {
            kind: 'check',
            patient,
            mode: 'if-stale',
            reason: 'patient arrived for the visit',
            encounter,
          }),
        ];
      }
      const start = copy.period?.start;
      if (copy.status !== 'planned' || !start) {
        return [];
      }
      const visitDate = localDate(start, zone);
      const today = localDate(now, zone);
      if (visitDate <= today) {
        return [
          enqueue(`copy|${cause}`, {
            kind: 'check',
            patient,
            mode: 'if-stale',
            reason: 'visit planned for today',
            encounter,
          }),
        ];
      }
      const dayBefore = addDays(visitDate, -1);
      const at = zonedIso(dayBefore, PRE_VISIT_MINUTE, zone);
      // A visit moved to another day is a new job; the same day again collapses into the one queued.
      return [
        enqueue(
          `pre-visit|${encounter}|${visitDate}`,
          {
            kind: 'check',
            patient,
            mode: 'pre-visit',
            reason: `visit on ${visitDate}`,
            visitDate,
            encounter,
          },
          Date.parse(at) > now.getTime() ? at : undefined,
        ),
      ];
    }
    default:
      return [];
  }
}

/** Asks for a check of a patient's coverage now (API, CLI): always asked, one job per ask. */
export async function enqueueEligibility(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  patient: string,
  reason: string,
): Promise<{ readonly jobId: string; readonly key: string }> {
  const key = `ask|${patient}|${randomUUID()}`;
  const job: EligibilityJob = { kind: 'check', patient, mode: 'now', reason };
  const result = await store.jobs.enqueue(tenant, { queue: ELIGIBILITY_QUEUE, key, payload: job });
  return { jobId: result.jobId, key };
}
