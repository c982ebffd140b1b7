/**
 * The validators compiled ahead of time (src/config/standalone-validators.ts): each generated
 * module, the options its schemas were compiled with at run time, and its schemas by export name.
 */
import path from 'node:path';
import { CONFIG_SCHEMA } from '../../src/config/schema.ts';
import { chargemasterSchema, contractsSchema } from '../../src/config/file-schemas.ts';
import type { StandaloneTarget } from '../../src/config/standalone-validators.ts';
import {
  administrationCodeTableSchema,
  categoryRuleTableSchema,
  drugCatalogSchema,
  homeInfusionTableSchema,
  mueTableSchema,
  ncciTableSchema,
  payerRuleSetSchema,
  revenueCodeTableSchema,
} from '../../src/coding/tables/schemas.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export const STANDALONE_TARGETS: readonly StandaloneTarget[] = [
  {
    // src/config/config.ts: defaults filled in, environment strings coerced, the first error only.
    file: path.join(ROOT, 'src/config/config-validator.js'),
    options: { useDefaults: true, coerceTypes: true, allErrors: false },
    schemas: { validateConfig: CONFIG_SCHEMA },
  },
  {
    // src/coding/tables/load.ts: every issue of a table file, strict schemas.
    file: path.join(ROOT, 'src/coding/tables/table-validators.js'),
    options: { allErrors: true, strict: true },
    schemas: {
      drugs: drugCatalogSchema,
      administrationCodes: administrationCodeTableSchema,
      payer: payerRuleSetSchema,
      mue: mueTableSchema,
      ncci: ncciTableSchema,
      homeInfusion: homeInfusionTableSchema,
      revenueCodes: revenueCodeTableSchema,
      categoryRules: categoryRuleTableSchema,
    },
  },
  {
    // src/config/chargemaster-file.ts and contracts-file.ts: every issue of the file, strict.
    file: path.join(ROOT, 'src/config/file-validators.js'),
    options: { allErrors: true, strict: true },
    schemas: { chargemaster: chargemasterSchema, contracts: contractsSchema },
  },
];
