/**
 * The `encounter-changed` jobs a stored copy triggers for charge capture: the encounter the copy
 * belongs to, and — for a Medication or Coverage stored after the encounters that use it were
 * coded (a late drug, a late coverage) — those encounters too. Written as batch operations so they
 * are enqueued in the copy's own transaction (./copies.ts). The job builders are pure; only
 * `encountersUsing` reads the store.
 */
import type { MedicationAdministration, Resource } from '@medplum/fhirtypes';
import type { BatchOperation, Store, StoredResource, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { notCodableYet, sourceVersionOf } from './copies.ts';
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

/**
 * Encounters whose charges used what the replaced version `existing` was and the copy no longer
 * is: a Coverage whose beneficiary was corrected leaves the old patient's recent encounters billed
 * to it (encountersUsing finds only the new patient's). Recomputed with the copy's own.
 */
export async function encountersLeft(
  store: Store,
  tenant: TenantId,
  copy: Resource,
  existing: Resource | undefined,
): Promise<string[]> {
  if (copy.resourceType !== 'Coverage' || existing?.resourceType !== 'Coverage') {
    return [];
  }
  const before = normalizeReference(existing.beneficiary.reference ?? '');
  const now = normalizeReference(copy.beneficiary.reference ?? '');
  return before && before !== now ? encountersUsing(store, tenant, existing) : [];
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
 * The domain events for one changed copy, written in the copy's own transaction: charge capture
 * recomputes the encounter — and, for a copy that moved from another encounter (an
 * administration's context corrected), the encounter it left, whose charges it may still hold.
 * `existing` is the version the write replaces (under If-Match), so the move is exact however
 * many versions follow before capture runs. Keyed by the EHR version that changed it, so a retry
 * after a crash neither loses nor duplicates them.
 */
export function domainEvent(copy: Resource, existing?: Resource): BatchOperation[] {
  const encounter = encounterOf(copy);
  const left = existing ? encounterOf(existing) : undefined;
  const cause = causeOf(copy);
  // An encounter's own version replaced, if it could have been coded: the visits coded with it
  // that this version is no longer with are recomputed too (EncounterChangedEvent.replaced).
  const replaced =
    copy.resourceType === 'Encounter' && existing?.meta?.versionId && !notCodableYet(existing)
      ? [`Encounter/${existing.id ?? ''}/_history/${existing.meta.versionId}`]
      : undefined;
  return [
    ...(encounter ? [encounterChanged(encounter, cause, replaced)] : []),
    ...(left && left !== encounter ? [encounterChanged(left, cause)] : []),
  ];
}

/**
 * The domain event of a changed copy — or none while the encounter it belongs to cannot be coded
 * (its copy tagged NOT_CODABLE_YET: no version of it could be, so capture would read it and find
 * nothing to code, and no run of capture can have coded it: four of five changes of a day's visits
 * are before they finish). An encounter's copy decides by its own tag, decided under its write's
 * If-Match (./copies.ts). What belongs to an encounter (an administration, an order) is written
 * with a check of the encounter's version instead: should the encounter change before the copy
 * commits (it finishes), the write fails and is decided again — an administration stored after
 * the finished encounter was coded is always announced. One that moved from another encounter is
 * announced too, with the encounter it left (domainEvent).
 */
export async function domainEventUnlessNotCodable(
  /** The encounter's stored copy (undefined: not stored); a stale one only fails the write's check. */
  storedEncounter: (id: string) => Promise<StoredResource | undefined>,
  copy: Resource,
  existing: Resource | undefined,
): Promise<BatchOperation[]> {
  if (copy.resourceType === 'Encounter') {
    return notCodableYet(copy) ? [] : domainEvent(copy, existing);
  }
  const encounter = encounterOf(copy);
  if (!encounter || (existing && encounterOf(existing) !== encounter)) {
    return domainEvent(copy, existing);
  }
  const id = encounter.slice('Encounter/'.length);
  const stored = await storedEncounter(id);
  if (!stored || !notCodableYet(stored)) {
    return domainEvent(copy);
  }
  return [{ op: 'check', resourceType: 'Encounter', id, versionId: stored.meta.versionId }];
}

/**
 * The encounter's stored copy for `domainEventUnlessNotCodable`, across a copy's write attempts:
 * at the first, as already `known` (stored by the same job, or read ahead with its batch) — a stale
 * copy only fails the write's version check — and at every retry as the store holds it now.
 */
export function storedEncounterLookup(
  known: (id: string) => StoredResource | undefined,
  read: (id: string) => Promise<StoredResource | undefined>,
): (id: string) => Promise<StoredResource | undefined> {
  let calls = 0;
  return async (id) => (calls++ === 0 ? known(id) : undefined) ?? (await read(id));
}

/** `Type/id/_history/<the EHR's version>`, or a hash of the content when the EHR gave none. */
function causeOf(copy: Resource): string {
  const version = sourceVersionOf(copy).versionId ?? hashText(JSON.stringify({ ...copy, meta: undefined }));
  return `${copy.resourceType}/${copy.id ?? ''}/_history/${version}`;
}

/**
 * The charge capture events of copies committed in one transaction, one job per encounter: its
 * causes and replaced versions are those of every event about it (capture runs an encounter once
 * for all its jobs anyway: LeaseOptions.siblingsBy). A lone cause keeps the key it has alone; more
 * are keyed by all of them, so a transaction retried whole writes the same job again.
 */
export function mergedEncounterChanges(events: readonly EncounterChangedEvent[]): BatchOperation[] {
  const byEncounter = new Map<string, { causes: Set<string>; replaced: Set<string> }>();
  for (const event of events) {
    const merged = byEncounter.get(event.encounter) ?? { causes: new Set(), replaced: new Set() };
    event.causes.forEach((cause) => merged.causes.add(cause));
    event.replaced?.forEach((version) => merged.replaced.add(version));
    byEncounter.set(event.encounter, merged);
  }
  return [...byEncounter].map(([encounter, merged]) => {
    const causes = [...merged.causes].sort();
    const replaced = [...merged.replaced].sort();
    return enqueued({ encounter, causes, ...(replaced.length > 0 ? { replaced } : {}) });
  });
}

function encounterChanged(encounter: string, cause: string, replaced?: readonly string[]): BatchOperation {
  return enqueued({ encounter, causes: [cause], ...(replaced ? { replaced } : {}) });
}

/** The job of an event: keyed by its one cause, or by all of them when it carries several. */
function enqueued(event: EncounterChangedEvent): BatchOperation {
  const [only, ...more] = event.causes;
  const key =
    only !== undefined && more.length === 0
      ? encounterChangedKey(event.encounter, only)
      : encounterChangedKey(event.encounter, `causes-${hashText(event.causes.join(' '))}`);
  return { op: 'enqueue', job: { queue: ENCOUNTER_CHANGED_QUEUE, key, payload: event } };
}
