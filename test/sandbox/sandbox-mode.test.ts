/**
 * Sandbox mode as `npm start` runs it: the in-process sandbox EHR and payer, the replayed day
 * flowing through ingest, charge capture and claims — and none of the (fictional) patients' names
 * or record numbers in Dripline's logs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Claim, Encounter, Patient } from '@medplum/fhirtypes';
import { encountersOfClaim } from '../../src/claims/workflow/identity.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { createLogger } from '../../src/logger.ts';
import { runSandbox } from '../../src/sandbox/index.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { clockEnv } from '../support/clock.ts';
import { waitFor } from '../support/wait.ts';
import { freePort } from '../../src/http/free-port.ts';
import { localSandboxConfig } from '../../src/sandbox/local-config.ts';

let run: SandboxRun;
let dir: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-sandbox-mode-'));
  const config = localSandboxConfig({
    dataDir: dir,
    port: await freePort(),
    patients: 16,
    logLevel: 'debug',
    // The run's clock (.ci/run pins it at 00:30 and 23:30 UTC): the seeded day must bill at any hour.
    env: clockEnv(),
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  run = await runSandbox(config, createLogger('debug', sink));
  await run.replayed;
}, 60_000);

afterAll(async () => {
  await run.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the seeded day reaches claims', async () => {
  const claims = await waitFor(
    'claims built from the replayed day',
    async () => {
      const result = await run.server.store.resources.search('sandbox', {
        resourceType: 'Claim',
        filters: [],
        sort: [],
        count: 0,
        offset: 0,
        total: true,
      });
      return (result.total ?? 0) > 0 ? result.total : undefined;
    },
    45_000,
  );
  expect(claims).toBeGreaterThan(0);
}, 60_000);

test('every finished visit of the seeded day with charges is billed, at any hour', async () => {
  const store = run.server.store;
  const unbilled = async (): Promise<string[]> => {
    const billed = new Set(
      (await searchAll<Claim>(store, 'sandbox', 'Claim')).flatMap((c) => encountersOfClaim(c)),
    );
    const charged = new Set(
      (await searchAll<ChargeItem>(store, 'sandbox', 'ChargeItem'))
        .filter((c) => c.status === 'billable')
        .map((c) => c.context?.reference ?? ''),
    );
    return (await searchAll<Encounter>(store, 'sandbox', 'Encounter'))
      .filter((e) => e.status === 'finished' && charged.has(`Encounter/${e.id}`))
      .map((e) => `Encounter/${e.id}`)
      .filter((ref) => !billed.has(ref));
  };
  // The claim sweep bills a visit once it has ended: on a day that has ended, all of them.
  await waitFor(
    'every charged visit to be on a claim',
    async () => (await unbilled()).length === 0,
    45_000,
  ).catch(() => undefined);
  expect(await unbilled()).toEqual([]);
}, 60_000);

test('no patient name or record number reaches the logs', async () => {
  const patients = (await run.ehr.listResources('Patient')) as Patient[];
  expect(patients.length).toBe(16);
  const text = logs.join('');
  expect(text.length).toBeGreaterThan(1000);
  for (const patient of patients) {
    for (const name of patient.name ?? []) {
      expect(text).not.toContain(`${name.given?.[0] ?? ''} ${name.family ?? ''}`);
      if (name.family && name.family.length > 3) {
        expect(text).not.toContain(name.family);
      }
    }
    for (const identifier of patient.identifier ?? []) {
      if (identifier.value && identifier.value.length > 4) {
        expect(text).not.toContain(identifier.value);
      }
    }
  }
});
