/**
 * Writes the validators compiled ahead of time by ajv (scripts/validators/targets.ts,
 * src/config/standalone-validators.ts). Run after changing one of their schemas or upgrading ajv.
 *   node scripts/validators/build.ts
 */
import { writeFileSync } from 'node:fs';
import { standaloneValidatorsSource } from '../../src/config/standalone-validators.ts';
import { STANDALONE_TARGETS } from './targets.ts';

for (const target of STANDALONE_TARGETS) {
  const source = standaloneValidatorsSource(target);
  writeFileSync(target.file, source);
  console.log(`${target.file}: ${source.length} characters`);
}
