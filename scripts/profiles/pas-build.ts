/**
 * Expands scripts/profiles/pas-definitions.ts into StructureDefinitions (profiles/pas/): the base R4
 * snapshot with the PAS cardinalities, fixed values and invariants applied, and a differential of
 * exactly those changes. Called by build.ts (`npm run profiles:build`).
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { baseDefinition, withBaseDefinitions } from './base-definitions.ts';
import { PAS_CANONICAL, PAS_PROFILES } from './pas-definitions.ts';
import type { PasProfileSpec } from './pas-definitions.ts';

const PUBLISHED = '2026-12-04';

function buildPasProfile(spec: PasProfileSpec): StructureDefinition {
  const base = baseDefinition(spec.type);
  const differential: ElementDefinition[] = [];
  const root = spec.type;
  const invariantsOn = new Map<string, NonNullable<PasProfileSpec['invariants']>[number][]>();
  for (const invariant of spec.invariants ?? []) {
    const on = invariant.on ?? root;
    invariantsOn.set(on, [...(invariantsOn.get(on) ?? []), invariant]);
  }
  const seen = new Set<string>();
  const snapshot = (base.snapshot?.element ?? []).map((element) => {
    const id = element.id ?? '';
    const change = spec.elements?.[id];
    const invariants = invariantsOn.get(id);
    if (!change && !invariants) {
      return element;
    }
    seen.add(id);
    const constraint = (invariants ?? []).map((i) => ({
      key: i.key,
      severity: 'error' as const,
      human: i.human,
      expression: i.expression,
      source: `${PAS_CANONICAL}/${spec.id}`,
    }));
    const delta: Omit<ElementDefinition, 'path'> = {
      ...(change?.min !== undefined ? { min: change.min } : {}),
      ...(change?.max !== undefined ? { max: change.max } : {}),
      ...(change?.fixedCode !== undefined ? { fixedCode: change.fixedCode } : {}),
      ...(change?.fixedBoolean !== undefined ? { fixedBoolean: change.fixedBoolean } : {}),
      ...(change?.fixedUri !== undefined ? { fixedUri: change.fixedUri } : {}),
      ...(constraint.length > 0 ? { constraint } : {}),
    };
    differential.push({ ...delta, id, path: element.path ?? id });
    return {
      ...element,
      ...delta,
      ...(constraint.length > 0 ? { constraint: [...(element.constraint ?? []), ...constraint] } : {}),
    };
  });
  const missing = [...Object.keys(spec.elements ?? {}), ...invariantsOn.keys()].filter((id) => !seen.has(id));
  if (missing.length > 0) {
    throw new Error(`${spec.id}: no such element ${missing.join(', ')}`);
  }
  return {
    resourceType: 'StructureDefinition',
    id: spec.id,
    url: `${PAS_CANONICAL}/${spec.id}`,
    version: '2.2.1',
    name: spec.title.replace(/[^A-Za-z0-9]/g, ''),
    title: spec.title,
    status: 'active',
    date: PUBLISHED,
    publisher: 'Dripline (rules of HL7 Da Vinci Prior Authorization Support 2.2.1)',
    description:
      `Dripline's validation profile for ${spec.title}, written from the published rules of Da Vinci PAS 2.2.1 ` +
      `(${spec.source}): cardinalities, fixed values and invariants; X12 value set bindings are not expanded.`,
    fhirVersion: '4.0.1',
    kind: 'resource',
    abstract: false,
    type: spec.type,
    baseDefinition: `http://hl7.org/fhir/StructureDefinition/${spec.type}`,
    derivation: 'constraint',
    differential: { element: differential },
    snapshot: { element: snapshot },
  };
}

/** File name (under profiles/) → text. */
export function buildPasProfiles(): Map<string, string> {
  return withBaseDefinitions(buildPasFiles);
}

function buildPasFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of PAS_PROFILES) {
    files.set(`pas/StructureDefinition-${spec.id}.json`, JSON.stringify(buildPasProfile(spec), null, 2) + '\n');
  }
  return files;
}
