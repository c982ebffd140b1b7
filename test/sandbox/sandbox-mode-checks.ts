/**
 * Sandbox mode as `npm start` runs it: the in-process sandbox EHR and payer, the replayed day
 * flowing through ingest, charge capture and claims — and none of the (fictional) patients' names
 * or record numbers in Dripline's logs (at debug level). Registered by test/web/browser.test.ts,
 * whose world is that sandbox (a world is seconds of CPU to start and replay), ahead of its views.
 */
import { Writable } from 'node:stream';
import { expect, test } from '@jest/globals';
import type { ChargeItem, Claim, Encounter, Patient } from '@medplum/fhirtypes';
import { encountersOfClaim } from '../../src/claims/workflow/identity.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { createLogger } from '../../src/logger.ts';
import type { Logger } from '../../src/logger.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { waitFor } from '../support/wait.ts';

/** A debug-level logger whose lines are kept in `logs`. */
export function capturedLogs(): { logger: Logger; logs: string[] } {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger('debug', sink), logs };
}

/** Registers the sandbox-mode tests in the world `world` gives, its logs in `logs`. */
export function sandboxModeTests(world: () => SandboxRun, logs: readonly string[]): void {
  test('the seeded day reaches claims', async () => {
    const claims = await waitFor(
      'claims built from the replayed day',
      async () => {
        const result = await world().server.store.resources.search('sandbox', {
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
    const store = world().server.store;
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
    // The claim sweep bills a visit once it has ended: on a day that has ended, all of them. Each
    // look that finds one unbilled asks for the loop's next sweep (`sweepNow`, as the world's
    // start does) and waits for it, rather than looking again every 100 ms until the 5 s timer
    // sweeps (up to two timer sweeps: the first may find charge capture still busy).
    await waitFor(
      'every charged visit to be on a claim',
      async () => {
        if ((await unbilled()).length === 0) {
          return true;
        }
        await world().server.claims.sweepNow();
        return false;
      },
      45_000,
    ).catch(() => undefined);
    expect(await unbilled()).toEqual([]);
  }, 60_000);

  test('no patient name or record number reaches the logs', async () => {
    const patients = (await world().ehr.listResources('Patient')) as Patient[];
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
}
