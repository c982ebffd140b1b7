/**
 * The validators compiled ahead of time (scripts/validators/targets.ts, written by `npm run
 * validators:build`): each committed module is exactly what the build produces from the current
 * schemas and ajv, and validates as its schema compiled at run time does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { Ajv } from 'ajv';
import { validateConfig } from '../../src/config/config-validator.js';
import { CONFIG_SCHEMA } from '../../src/config/schema.ts';
import { standaloneValidatorsSource } from '../../src/config/standalone-validators.ts';
import * as tableValidators from '../../src/coding/tables/table-validators.js';
import { mueTableSchema } from '../../src/coding/tables/schemas.ts';
import * as fileValidators from '../../src/config/file-validators.js';
import { chargemasterSchema, contractsSchema } from '../../src/config/file-schemas.ts';
import { STANDALONE_TARGETS } from '../../scripts/validators/targets.ts';

describe('validators compiled ahead of time', () => {
  test.each(STANDALONE_TARGETS.map((t) => [path.relative(process.cwd(), t.file), t] as const))(
    'the committed %s is current (else run npm run validators:build)',
    (_file, target) => {
      expect(readFileSync(target.file, 'utf8')).toBe(standaloneValidatorsSource(target));
    },
  );

  test('each target exports a validator per schema', () => {
    expect(STANDALONE_TARGETS.map((t) => Object.keys(t.schemas).sort())).toEqual([
      ['validateConfig'],
      Object.keys(tableValidators),
      Object.keys(fileValidators).sort(),
    ]);
  });

  test('the configuration: accepts, fills in and refuses as the schema compiled at run time', () => {
    const compiled = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: false }).compile(
      CONFIG_SCHEMA,
    );
    const inputs: Record<string, unknown>[] = [
      { sandbox: true, port: '9090' },
      { sandbox: false, tenants: [{ id: 'a', name: 'A' }] },
      // A length limit: ajv's runtime helper (ucs2length) that the generated module imports.
      { sandbox: false, tenants: [{ id: 'a', name: '' }] },
      { sandbox: true, port: 'x' },
      { sandbox: true, logLevel: 'loud' },
      { sandbox: true, unknown: 1 },
    ];
    for (const input of inputs) {
      const ahead = structuredClone(input);
      const now = structuredClone(input);
      expect([validateConfig(ahead), ahead, validateConfig.errors ?? null]).toEqual([
        compiled(now),
        now,
        compiled.errors ?? null,
      ]);
    }
    expect(validateConfig({ sandbox: false, tenants: [{ id: 'a', name: '' }] })).toBe(false);
    expect(validateConfig.errors?.[0]?.keyword).toBe('minLength');
  });

  test('a coding table: every issue, as the schema compiled at run time', () => {
    const compiled = new Ajv({ allErrors: true, strict: true }).compile(mueTableSchema);
    const inputs: unknown[] = [{}, { title: '', sources: [], effective: 'x', entries: [{}] }, []];
    for (const input of inputs) {
      expect([tableValidators.mue(input), tableValidators.mue.errors ?? null]).toEqual([
        compiled(input),
        compiled.errors ?? null,
      ]);
    }
    expect(tableValidators.mue({}) || tableValidators.mue.errors?.length).toBeGreaterThan(1);
  });

  test('the chargemaster and contracts files: every issue, as their schemas compiled at run time', () => {
    const cases = [
      [fileValidators.chargemaster, chargemasterSchema],
      [fileValidators.contracts, contractsSchema],
    ] as const;
    const inputs: unknown[] = [
      {},
      { title: '', sources: [], effective: 'x', currency: 'EUR', charges: [{}] },
      { title: 'T', contracts: [{ payer: '', terms: [{ kind: 'percent-of-billed', percent: 0 }] }] },
      [],
    ];
    for (const [ahead, schema] of cases) {
      const compiled = new Ajv({ allErrors: true, strict: true }).compile(schema);
      for (const input of inputs) {
        expect([ahead(input), ahead.errors ?? null]).toEqual([compiled(input), compiled.errors ?? null]);
      }
      expect(ahead({}) || ahead.errors?.length).toBeGreaterThan(1);
    }
  });
});
