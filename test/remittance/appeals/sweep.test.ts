/**
 * The appeal deadline sweep (src/remittance/appeals/sweep.ts) on a store whose clock moves: a
 * warning at 30 days left and one at 7 (each raised once), then `missed` with an escalation Task
 * the day after the deadline in the tenant's zone; a second sweep changes nothing. Also: an appeal
 * whose deadline has passed cannot be opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../../src/config/config.ts';
import { openAppeal } from '../../../src/remittance/appeals/actions.ts';
import { sweepAppealDeadlines } from '../../../src/remittance/appeals/sweep.ts';
import { AppealSweepTimer } from '../../../src/remittance/appeals/timer.ts';
import { createLogger } from '../../../src/logger.ts';
import { waitFor } from '../../support/wait.ts';
import { dateInput, moneyInput, newWorkItem, stringInput } from '../../../src/remittance/work/items.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { openSqliteStore } from '../../../src/store/sqlite/index.ts';
import { searchAll } from '../../../src/store/search-all.ts';

const TENANT = 'lakeside';
const TENANTS: TenantConfig[] = [
  {
    id: TENANT,
    name: 'Lakeside',
    timeZone: 'America/Chicago',
    connections: [],
    coding: {},
    payers: [
      {
        id: 'mac',
        name: 'Medicare MAC',
        payerId: '00952',
        kind: 'medicare',
        channel: 'x12',
        usage: 'T',
        timelyFilingDays: 365,
      },
    ],
  },
];

let dir: string;
let store: SqliteStore;
let clock = new Date('2026-12-04T15:00:00Z');
const deps = () => ({ store, publicUrl: 'http://dripline.test', now: () => clock, tenants: () => TENANTS });

async function seedItem(id: string, decided: string): Promise<void> {
  const item = newWorkItem(
    {
      id,
      kind: 'denial',
      queue: 'medical-necessity',
      state: 'open',
      claims: [`clm-${id}`],
      patient: 'Patient/p1',
      deadline: decided,
      priority: 'routine',
      source: 'ExplanationOfBenefit/e1',
      description: 'denied',
      reasonCode: undefined,
      now: clock.toISOString(),
    },
    [stringInput('payer', 'mac'), dateInput('decided', decided), moneyInput('dollars-at-stake', 410)],
    'opened',
  );
  await store.resources.create(TENANT, item, { id });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-appeal-sweep-'));
  store = await openSqliteStore({ path: path.join(dir, 'store.sqlite'), now: () => clock });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the appeal deadline sweep', () => {
  test('warns at 30 and 7 days left, once each; missed the day after the deadline in Chicago, with an escalation', async () => {
    await seedItem('wi-sweep', '2026-12-01');
    const opened = await openAppeal(deps(), TENANT, 'wi-sweep', { clientId: 'biller' });
    expect(opened.status).toBe(201);
    // Medicare redetermination: 2026-12-01 + 5 days' presumed receipt + 120 days.
    expect(opened.appeal?.deadline).toBe('2027-04-05');
    expect((await sweepAppealDeadlines(deps(), TENANT)).warned).toEqual([]);

    clock = new Date('2027-03-06T18:00:00Z'); // 30 days left in Chicago
    expect((await sweepAppealDeadlines(deps(), TENANT)).warned).toEqual([
      { appeal: opened.appeal?.id, daysLeft: 30, warning: 30 },
    ]);
    expect((await sweepAppealDeadlines(deps(), TENANT)).warned).toEqual([]);

    clock = new Date('2027-03-29T18:00:00Z'); // 7 days left
    const seven = await sweepAppealDeadlines(deps(), TENANT);
    expect(seven.warned.map((w) => w.warning)).toEqual([7]);

    // 03:30 UTC on April 6 is still April 5 in Chicago: the deadline day, not missed.
    clock = new Date('2027-04-06T03:30:00Z');
    expect((await sweepAppealDeadlines(deps(), TENANT)).missed).toEqual([]);
    clock = new Date('2027-04-06T06:00:00Z');
    const missed = await sweepAppealDeadlines(deps(), TENANT);
    expect(missed.missed).toHaveLength(1);
    expect(await sweepAppealDeadlines(deps(), TENANT)).toMatchObject({ warned: [], missed: [] });

    const tasks = await searchAll<Task>(store, TENANT, 'Task');
    const appeal = tasks.find((t) => t.id === opened.appeal?.id);
    expect(appeal?.status).toBe('failed');
    expect(appeal?.businessStatus?.coding?.[0]?.code).toBe('missed');
    expect(appeal?.priority).toBe('urgent');
    const escalation = tasks.find((t) => t.id === missed.missed[0]?.escalation);
    expect(escalation).toMatchObject({
      status: 'ready',
      priority: 'urgent',
      basedOn: [{ reference: `Task/${appeal?.id}` }],
    });
    expect((await searchAll(store, TENANT, 'AuditEvent')).length).toBeGreaterThanOrEqual(4);
  });

  test('an appeal whose deadline has passed is not opened (422, naming the rule)', async () => {
    clock = new Date('2026-12-04T15:00:00Z');
    await seedItem('wi-late', '2026-06-01');
    const late = await openAppeal(deps(), TENANT, 'wi-late', { clientId: 'biller' });
    expect(late.status).toBe(422);
    expect(late.message).toMatch(/passed on 2026-10-04 .*405\.942/);
  });
});

describe('the appeal deadline sweep on a timer', () => {
  test('warns and escalates without anyone asking, once per change; off at 0', async () => {
    clock = new Date('2026-12-04T15:00:00Z');
    await seedItem('wi-timer', '2026-12-02');
    const opened = await openAppeal(deps(), TENANT, 'wi-timer', { clientId: 'biller' });
    expect(opened.appeal?.deadline).toBe('2027-04-06');
    const logger = createLogger('silent');
    const off = new AppealSweepTimer(deps(), 0, logger);
    off.start();
    clock = new Date('2027-03-07T18:00:00Z'); // 30 days left in Chicago
    await off.stop();
    expect(off.sweeps).toBe(0);
    const timer = new AppealSweepTimer(deps(), 50, logger);
    try {
      timer.start();
      const warned = await waitFor('the 30-day warning', async () => {
        const task = (await store.resources.read(TENANT, 'Task', opened.appeal?.id ?? '')) as Task;
        return task.priority === 'asap' ? task : undefined;
      });
      expect(warned.priority).toBe('asap');
      clock = new Date('2027-04-07T18:00:00Z'); // the day after the deadline
      const missed = await waitFor('the missed appeal', async () => {
        const task = (await store.resources.read(TENANT, 'Task', opened.appeal?.id ?? '')) as Task;
        return task.status === 'failed' ? task : undefined;
      });
      expect(missed.businessStatus?.coding?.[0]?.code).toBe('missed');
      const sweeps = timer.sweeps;
      await waitFor('two more sweeps', () => timer.sweeps >= sweeps + 2);
    } finally {
      await timer.stop();
    }
    const escalations = (await searchAll<Task>(store, TENANT, 'Task')).filter((t) =>
      t.basedOn?.some((b) => b.reference === `Task/${opened.appeal?.id}`),
    );
    expect(escalations).toHaveLength(1);
  });
});
