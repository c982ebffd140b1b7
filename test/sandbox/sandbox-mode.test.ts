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
import type { Patient } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import { runSandbox } from '../../src/sandbox/index.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { waitFor } from '../support/wait.ts';
import { freePort } from '../../src/http/free-port.ts';

let run: SandboxRun;
let dir: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-sandbox-mode-'));
  // The sandbox EHR notifies PUBLIC_URL, so it must name the real port.
  const port = await freePort();
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    SANDBOX_REPLAY_SPEED: '0',
    SANDBOX_PATIENTS: '16',
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
