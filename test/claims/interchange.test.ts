/**
 * X12 interchange settings (src/x12/interchange.ts): ISA15 usage per payer connection,
 * ISA13/GS06 from durable store sequences (not the clock), and the config rule that an X12 payer
 * names its usage.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { TenantConfig } from '../../src/config/config.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { controlNumberOf, interchangeUsage, UsageAmbiguousError } from '../../src/x12/interchange.ts';
import { x12RouterDeps } from '../../src/claims/x12-wiring.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { PROVIDER, payer } from './fixtures.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-interchange-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tenant = (payers: TenantConfig['payers']): TenantConfig => ({
  id: 'clinic',
  name: 'Clinic',
  connections: [],
  coding: {},
  billing: PROVIDER,
  payers,
});

describe('usage (ISA15) per payer connection', () => {
  const prod = { ...payer('medicaid'), id: 'medicaid-x12', channel: 'x12' as const, usage: 'P' as const };
  const test_ = { ...payer('commercial'), id: 'acme-test', channel: 'x12' as const, usage: 'T' as const };
  const fhir = payer('medicare');

  test('the payer decides; a payer without one is P; without a payer, the one all payers share', () => {
    expect(interchangeUsage([prod, test_], 'medicaid-x12')).toBe('P');
    expect(interchangeUsage([prod, test_], 'acme-test')).toBe('T');
    expect(interchangeUsage([fhir], fhir.id)).toBe('P');
    expect(interchangeUsage([prod, fhir])).toBe('P');
    expect(interchangeUsage([test_])).toBe('T');
    expect(() => interchangeUsage([prod, test_])).toThrow(UsageAmbiguousError);
  });

  test('config: an X12-channel payer must name its usage; FHIR-channel payers need not', () => {
    const file = path.join(dir, 'config.json');
    const payers = (usage?: 'P' | 'T') => [
      {
        id: 'medicaid-x12',
        name: 'Medicaid',
        payerId: 'MCD',
        kind: 'medicaid',
        channel: 'x12',
        ...(usage ? { usage } : {}),
      },
      { id: 'medicare', name: 'Medicare', payerId: 'MCR', kind: 'medicare', channel: 'fhir' },
    ];
    writeFileSync(file, JSON.stringify({ tenants: [{ id: 'clinic', name: 'Clinic', payers: payers() }] }));
    expect(() => loadConfig({ DRIPLINE_CONFIG: file })).toThrow(ConfigError);
    expect(() => loadConfig({ DRIPLINE_CONFIG: file })).toThrow(/usage/);
    writeFileSync(file, JSON.stringify({ tenants: [{ id: 'clinic', name: 'Clinic', payers: payers('P') }] }));
    const config = loadConfig({ DRIPLINE_CONFIG: file });
    expect(config.tenants[0]?.payers.map((p) => p.usage)).toEqual(['P', undefined]);
    writeFileSync(
      file,
      JSON.stringify({ tenants: [{ id: 'clinic', name: 'Clinic', payers: payers('X' as 'P') }] }),
    );
    expect(() => loadConfig({ DRIPLINE_CONFIG: file })).toThrow(/usage/);
  });
});

describe('control numbers (ISA13, GS06) from durable sequences', () => {
  test('wrap from 999,999,999 to 1', () => {
    expect(controlNumberOf(1)).toBe(1);
    expect(controlNumberOf(999_999_999)).toBe(999_999_999);
    expect(controlNumberOf(1_000_000_000)).toBe(1);
    expect(() => controlNumberOf(0)).toThrow(RangeError);
  });

  test('two envelopes in the same millisecond get different numbers; a restart continues; usage is the payer’s', async () => {
    const file = path.join(dir, 'store.sqlite');
    const prod = { ...payer('medicaid'), id: 'medicaid-x12', channel: 'x12' as const, usage: 'P' as const };
    const sandboxLike = { ...payer('commercial'), id: 'sandbox-payer', usage: 'T' as const };
    const frozen = new Date('2026-12-04T10:00:00.000Z');
    const envelopes = async () => {
      const store = await openSqliteStore({ path: file });
      const deps = x12RouterDeps({
        store,
        publicUrl: 'http://localhost',
        tenants: () => [tenant([prod, sandboxLike])],
        loadContext: () => Promise.resolve(undefined),
        now: () => frozen,
      });
      const first = await deps.envelope('clinic', '837P', 'medicaid-x12');
      const second = await deps.envelope('clinic', '837I', 'sandbox-payer');
      await store.close();
      return [first, second] as const;
    };
    const [a, b] = await envelopes();
    expect([a.controlNumbers, b.controlNumbers]).toEqual([
      { isa: 1, gs: 1 },
      { isa: 2, gs: 2 },
    ]);
    expect([a.usage, b.usage]).toEqual(['P', 'T']);
    expect(a.sender.id).toBe(PROVIDER.taxId);
    const [c] = await envelopes();
    expect(c.controlNumbers).toEqual({ isa: 3, gs: 3 });
  });
});
