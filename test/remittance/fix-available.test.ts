/**
 * The fix-available sweep (src/remittance/work/fix-available.ts): a denial work item whose cause
 * has since been fixed — here an authorization denial (CO-197) once an authorization covering the
 * denied line is on file — moves to `fix-available` with the evidence, audited; the sweep is
 * idempotent; an authorization the claim already carried, or one for another service, fixes nothing.
 * The item comes from a real posting (835 → EOB → the work hook), and the remittance worker runs
 * the sweep on its own.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { AuditEvent, Task } from '@medplum/fhirtypes';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { authorizationOnFile } from '../../src/coverage/authorizations.ts';
import { SAMPLE_PAYER } from '../../src/claims/x12-samples.ts';
import { createReferenceRates } from '../../src/remittance/contracts/references.ts';
import { receiveRemittance } from '../../src/remittance/intake.ts';
import { RemittanceWorker } from '../../src/remittance/worker.ts';
import { createRemittanceWorkHook } from '../../src/remittance/work/engine.ts';
import { FIX_SWEEP_AGENT, sweepFixAvailable } from '../../src/remittance/work/fix-available.ts';
import { stateOf } from '../../src/remittance/work/items.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { PostingFixture } from './support.ts';
import {
  NOW,
  openPostingFixture,
  paymentOf,
  remittance,
  seedSubmittedClaims,
  TENANT,
  TENANTS,
  WRITE_OPTIONS,
} from './support.ts';

const references = createReferenceRates(loadCodingTables().cms);
let fx: PostingFixture;

beforeEach(async () => {
  fx = await openPostingFixture({
    hooks: [
      createRemittanceWorkHook({ tenants: () => TENANTS, references, publicUrl: 'http://dripline.test' }),
    ],
  });
});
afterEach(async () => {
  await fx.close();
});

const deps = (): Parameters<typeof sweepFixAvailable>[0] => ({
  store: fx.store,
  tenants: () => TENANTS,
  publicUrl: 'http://dripline.test',
  now: () => NOW,
});

/** A claim whose drug line (J1745, 2026-11-02) the payer denied CO-197, posted: its denial work item. */
async function deniedForAuthorization(n: number): Promise<Task & { id: string }> {
  const [claim] = await seedSubmittedClaims(fx.store, 1, n);
  const paid = paymentOf(claim!);
  const services = paid.services.map((s, i) =>
    i === 2
      ? {
          ...s,
          paid: 0,
          adjustments: [{ group: 'CO', reason: '197', amount: s.charge }],
          amounts: [],
          remarks: ['N54'],
        }
      : s,
  );
  const payment = {
    ...paid,
    paid: Math.round(services.reduce((sum, s) => sum + s.paid * 100, 0)) / 100,
    services,
  };
  const text = await write835ToString([remittance([payment], { trace: `FIX-${n}` })], WRITE_OPTIONS);
  const received = await receiveRemittance(fx.intake, TENANT, [text], { source: 'test' });
  expect(received.outcome).toBe('accepted');
  const worker = new RemittanceWorker({ ...fx.posting, leaseMs: 60_000 });
  while ((await worker.runOnce()) > 0) {
    // next job
  }
  const items = (await searchAll<Task>(fx.store, TENANT, 'Task')).filter(
    (t) => t.focus?.reference === `Claim/${claim!.id}` && stateOf(t) !== undefined,
  );
  expect(items).toHaveLength(1);
  expect(stateOf(items[0]!)).toBe('open');
  return items[0] as Task & { id: string };
}

async function authorize(n: number, number: string, code: string): Promise<void> {
  await fx.store.resources.create(
    TENANT,
    authorizationOnFile({
      patient: `Patient/pat-${n}`,
      payerId: SAMPLE_PAYER.payerId,
      number,
      start: '2026-11-01',
      end: '2027-04-30',
      services: [{ code }],
      now: NOW,
    }),
  );
}

const read = async (id: string): Promise<Task> => (await fx.store.resources.read(TENANT, 'Task', id)) as Task;

describe('a denial whose cause has been fixed moves to fix-available', () => {
  test('an authorization for the denied drug recorded after the denial: fix-available, with the evidence, audited; once', async () => {
    const item = await deniedForAuthorization(301);
    expect((await sweepFixAvailable(deps(), TENANT)).moved).toEqual([]);

    await authorize(301, 'PA-RETRO-301', 'J1745');
    const { moved } = await sweepFixAvailable(deps(), TENANT);
    expect(moved.map((m) => m.item)).toEqual([item.id]);
    const after = await read(item.id);
    expect(stateOf(after)).toBe('fix-available');
    expect(after.status).toBe('ready');
    expect(after.note?.at(-1)?.text).toContain('PA-RETRO-301');
    expect(after.input?.some((i) => i.valueString?.includes('PA-RETRO-301'))).toBe(true);
    const audits = (await searchAll<AuditEvent>(fx.store, TENANT, 'AuditEvent')).filter((a) =>
      a.agent?.some(
        (g) => g.who?.identifier?.value === FIX_SWEEP_AGENT || g.who?.display === FIX_SWEEP_AGENT,
      ),
    );
    expect(audits.length).toBe(1);

    // Idempotent: the next sweep changes nothing.
    const version = (await fx.store.resources.read(TENANT, 'Task', item.id)).meta.versionId;
    expect((await sweepFixAvailable(deps(), TENANT)).moved).toEqual([]);
    expect((await fx.store.resources.read(TENANT, 'Task', item.id)).meta.versionId).toBe(version);
  });

  test('the authorization the claim already carried, or one for another service, fixes nothing', async () => {
    const item = await deniedForAuthorization(302);
    await authorize(302, 'PA-2026-4411', 'J1745'); // the number on the denied claim
    await authorize(302, 'PA-OTHER-302', '96365'); // covers the administration, not the denied drug
    expect((await sweepFixAvailable(deps(), TENANT)).moved).toEqual([]);
    expect(stateOf(await read(item.id))).toBe('open');
  });

  test('the remittance worker runs the sweep on its own', async () => {
    const item = await deniedForAuthorization(303);
    await authorize(303, 'PA-RETRO-303', 'J1745');
    const worker = new RemittanceWorker({ ...fx.posting, leaseMs: 60_000, fixSweepMs: 0 });
    await worker.runOnce();
    expect(stateOf(await read(item.id))).toBe('fix-available');
  });
});
