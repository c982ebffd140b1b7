/**
 * The configuration's validator is compiled ahead of time (src/config/config-validator.js, written
 * by `npm run config-validator:build`): the committed file is exactly what the build produces from
 * the current schema and ajv, and it validates as the schema compiled at run time does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { Ajv } from 'ajv';
import { validate } from '../../src/config/config-validator.js';
import {
  buildConfigValidatorSource,
  CONFIG_VALIDATOR_FILE,
} from '../../src/config/config-validator-build.ts';
import { CONFIG_SCHEMA } from '../../src/config/schema.ts';

describe('the compiled configuration validator', () => {
  test('the committed src/config/config-validator.js is current (else run npm run config-validator:build)', () => {
    expect(readFileSync(CONFIG_VALIDATOR_FILE, 'utf8')).toBe(buildConfigValidatorSource());
  });

  test('accepts, fills in and refuses as the schema compiled at run time', () => {
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
      expect([validate(ahead), ahead, validate.errors ?? null]).toEqual([
        compiled(now),
        now,
        compiled.errors ?? null,
      ]);
    }
    expect(validate({ sandbox: false, tenants: [{ id: 'a', name: '' }] })).toBe(false);
    expect(validate.errors?.[0]?.keyword).toBe('minLength');
  });
});
