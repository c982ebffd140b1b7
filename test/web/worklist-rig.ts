/**
 * A Dripline with `items` held claims, each with an open work item, and the sandbox EHR (unseeded:
 * its staff only) that signs people in through a standalone SMART launch; a second tenant holds a
 * claim of its own. Dripline runs with all its workers off, so the claims stay exactly as written. Used
 * by test/web/worklist-load.test.ts (what the worklist shows at 500 items) and
 * scripts/bench/worklist.ts (how fast it is usable).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Claim } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config/config.ts';
import type { DriplineConfig } from '../../src/config/config.ts';
import { freePort } from '../../src/http/free-port.ts';
import { createLogger } from '../../src/logger.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { sandboxAppLaunch } from '../../src/sandbox/index.ts';
import { startServer } from '../../src/server.ts';
import type { RunningServer } from '../../src/server.ts';
import { EXT_CLAIM_PAYER } from '../../src/contract/canonical.ts';
import { withState } from '../../src/claims/workflow/state.ts';
import { claimTaskWrite } from '../../src/claims/workflow/tasks.ts';
import type { Clock } from '../../src/time/clock.ts';
import { NO_WORKERS } from '../support/harness.ts';

export const TENANT = 'load';
export const OTHER_TENANT = 'other';
export const OTHER_CLAIM = 'other-001';

export interface WorklistRig {
  readonly ehr: SandboxEhr;
  readonly server: RunningServer;
  /** Dripline's base URL ("localhost", a different site from the EHR's 127.0.0.1). */
  readonly appUrl: string;
  /** Where a standalone launch starts (the EHR's sign-in list follows). */
  readonly launchUrl: string;
  stop(): Promise<void>;
}

export async function startWorklistRig(items: number, testClock: Clock): Promise<WorklistRig> {
  const ITEMS = items;
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-web-load-'));
  let ehr: SandboxEhr | undefined;
  let server: RunningServer | undefined;
  try {
    const port = await freePort();
    const appUrl = `http://localhost:${port}`;
    ehr = await startSandboxEhr({ seed: false, now: testClock });
    const base = loadConfig({
      DATA_DIR: dir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: appUrl,
      SANDBOX: 'false',
    });
    const config: DriplineConfig = {
      ...base,
      tenants: [
        {
          id: TENANT,
          name: 'Load test clinic',
          timeZone: 'America/Chicago',
          connections: [],
          coding: {},
          payers: [
            {
              id: 'acme',
              name: 'Acme Health',
              payerId: 'ACME1',
              kind: 'commercial',
              channel: 'x12',
              timelyFilingDays: 90,
              usage: 'T',
            },
          ],
          ehrLaunch: [await sandboxAppLaunch(ehr, appUrl)],
        },
        {
          id: OTHER_TENANT,
          name: 'Another clinic',
          timeZone: 'America/Chicago',
          connections: [],
          coding: {},
          payers: [],
        },
      ],
    };
    // No worker at all: none has work here, and each idle one polls its queue every 250 ms.
    server = await startServer(config, createLogger('silent'), {
      ...NO_WORKERS,
      now: testClock,
    });
    const now = testClock();
    // About 100 items (300 writes) to a transaction: one commit per item would be 500 syncs.
    let batch: Parameters<typeof server.store.resources.writeBatch>[1][number][] = [];
    for (let i = 0; i < ITEMS; i++) {
      const id = `load-${String(i).padStart(3, '0')}`;
      const patient = `p-${i % 120}`;
      const claim = withState<Claim & { id: string }>(
        {
          resourceType: 'Claim',
          id,
          status: 'active',
          type: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
          },
          use: 'claim',
          patient: { reference: `Patient/${patient}` },
          created: now.toISOString(),
          provider: { display: 'Load test clinic' },
          priority: { coding: [{ code: 'normal' }] },
          insurance: [{ sequence: 1, focal: true, coverage: { display: 'Acme' } }],
          billablePeriod: {
            start: new Date(now.getTime() - (i % 80) * 86_400_000).toISOString().slice(0, 10),
          },
          total: { value: 100 + i, currency: 'USD' },
          extension: [{ url: EXT_CLAIM_PAYER, valueString: 'acme' }],
        },
        'held',
        now,
      );
      const task = claimTaskWrite(
        claim,
        {
          text: 'claim needs attention',
          findings: [
            {
              severity: 'error',
              ruleId: 'doc-stop-time',
              source: 'coding-rules R3.1',
              message: `The infusion on line ${1 + (i % 3)} has no stop time.`,
              fix: 'Document the stop time in the EHR.',
              overridable: false,
            },
          ],
        },
        undefined,
        now,
      );
      batch.push(
        ...(i < 120
          ? [
              {
                op: 'create' as const,
                resource: {
                  resourceType: 'Patient' as const,
                  id: patient,
                  name: [{ family: `Family${i}`, given: ['Pat'] }],
                },
                options: { id: patient },
              },
            ]
          : []),
        { op: 'create', resource: claim, options: { id } },
        task,
      );
      if (batch.length >= 300 || i === ITEMS - 1) {
        await server.store.resources.writeBatch(TENANT, batch);
        batch = [];
      }
    }
    const other = withState<Claim & { id: string }>(
      {
        resourceType: 'Claim',
        id: OTHER_CLAIM,
        status: 'active',
        type: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
        },
        use: 'claim',
        patient: { reference: 'Patient/p-other' },
        created: now.toISOString(),
        provider: { display: 'Another clinic' },
        priority: { coding: [{ code: 'normal' }] },
        insurance: [{ sequence: 1, focal: true, coverage: { display: 'Acme' } }],
        total: { value: 999, currency: 'USD' },
      },
      'held',
      now,
    );
    await server.store.resources.writeBatch(OTHER_TENANT, [
      { op: 'create', resource: other, options: { id: OTHER_CLAIM } },
      claimTaskWrite(other, { text: 'claim needs attention', findings: [] }, undefined, now),
    ]);
    const running = { ehr, server };
    return {
      ...running,
      appUrl,
      launchUrl: `${appUrl}/app/launch?iss=${encodeURIComponent(ehr.fhirBaseUrl)}`,
      async stop() {
        await running.server.stop();
        await running.ehr.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    await ehr?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
