/** `--tenant` of the single-tenant commands (appeal, statements, remit, work-items, report, authorizations). */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config/config.ts';
import type { DriplineConfig } from '../../src/config/config.ts';
import { chosenTenant } from '../../src/cli/tenant-option.ts';
import { UsageError } from '../../src/cli/client-command.ts';

// The data folder is never opened: only the tenants matter here.
const base = loadConfig({ DATA_DIR: path.join(tmpdir(), 'dripline-tenant-option'), LOG_LEVEL: 'silent' });
const configWith = (ids: string[]): DriplineConfig => ({
  ...base,
  tenants: ids.map((id) => ({ ...base.tenants[0]!, id, name: id.toUpperCase() })),
});

describe('chosenTenant', () => {
  test('the only tenant configured needs no name', () => {
    expect(chosenTenant(configWith(['clinic-a']), undefined).id).toBe('clinic-a');
  });
  test('the tenant named, among several', () => {
    expect(chosenTenant(configWith(['clinic-a', 'clinic-b']), 'clinic-b').name).toBe('CLINIC-B');
  });
  test('several and none named: a usage error listing them', () => {
    expect(() => chosenTenant(configWith(['clinic-a', 'clinic-b']), undefined)).toThrow(
      new UsageError('--tenant is needed: several tenants are configured (clinic-a, clinic-b)'),
    );
  });
  test('an unknown name, even when only one is configured', () => {
    expect(() => chosenTenant(configWith(['clinic-a']), 'nobody')).toThrow(
      /^unknown tenant "nobody"; configured tenants: clinic-a$/,
    );
    expect(() => chosenTenant(configWith([]), undefined)).toThrow(UsageError);
  });
});
