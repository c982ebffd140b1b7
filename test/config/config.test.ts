import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { loadChargemaster } from '../../src/claims/chargemaster.ts';
import { ConfigError, loadConfig, tenantBillHoldMs, WORKER_NAMES } from '../../src/config/config.ts';

function file(content: unknown): string {
  const p = path.join(mkdtempSync(path.join(tmpdir(), 'dripline-config-')), 'config.json');
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

describe('loadConfig', () => {
  test('defaults: sandbox mode with the sandbox tenant on port 8080 and ./data', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.mongodbUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.sandbox).toBe(true);
    expect(config.tenants.map((t) => t.id)).toEqual(['sandbox']);
    expect(config.auth.accessTokenSeconds).toBe(300);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('environment variables are typed and validated', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://billing.example.org/',
      MONGODB_URL: 'mongodb://db:27017/?replicaSet=rs0',
      LOG_LEVEL: 'debug',
      SANDBOX: 'false',
    });
    expect(config.port).toBe(9090);
    expect(config.publicUrl).toBe('https://billing.example.org');
    expect(config.mongodbUrl).toBe('mongodb://db:27017/?replicaSet=rs0');
    expect(config.sandbox).toBe(false);
    expect(config.tenants).toEqual([]);
  });

  test.each([
    [{ PORT: '70000' }, /port \(environment variable PORT\)/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ LOG_LEVEL: 'loud' }, /logLevel \(environment variable LOG_LEVEL\)/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL/],
    [{ MONGODB_URL: 'postgres://x' }, /MONGODB_URL/],
    [{ ACCESS_TOKEN_SECONDS: '3600' }, /ACCESS_TOKEN_SECONDS/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN/],
  ])('a bad value stops the boot naming the field: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('tenants come from the config file; sandbox is off unless asked for', () => {
    const config = loadConfig({
      DRIPLINE_CONFIG: file({ tenants: [{ id: 'mercy-infusion', name: 'Mercy Infusion' }] }),
    });
    expect(config.sandbox).toBe(false);
    expect(config.tenants.map((t) => t.id)).toEqual(['mercy-infusion']);
    const both = loadConfig({
      DRIPLINE_CONFIG: file({ sandbox: true, tenants: [{ id: 'mercy-infusion', name: 'Mercy' }] }),
    });
    expect(both.tenants.map((t) => t.id)).toEqual(['mercy-infusion', 'sandbox']);
  });

  test.each([
    ['{ not json', /Invalid DRIPLINE_CONFIG file/],
    ['[]', /top level must be a JSON object/],
    [{ tenants: [{ id: 'Bad Id', name: 'x' }] }, /tenants\.0\.id/],
    [
      {
        tenants: [
          { id: 'a', name: 'x' },
          { id: 'a', name: 'y' },
        ],
      },
      /duplicate id "a"/,
    ],
    [{ tenants: [], colour: 'blue' }, /colour/],
  ])('a bad config file stops the boot: %j', (content, message) => {
    expect(() => loadConfig({ DRIPLINE_CONFIG: file(content) })).toThrow(message);
  });

  test('a tenant may set a bill hold in whole hours (default none: billed once the visit is stored)', () => {
    const config = loadConfig({
      DRIPLINE_CONFIG: file({
        tenants: [
          { id: 'holds', name: 'Holds three days', billHold: { hours: 72 } },
          { id: 'zero', name: 'Holds nothing', billHold: { hours: 0 } },
          { id: 'unset', name: 'Says nothing' },
        ],
      }),
    });
    expect(config.tenants.map((t) => tenantBillHoldMs(t))).toEqual([72 * 3_600_000, 0, undefined]);
  });

  test.each([
    [{ hours: -1 }, /tenants\.0\.billHold\.hours .*must be >= 0/],
    [{ hours: 721 }, /tenants\.0\.billHold\.hours .*must be <= 720/],
    [{ hours: 1.5 }, /tenants\.0\.billHold\.hours .*must be integer/],
    [{ hours: 'three days' }, /tenants\.0\.billHold\.hours .*must be integer/],
    [{}, /tenants\.0\.billHold\.hours .*must have required property/],
    [{ hours: 24, days: 1 }, /tenants\.0\.billHold\.days .*must NOT have additional properties/],
    [24, /tenants\.0\.billHold .*must be object/],
  ])('a bad bill hold stops the boot naming the field: %j', (billHold, message) => {
    const env = { DRIPLINE_CONFIG: file({ tenants: [{ id: 'clinic', name: 'Clinic', billHold }] }) };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('a bill hold as long as a payer’s timely filing window stops the boot naming the field and the payer', () => {
    const payer = { id: 'acme', name: 'Acme', payerId: 'A1', kind: 'commercial', channel: 'fhir' };
    const tenant = (hours: number) => ({
      id: 'clinic',
      name: 'Clinic',
      billHold: { hours },
      payers: [
        { ...payer, timelyFilingDays: 365 },
        { ...payer, id: 'quick', timelyFilingDays: 30 },
      ],
    });
    expect(loadConfig({ DRIPLINE_CONFIG: file({ tenants: [tenant(719)] }) }).tenants[0]?.billHold).toEqual({
      hours: 719,
    });
    expect(() => loadConfig({ DRIPLINE_CONFIG: file({ tenants: [tenant(720)] }) })).toThrow(
      /tenants\[clinic\]\.billHold\.hours 720 is not shorter than payer "quick"'s timely filing \(30 days\)/,
    );
  });

  test('a missing config file is reported', () => {
    expect(() => loadConfig({ DRIPLINE_CONFIG: '/nonexistent/dripline.json' })).toThrow(
      /Cannot read DRIPLINE_CONFIG/,
    );
  });
  test('a tenant chargemaster file resolves against the config file, is validated at start, and prices claims', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dripline-cm-'));
    writeFileSync(
      path.join(dir, 'prices.json'),
      JSON.stringify({
        title: 'Clinic prices',
        sources: ['clinic finance, 2026 price list'],
        currency: 'USD',
        effective: '2026-01-01',
        default: { price: 50 },
        charges: [{ code: 'J1745', label: 'infliximab 10 mg', kind: 'drug', per: '10 mg', price: 12.5 }],
      }),
    );
    const configFile = path.join(dir, 'config.json');
    const tenant = { id: 'clinic', name: 'Clinic', chargemasterFile: 'prices.json' };
    writeFileSync(configFile, JSON.stringify({ tenants: [tenant] }));
    const config = loadConfig({ DRIPLINE_CONFIG: configFile });
    const resolved = config.tenants[0]?.chargemasterFile ?? '';
    expect(resolved).toBe(path.join(dir, 'prices.json'));
    expect(loadChargemaster(resolved).priceOf('J1745', 40)).toBe(500);
    expect(loadChargemaster(resolved).priceOf('96413', 1)).toBe(50);

    writeFileSync(configFile, JSON.stringify({ tenants: [{ ...tenant, chargemasterFile: 'missing.json' }] }));
    expect(() => loadConfig({ DRIPLINE_CONFIG: configFile })).toThrow(
      /tenants\[clinic\]\.chargemasterFile: [^]*file not found/,
    );
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ charges: [{ code: 'J1745', price: -1 }] }));
    writeFileSync(configFile, JSON.stringify({ tenants: [{ ...tenant, chargemasterFile: 'bad.json' }] }));
    expect(() => loadConfig({ DRIPLINE_CONFIG: configFile })).toThrow(ConfigError);
  });
});

describe('WORKERS: the queue workers this process runs', () => {
  test('all by default, none for a receiver, or the ones named', () => {
    expect(loadConfig({}).workers).toEqual(WORKER_NAMES);
    expect(loadConfig({ WORKERS: 'all' }).workers).toEqual(WORKER_NAMES);
    expect(loadConfig({ WORKERS: 'none' }).workers).toEqual([]);
    expect(loadConfig({ WORKERS: 'remittance,ingest' }).workers).toEqual(['ingest', 'remittance']);
  });
  test('an unknown name is refused, naming the variable', () => {
    expect(() => loadConfig({ WORKERS: 'ingest,billing' })).toThrow(
      /workers \(environment variable WORKERS\)/,
    );
    expect(() => loadConfig({ WORKERS: 'ingest,' })).toThrow(ConfigError);
  });
});
