/**
 * Writes src/config/config-validator.js, the configuration's ajv validator compiled ahead of time
 * (src/config/config-validator-build.ts). Run after changing src/config/schema.ts or upgrading ajv.
 *   node scripts/config/validator.ts
 */
import { writeFileSync } from 'node:fs';
import {
  buildConfigValidatorSource,
  CONFIG_VALIDATOR_FILE,
} from '../../src/config/config-validator-build.ts';

const source = buildConfigValidatorSource();
writeFileSync(CONFIG_VALIDATOR_FILE, source);
console.log(`${CONFIG_VALIDATOR_FILE}: ${source.length} characters`);
