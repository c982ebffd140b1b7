/**
 * AuditEvents for PHI read outside the FHIR repository (work queues, X12 renderings, batch files):
 * the same shape as the repository's (src/fhir/audit.ts), written before the answer leaves.
 */
import type { Claim } from '@medplum/fhirtypes';
import type { Store, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import type { AuditedInteraction } from './audit.ts';
import { buildAuditEvent, newAuditEventId } from './audit.ts';

export interface AccessRecord {
  readonly clientId: string;
  /** The person (the billers' app): see AuditInput.user. */
  readonly user?: { readonly reference: string; readonly display?: string };
  readonly requestId?: string;
  readonly interaction: AuditedInteraction;
  /** Resources read, as "Type/id". */
  readonly resources: readonly string[];
  /** Patients they concern, as "Patient/id" (for claims, see `patientsOfClaims`). */
  readonly patients: readonly string[];
  /** What was asked, e.g. "api/claims/worklist?state=held". */
  readonly query?: string;
}

export async function recordAccess(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  access: AccessRecord,
  options: { publicUrl: string; now?: Date },
): Promise<void> {
  const audit = buildAuditEvent({
    id: newAuditEventId(),
    now: options.now ?? new Date(),
    interaction: access.interaction,
    outcome: '0',
    clientId: access.clientId,
    ...(access.user ? { user: access.user } : {}),
    ...(access.requestId ? { requestId: access.requestId } : {}),
    resources: access.resources,
    patients: access.patients,
    ...(access.query !== undefined ? { query: access.query } : {}),
    publicUrl: options.publicUrl,
  });
  await store.resources.create(tenant, audit, { id: audit.id });
}

/** The patients of stored claims (by id), as "Patient/id", distinct. */
export async function patientsOfClaims(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  claimIds: readonly string[],
): Promise<string[]> {
  const patients = new Set<string>();
  for (let i = 0; i < claimIds.length; i += 500) {
    const ids = claimIds.slice(i, i + 500);
    const claims = await searchAll<Claim>(store, tenant, 'Claim', [
      { code: '_id', kind: 'token', values: ids.map((value) => ({ value })) },
    ]);
    for (const claim of claims) {
      const patient = normalizeReference(claim.patient.reference ?? '');
      if (patient?.startsWith('Patient/')) {
        patients.add(patient);
      }
    }
  }
  return [...patients].sort();
}
