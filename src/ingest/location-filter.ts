/**
 * Which of what an EHR sent belong to the connection's locations: the one rule every ingest path
 * applies (event notifications, classic bodies, `$events`, catch-up searches) before anything is
 * stored, so an encounter elsewhere is never copied, coded or billed. A connection that names no
 * location takes everything.
 *
 * Where a resource happened is where its encounter happened: an Encounter by its own `location`
 * (R4 Encounter.location.location, the Encounter-location search parameter), an administration by
 * its `context` encounter, an order by its `encounter`. Something with no encounter has no place,
 * so it is not this connection's to bill when the connection is bound to locations.
 */
import type { Resource } from '@medplum/fhirtypes';
import { normalizeReference } from '../store/search-index.ts';

/** The encounter ("Encounter/id") that places a resource, if any. */
export function placingEncounter(resource: Resource): string | undefined {
  const ref =
    resource.resourceType === 'Encounter'
      ? `Encounter/${resource.id ?? ''}`
      : resource.resourceType === 'MedicationAdministration'
        ? resource.context?.reference
        : resource.resourceType === 'MedicationRequest'
          ? resource.encounter?.reference
          : undefined;
  const normalized = ref ? normalizeReference(ref) : undefined;
  return normalized?.startsWith('Encounter/') ? normalized : undefined;
}

/** Whether the encounter is at one of `locations` (references in any form: relative, absolute). */
export function encounterAtLocations(encounter: Resource | undefined, locations: readonly string[]): boolean {
  if (encounter?.resourceType !== 'Encounter') {
    return false;
  }
  const allowed = new Set(locations.map((l) => normalizeReference(l) ?? l));
  return (encounter.location ?? []).some((l) =>
    allowed.has(normalizeReference(l.location.reference ?? '') ?? ''),
  );
}

/**
 * The resources that belong to `locations` (all of them when it is empty), in their order.
 * `encounterFor` reads an encounter that did not come along (undefined when it does not exist);
 * each is asked for once per call.
 */
export async function keepInLocations(
  resources: readonly Resource[],
  locations: readonly string[],
  encounterFor: (reference: string) => Promise<Resource | undefined>,
): Promise<{ kept: Resource[]; dropped: number }> {
  if (locations.length === 0) {
    return { kept: [...resources], dropped: 0 };
  }
  const verdicts = new Map<string, boolean>();
  for (const resource of resources) {
    if (resource.resourceType === 'Encounter' && resource.id) {
      verdicts.set(`Encounter/${resource.id}`, encounterAtLocations(resource, locations));
    }
  }
  const kept: Resource[] = [];
  for (const resource of resources) {
    const encounter = placingEncounter(resource);
    if (!encounter) {
      continue;
    }
    let inside = verdicts.get(encounter);
    if (inside === undefined) {
      inside = encounterAtLocations(await encounterFor(encounter), locations);
      verdicts.set(encounter, inside);
    }
    if (inside) {
      kept.push(resource);
    }
  }
  return { kept, dropped: resources.length - kept.length };
}
