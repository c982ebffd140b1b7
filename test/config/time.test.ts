/** Time settings in configuration: the tenant's time zone (validated at load) and the clock offset. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import {
  ConfigError,
  loadConfig,
  tenantCalendarZone,
  tenantCodingOptions,
  tenantTimeZone,
} from '../../src/config/config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-config-time-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
function withTenants(tenants: unknown[]): Record<string, string> {
  const p = path.join(dir, `config-${++files}.json`);
  writeFileSync(p, JSON.stringify({ tenants }));
  return { DRIPLINE_CONFIG: p };
}

test('a tenant names its IANA time zone; the sandbox tenant is in New York', () => {
  const config = loadConfig(
    withTenants([
      { id: 'chicago', name: 'C', timeZone: 'America/Chicago' },
      { id: 'legacy', name: 'L', coding: { utcOffset: '-07:00' } },
      { id: 'unset', name: 'U' },
    ]),
  );
  const [chicago, legacy, unset] = config.tenants;
  expect(chicago && tenantTimeZone(chicago)).toBe('America/Chicago');
  expect(chicago && tenantCodingOptions(chicago)).toEqual({ timeZone: 'America/Chicago' });
  // The older fixed offset still works, as a zone without DST.
  expect(legacy && tenantTimeZone(legacy)).toBe('-07:00');
  expect(unset && [tenantTimeZone(unset), tenantCalendarZone(unset)]).toEqual([undefined, 'UTC']);
  const sandbox = loadConfig({}).tenants.find((t) => t.id === 'sandbox');
  expect(sandbox?.timeZone).toBe('America/New_York');
});

test.each(['EST', '-05:00', 'America/Gotham', 'utc'])(
  'timeZone "%s" stops the boot, naming the field',
  (zone) => {
    expect(() => loadConfig(withTenants([{ id: 'x', name: 'X', timeZone: zone }]))).toThrow(ConfigError);
    expect(() => loadConfig(withTenants([{ id: 'x', name: 'X', timeZone: zone }]))).toThrow(
      /tenants\[x\]\.timeZone/,
    );
  },
);

test('CLOCK_OFFSET_MS moves the clock; default 0; validated', () => {
  expect(loadConfig({}).clockOffsetMs).toBe(0);
  expect(loadConfig({ CLOCK_OFFSET_MS: '-27000000' }).clockOffsetMs).toBe(-27_000_000);
  expect(() => loadConfig({ CLOCK_OFFSET_MS: 'soon' })).toThrow(
    /clockOffsetMs \(environment variable CLOCK_OFFSET_MS\)/,
  );
  expect(() => loadConfig({ CLOCK_OFFSET_MS: '1.5' })).toThrow(ConfigError);
});
