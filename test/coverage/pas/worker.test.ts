/**
 * Dripline's prior authorization work over real HTTP against the sandbox payer's PAS endpoint, as
 * people ask for it: through the API, kept then sent, pended then approved by the subscription
 * notification; idempotent per order version; Claim Updates and cancels; bad asks; what a person
 * has to act on (a denial, a request for more information); the command line. The payer's side
 * (down, not PAS, notifications received, `$inquire`): worker-payer.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse, MedicationRequest, Task } from '@medplum/fhirtypes';
import { authorizationsOf } from '../../../src/coverage/authorizations.ts';
import { PriorAuthUsageError, runPriorAuth } from '../../../src/cli/prior-auth-command.ts';
import { caseIdOf, PRIOR_AUTH_QUEUE, stateOf } from '../../../src/coverage/pas/records.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../../src/store/port.ts';
import { fhirFetch } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { A, startPasWorkerWorld } from './worker-setup.ts';
import type { PasWorkerWorld } from './worker-setup.ts';

let payer: SandboxPayer;
let server: TestServer;
let token: string;
let world: PasWorkerWorld;
let ask: PasWorkerWorld['ask'];
let submissions: PasWorkerWorld['submissions'];
let stateReached: PasWorkerWorld['stateReached'];

beforeAll(async () => {
  world = await startPasWorkerWorld();
  ({ payer, server, token, ask, submissions, stateReached } = world);
}, 60_000);

afterAll(() => world.stop());

describe('asked through the API', () => {
  test('kept, sent, pended, approved by the subscription notification; the status answers it', async () => {
    const asked = await ask('mr-1');
    expect(asked.status).toBe(202);
    const approved = await stateReached(A, 'mr-1', 1, 'certified');
    const states = (await server.running.store.resources.history(A, 'Claim', approved.id)).resources
      .map((v) => stateOf(v as Claim))
      .reverse();
    expect(states).toEqual(['prepared', 'pended', 'certified']);
    const status = await fhirFetch(`${server.url}/api/prior-auth?order=MedicationRequest/mr-1`, token);
    expect(status.status).toBe(200);
    expect(status.body.cases).toEqual([
      expect.objectContaining({
        payer: 'buckeye',
        status: 'certified',
        items: [
          expect.objectContaining({
            decision: 'certified',
            number: expect.stringMatching(/^AUTH/),
            authorized: { code: 'J1745', units: 120 },
          }),
        ],
      }),
    ]);
  });

  test('the same order version asked again sends nothing new', async () => {
    const before = payer.pas.cases().length;
    await ask('mr-1');
    // Nothing but the subscription's silence check (always waiting for its time) still to run.
    const toRun = async (state: 'ready' | 'leased'): Promise<string[]> =>
      (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, state, 10))
        .map((j) => j.key)
        .filter((k) => !k.startsWith('subscription-check|'));
    await waitFor(
      'the ask processed',
      async () => (await toRun('ready')).length === 0 && (await toRun('leased')).length === 0,
    );
    expect((await submissions(A, 'mr-1')).length).toBe(1);
    expect(payer.pas.cases().length).toBe(before);
  });

  test('the order changes (a fourth dose): a Claim Update relating to the first, which is superseded', async () => {
    const current = (await server.running.store.resources.read(
      A,
      'MedicationRequest',
      'mr-1',
    )) as MedicationRequest & StoredResource;
    await server.running.store.resources.update(A, {
      ...current,
      dosageInstruction: [{ ...current.dosageInstruction![0]!, timing: { repeat: { count: 4 } } }],
    });
    await ask('mr-1');
    const update = await stateReached(A, 'mr-1', 2, 'certified');
    expect(update.related?.[0]?.claim?.reference).toBe(`Claim/${(await submissions(A, 'mr-1'))[0]!.id}`);
    expect(update.item?.[0]?.quantity?.value).toBe(160);
    expect(stateOf((await submissions(A, 'mr-1'))[0]!)).toBe('superseded');
    // One case at the payer: the update changed it.
    expect(
      payer.pas.cases().filter((c) => c.items.some((i) => i.code === 'J1745' && i.units === 160)),
    ).toHaveLength(1);
  });

  test('cancel: a Claim Update cancelling all; the authorization on file authorizes nothing any more', async () => {
    expect((await ask('mr-1', { cancel: true })).status).toBe(202);
    const cancelled = await stateReached(A, 'mr-1', 3, 'cancelled');
    const caseId = caseIdOf(cancelled.id);
    const response = (await server.running.store.resources.read(A, 'ClaimResponse', caseId)) as ClaimResponse;
    expect(response.status).toBe('cancelled');
    expect(authorizationsOf([response], [cancelled])).toEqual([]);
  });

  test('bad asks: no order, an unknown order, a token without the scopes', async () => {
    expect(
      (
        await fhirFetch(`${server.url}/api/prior-auth`, token, {
          method: 'POST',
          body: { cancel: 'yes' },
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(400);
    expect((await ask('nope')).status).toBe(404);
    const weak = await server.token(A, 'system/Claim.r');
    const refused = await ask('mr-1', {}, weak);
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
  });
});

describe('what a person has to act on', () => {
  const caseOf = (claim: Claim & StoredResource): string => caseIdOf(claim.id);

  test('a denial: the ClaimResponse on file authorizes nothing; an urgent work item names the payer’s reason', async () => {
    await ask('mr-6');
    const denied = await stateReached(A, 'mr-6', 1, 'denied');
    const response = (await server.running.store.resources.read(
      A,
      'ClaimResponse',
      caseOf(denied),
    )) as ClaimResponse;
    expect(authorizationsOf([response], [denied])).toEqual([]);
    const task = (await server.running.store.resources.read(A, 'Task', `${caseOf(denied)}-work`)) as Task;
    expect(task.code?.coding?.[0]?.code).toBe('denied');
    expect(task.priority).toBe('urgent');
    expect(task.note?.at(-1)?.text).toMatch(/no documented trial of a conventional DMARD/);
  });

  test('a request for more information: a work item naming what the payer needs, closed when the payer decides', async () => {
    await ask('mr-7');
    const pended = await stateReached(A, 'mr-7', 1, 'pended');
    const taskId = `${caseOf(pended)}-work`;
    const task = (await server.running.store.resources.read(A, 'Task', taskId)) as Task;
    expect(task.code?.coding?.[0]?.code).toBe('more-information');
    expect(task.status).toBe('requested');
    expect(task.note?.at(-1)?.text).toMatch(/Serum IgG level and infection history/);
    await stateReached(A, 'mr-7', 1, 'certified');
    const done = await waitFor('the work item closed', async () => {
      const t = (await server.running.store.resources.read(A, 'Task', taskId)) as Task;
      return t.status === 'completed' ? t : undefined;
    });
    expect(done.note?.at(-1)?.text).toMatch(/decided .*: certified/);
  });
});

describe('asked from the command line (npm run cli -- prior-auth)', () => {
  test('queued on the store the server runs on; --wait answers where the order stands', async () => {
    const result = await runPriorAuth(server.config, server.running.store, [
      'MedicationRequest/mr-5',
      '--tenant',
      A,
      '--wait',
      '20',
    ]);
    expect(result).toMatchObject({ order: 'MedicationRequest/mr-5', tenant: A, queued: true });
    expect(result['cases']).toEqual([
      expect.objectContaining({
        payer: 'buckeye',
        status: 'certified',
        items: [expect.objectContaining({ authorized: { code: 'J1439', units: 1500 } })],
      }),
    ]);
  });

  test('usage errors name what is wrong; nothing is queued', async () => {
    const before = (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 100)).length;
    const run = (argv: string[]): Promise<unknown> => runPriorAuth(server.config, server.running.store, argv);
    await expect(run([])).rejects.toThrow(PriorAuthUsageError);
    await expect(run(['mr-5'])).rejects.toThrow(/name the tenant/);
    await expect(run(['mr-5', '--tenant', 'nobody'])).rejects.toThrow(/name the tenant/);
    await expect(run(['nope', '--tenant', A])).rejects.toThrow(/not on file/);
    await expect(run(['mr-5', '--tenant', A, '--wait', 'soon'])).rejects.toThrow(/--wait/);
    expect((await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 100)).length).toBe(before);
  });
});
