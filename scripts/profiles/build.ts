/**
 * Expands scripts/profiles/definitions.ts into StructureDefinitions in profiles/.
 *   node scripts/profiles/build.ts          write the files
 *   node scripts/profiles/build.ts --check  exit 1 if the committed files differ
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { baseDefinition, withBaseDefinitions } from './base-definitions.ts';
import { PROFILES_DIR } from '../../src/fhir/definitions.ts';
import { CANONICALS, STRUCTURE_DEFINITION_BASE } from '../../src/contract/index.ts';
import { EXTENSIONS, PROFILES } from './definitions.ts';
import { buildPasProfiles } from './pas-build.ts';
import type { ExtensionSpec, ProfileSpec, SubExtensionSpec } from './definitions.ts';

const PUBLISHED = '2026-11-26';

/** The canonical URL of a definition, which the contract module must declare as published. */
function canonicalOf(id: string): string {
  const url = `${STRUCTURE_DEFINITION_BASE}/${id}`;
  if (!CANONICALS.some((c) => c.url === url && c.published)) {
    throw new Error(`${url} is not declared (published) in src/contract/`);
  }
  return url;
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
    url: canonicalOf(id),
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

/** Base Extension elements, re-rooted at `id` / `path` (a slice of a parent's Extension.extension). */
function rerooted(base: readonly ElementDefinition[], id: string, path: string): Map<string, ElementDefinition> {
  const out = new Map<string, ElementDefinition>();
  for (const element of base) {
    const suffix = (element.id ?? '').slice('Extension'.length);
    out.set(suffix, { ...element, id: `${id}${suffix}`, path: `${path}${(element.path ?? '').slice('Extension'.length)}` });
  }
  return out;
}

/**
 * Snapshot and differential elements of a complex extension: Extension.extension sliced by url,
 * one slice per part, and no value[x].
 */
function complexElements(
  base: readonly ElementDefinition[],
  node: { url: string; short: string; definition: string; min: number; max: string; parts: readonly SubExtensionSpec[] },
  at: { id: string; path: string },
): { snapshot: ElementDefinition[]; differential: ElementDefinition[] } {
  const els = rerooted(base, at.id, at.path);
  const snapshot: ElementDefinition[] = [];
  const differential: ElementDefinition[] = [];
  const root = els.get('');
  const rootChange = { short: node.short, definition: node.definition, min: node.min, max: node.max };
  if (root) {
    snapshot.push({ ...root, ...rootChange });
    differential.push({ id: root.id, path: root.path, ...rootChange });
  }
  const id = els.get('.id');
  if (id) {
    snapshot.push(id);
  }
  const slot = els.get('.extension');
  if (slot) {
    const sliced = { ...slot, min: node.parts.some((p) => p.min > 0) ? 1 : 0 };
    snapshot.push(sliced);
    differential.push({ id: slot.id, path: slot.path, min: sliced.min });
  }
  for (const part of node.parts) {
    const partId = `${at.id}.extension:${part.url}`;
    const partPath = `${at.path}.extension`;
    const built = simpleSlice(base, part, partId, partPath);
    snapshot.push(...built.snapshot);
    differential.push(...built.differential);
  }
  const url = els.get('.url');
  if (url) {
    snapshot.push({ ...url, fixedUri: node.url });
    differential.push({ id: url.id, path: url.path, fixedUri: node.url });
  }
  const value = els.get('.value[x]');
  if (value) {
    snapshot.push({ ...value, min: 0, max: '0' });
    differential.push({ id: value.id, path: value.path, max: '0' });
  }
  return { snapshot, differential };
}

function simpleSlice(
  base: readonly ElementDefinition[],
  part: SubExtensionSpec,
  id: string,
  path: string,
): { snapshot: ElementDefinition[]; differential: ElementDefinition[] } {
  const els = rerooted(base, id, path);
  const baseSlot = base.find((e) => e.id === 'Extension.extension');
  const snapshot: ElementDefinition[] = [];
  const differential: ElementDefinition[] = [];
  const rootChange = { short: part.short, definition: part.definition ?? part.short, min: part.min, max: part.max };
  if (baseSlot) {
    const { slicing: _slicing, ...slot } = baseSlot;
    snapshot.push({ ...slot, id, path, sliceName: part.url, ...rootChange });
  }
  differential.push({ id, path, sliceName: part.url, ...rootChange });
  for (const [suffix, element] of els) {
    switch (suffix) {
      case '':
        break;
      case '.extension':
        // A complex part's own sub-extensions are described, not sliced (validators differ on nested slicing).
        if (part.valueType) {
          snapshot.push({ ...element, max: '0' });
          differential.push({ id: element.id, path: element.path, max: '0' });
        } else {
          snapshot.push({ ...element, min: 1 });
          differential.push({ id: element.id, path: element.path, min: 1 });
        }
        break;
      case '.url':
        snapshot.push({ ...element, fixedUri: part.url });
        differential.push({ id: element.id, path: element.path, fixedUri: part.url });
        break;
      case '.value[x]':
        if (part.valueType) {
          snapshot.push({ ...element, min: 1, type: [{ code: part.valueType }] });
          differential.push({ id: element.id, path: element.path, min: 1, type: [{ code: part.valueType }] });
        } else {
          snapshot.push({ ...element, min: 0, max: '0' });
          differential.push({ id: element.id, path: element.path, max: '0' });
        }
        break;
      default:
        snapshot.push(element);
    }
  }
  return { snapshot, differential };
}

function buildComplexExtension(spec: ExtensionSpec & { parts: readonly SubExtensionSpec[] }): StructureDefinition {
  const base = baseDefinition('Extension').snapshot?.element ?? [];
  const url = canonicalOf(spec.id);
  const { snapshot, differential } = complexElements(
    base,
    { url, short: spec.title, definition: spec.description, min: 0, max: spec.max ?? '1', parts: spec.parts },
    { id: 'Extension', path: 'Extension' },
  );
  return {
    ...header(spec.id, spec.title, spec.description, 'Extension', 'complex-type'),
    context: spec.context.map((expression) => ({ type: 'element', expression })),
    differential: { element: differential },
    snapshot: { element: snapshot },
  };
}

function buildExtension(spec: ExtensionSpec): StructureDefinition {
  if (spec.parts) {
    return buildComplexExtension({ ...spec, parts: spec.parts });
  }
  if (!spec.valueType) {
    throw new Error(`${spec.id}: an extension needs a valueType or parts`);
  }
  const valueType = spec.valueType;
  const max = spec.max ?? '1';
  const base = baseDefinition('Extension');
  const url = canonicalOf(spec.id);
  const valuePath = `Extension.value[x]`;
  const snapshot = (base.snapshot?.element ?? []).map((element): ElementDefinition => {
    switch (element.path) {
      case 'Extension':
        return { ...element, short: spec.title, definition: spec.description, max };
      case 'Extension.extension':
        return { ...element, max: '0' };
      case 'Extension.url':
        return { ...element, fixedUri: url };
      case valuePath:
        return { ...element, min: 1, type: [{ code: valueType }] };
      default:
        return element;
    }
  });
  return {
    ...header(spec.id, spec.title, spec.description, 'Extension', 'complex-type'),
    context: spec.context.map((expression) => ({ type: 'element', expression })),
    differential: {
      element: [
        { id: 'Extension', path: 'Extension', short: spec.title, definition: spec.description, max },
        { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
        { id: 'Extension.url', path: 'Extension.url', fixedUri: url },
        { id: 'Extension.value[x]', path: valuePath, min: 1, type: [{ code: valueType }] },
      ],
    },
    snapshot: { element: snapshot },
  };
}

export function buildAll(): Map<string, string> {
  return withBaseDefinitions(buildFiles);
}

function buildFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const definition of [...EXTENSIONS.map(buildExtension), ...PROFILES.map(buildProfile)]) {
    files.set(`StructureDefinition-${definition.id}.json`, JSON.stringify(definition, null, 2) + '\n');
  }
  // Da Vinci PAS 2.2.1 rules as Dripline validates them (profiles/pas/, src/coverage/pas/profiles.ts).
  for (const [name, text] of buildPasProfiles()) {
    files.set(name, text);
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
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, text);
      console.log(`wrote profiles/${name}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
