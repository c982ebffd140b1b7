/**
 * The `encounter-changed` jobs a stored copy triggers for charge capture: the encounter the copy
 * belongs to, and — for a Medication or Coverage stored after the encounters that use it were
 * coded (a late drug, a late coverage) — those encounters too. Written as batch operations so they
 * are enqueued in the copy's own transaction (./copies.ts). The job builders are pure; only
 * `encountersUsing` reads the store.
 */
import type { MedicationAdministration, Resource } from '@medplum/fhirtypes';
import type { BatchOperation, Store, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { sourceVersionOf } from './copies.ts';
import type { EncounterChangedEvent } from './jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey, hashText } from './jobs.ts';
import { placingEncounter } from './location-filter.ts';

/** At most this many encounters are recomputed for one late Medication or Coverage. */
const RECOMPUTE_LIMIT = 500;

/** The encounter a resource's billing belongs to (the one that places it, too). */
const encounterOf = placingEncounter;

/**
 * Encounters whose charges depend on a resource that is not itself an encounter event: the
 * encounters of the stored administrations of a Medication, and the recent encounters of a
 * Coverage's beneficiary (charge capture waits a few attempts for these, then codes without them).
 */
export async function encountersUsing(store: Store, tenant: TenantId, resource: Resource): Promise<string[]> {
  const found = new Set<string>();
  if (resource.resourceType === 'Medication' && resource.id) {
    const administrations = await searchAll<MedicationAdministration>(
      store,
      tenant,
      'MedicationAdministration',
      [{ code: 'medication', kind: 'reference', values: [`Medication/${resource.id}`] }],
      RECOMPUTE_LIMIT,
    );
    for (const administration of administrations) {
      const encounter = encounterOf(administration);
      if (encounter) {
        found.add(encounter);
      }
    }
  } else if (resource.resourceType === 'Coverage') {
    const patient = normalizeReference(resource.beneficiary.reference ?? '');
    if (patient?.startsWith('Patient/')) {
      const page = await store.resources.search(tenant, {
        resourceType: 'Encounter',
        filters: [{ code: 'subject', kind: 'reference', values: [patient] }],
        sort: [{ code: '_lastUpdated', descending: true }],
        count: RECOMPUTE_LIMIT,
        offset: 0,
        total: false,
      });
      for (const encounter of page.resources) {
        found.add(`Encounter/${encounter.id}`);
      }
    }
  }
  return [...found].sort();
}

/** The recomputation of `encounters`, caused by this version of the copy. */
export function recomputeFor(copy: Resource, encounters: readonly string[]): BatchOperation[] {
  if (encounters.length === 0) {
    return [];
  }
  const cause = causeOf(copy);
  return encounters.map((encounter) => encounterChanged(encounter, cause));
}

/**
 * The domain event for one changed copy, written in the copy's own transaction: charge capture
 * recomputes the encounter. Keyed by the EHR version that changed it, so a retry after a crash
 * neither loses nor duplicates it.
 */
export function domainEvent(copy: Resource): BatchOperation[] {
  const encounter = encounterOf(copy);
  if (!encounter) {
    return [];
  }
  return [encounterChanged(encounter, causeOf(copy))];
}

/** `Type/id/_history/<the EHR's version>`, or a hash of the content when the EHR gave none. */
function causeOf(copy: Resource): string {
  const version = sourceVersionOf(copy).versionId ?? hashText(JSON.stringify({ ...copy, meta: undefined }));
  return `${copy.resourceType}/${copy.id ?? ''}/_history/${version}`;
}

function encounterChanged(encounter: string, cause: string): BatchOperation {
  const event: EncounterChangedEvent = { encounter, causes: [cause] };
  return {
    op: 'enqueue',
    job: { queue: ENCOUNTER_CHANGED_QUEUE, key: encounterChangedKey(encounter, cause), payload: event },
  };
}
