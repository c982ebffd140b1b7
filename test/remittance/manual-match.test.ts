/**
 * `POST /api/remittance/unmatched/{task}/match` over real HTTP on a running server: a payment the
 * payer sent under a patient control number Dripline does not know (a draft EOB and a Task in the
 * unmatched queue) is posted onto the claim a biller names exactly as a matched payment is — the
 * same EOB lines and amounts, claim state and payment status, patient responsibility, denial work
 * item — and the Task is completed naming the claim, the remittance's reconciliation detail points
 * at it, one AuditEvent names what changed. The same match again (or twice at once) answers the same
 * and posts nothing again; another claim after it is a 409; unknown, foreign or other tasks 404;
 * a claim unknown 422, not awaiting payment or paid by the same remittance 409; bad bodies 400;
 * no token 401, missing scopes 403.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  AuditEvent,
  Claim,
  ExplanationOfBenefit,
  PaymentReconciliation,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { officeInfusionContext, SAMPLE_PAYER } from '../../src/claims/x12-samples.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { CS_WORK_QUEUE } from '../../src/contract/recovery.ts';
import { EXT_CLAIM_PAYMENT_STATUS } from '../../src/contract/remittance.ts';
import { createLogger } from '../../src/logger.ts';
import { UNMATCHED_TASK } from '../../src/remittance/jobs.ts';
import { matchUnmatchedPayment } from '../../src/remittance/manual-match.ts';
import type { Store, StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { ClaimPaymentInput } from '../../src/x12/835/write835.ts';
import type { TestServer } from '../support/harness.ts';
import { startTestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { paymentOf, remittance, seedSubmittedClaims, TENANT, TENANTS, WRITE_OPTIONS } from './support.ts';

const RECEIVE =
  'system/DocumentReference.c system/ExplanationOfBenefit.c system/PaymentReconciliation.c system/Claim.u';
const MATCH = 'system/Task.ru system/Claim.ru system/ExplanationOfBenefit.ru system/PaymentReconciliation.u';

let server: TestServer;
let receiver: string;
let biller: string;

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    { ingest: false, chargeCapture: false, claims: false, claimWorkflow: { tenants: TENANTS } },
  );
  receiver = await server.token(TENANT, RECEIVE);
  biller = await server.token(TENANT, MATCH);
});

afterAll(async () => {
  await server?.stop();
});

const store = (): TestServer['running']['store'] => server.running.store;

async function all<T extends Resource>(type: T['resourceType']): Promise<(T & StoredResource)[]> {
  return searchAll<T>(store(), TENANT, type);
}

async function read<T>(type: string, id: string): Promise<T & StoredResource> {
  return (await store().resources.read(TENANT, type, id)) as T & StoredResource;
}

/** Sends an 835 paying these claims and waits until the server has posted its reconciliation. */
async function receive(
  payments: readonly ClaimPaymentInput[],
  trace: string,
): Promise<PaymentReconciliation> {
  const text = await write835ToString([remittance(payments, { trace })], WRITE_OPTIONS);
  const response = await fetch(`${server.url}/api/remittance/835`, {
    method: 'POST',
    headers: { 'content-type': 'application/edi-x12', authorization: `Bearer ${receiver}` },
    body: text,
  });
  expect(response.status).toBe(202);
  return waitFor(`the reconciliation of ${trace}`, async () =>
    (await all<PaymentReconciliation>('PaymentReconciliation')).find(
      (r) => r.paymentIdentifier?.value === trace,
    ),
  );
}

/** The unmatched-queue Task of the payment sent under this patient control number. */
async function unmatchedTask(pcn: string): Promise<Task & StoredResource> {
  const task = (await all<Task>('Task')).find(
    (t) => t.code?.coding?.[0]?.code === UNMATCHED_TASK.code && t.input?.some((i) => i.valueString === pcn),
  );
  if (!task) {
    throw new Error(`no unmatched task for ${pcn}`);
  }
  return task;
}

async function match(
  task: string,
  body: unknown,
  options: { token?: string | undefined; raw?: string } = {},
): Promise<{ status: number; body: any }> {
  const bearer = 'token' in options ? options.token : biller;
  const response = await fetch(`${server.url}/api/remittance/unmatched/${task}/match`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: options.raw ?? JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A payment of this claim the payer sent under another patient control number. */
const garbled = (claim: Claim & { id: string }, pcn: string): ClaimPaymentInput => ({
  ...paymentOf(claim, { denyWaste: true }),
  patientControlNumber: pcn,
});

/** What an EOB says of the payment, whatever its ids (to compare two postings). */
function paymentView(eob: ExplanationOfBenefit): unknown {
  return {
    status: eob.status,
    outcome: eob.outcome,
    payment: { type: eob.payment?.type, amount: eob.payment?.amount },
    total: eob.total,
    adjudication: eob.adjudication,
    items: eob.item?.map((i) => ({
      sequence: i.sequence,
      productOrService: i.productOrService,
      match: i.extension?.filter((e) => !e.url.includes('line-item-control-number')),
      adjudication: i.adjudication,
    })),
  };
}

const denialItemsOf = async (claim: string): Promise<Task[]> =>
  (await all<Task>('Task')).filter(
    (t) => t.focus?.reference === `Claim/${claim}` && t.code?.coding?.some((c) => c.system === CS_WORK_QUEUE),
  );

describe('POST /api/remittance/unmatched/{task}/match', () => {
  test('posts the payment on the claim as a matched payment is posted; the Task completes; the reconciliation names the claim', async () => {
    // Claim 401 paid under its own number (matched); its twin 402 paid alike under a number the
    // payer garbled (unmatched), in the same remittance.
    const [twin, claim] = await seedSubmittedClaims(store(), 2, 401);
    if (!twin || !claim) {
      throw new Error('no claims seeded');
    }
    await receive([paymentOf(twin, { denyWaste: true }), garbled(claim, 'GARBLED-402')], 'MATCH-1');
    const task = await unmatchedTask('GARBLED-402');
    const draftId = task.focus?.reference?.split('/')[1] ?? '';
    expect((await read<ExplanationOfBenefit>('ExplanationOfBenefit', draftId)).status).toBe('draft');
    expect(claimStateOf(await read<Claim>('Claim', claim.id))).toBe('submitted');

    const answer = await match(task.id, { claim: claim.id });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      task: `Task/${task.id}`,
      claim: `Claim/${claim.id}`,
      eob: `ExplanationOfBenefit/${draftId}`,
      outcome: 'partially-paid',
    });

    // The EOB: posted over the draft, as the twin's matched payment was posted.
    const posted = await read<ExplanationOfBenefit>('ExplanationOfBenefit', draftId);
    const twinEob = (await all<ExplanationOfBenefit>('ExplanationOfBenefit')).find(
      (e) => e.claim?.reference === `Claim/${twin.id}`,
    );
    expect(posted.claim?.reference).toBe(`Claim/${claim.id}`);
    expect(posted.patient.reference).toBe(claim.patient.reference);
    expect(paymentView(posted)).toEqual(paymentView(twinEob as ExplanationOfBenefit));
    expect(posted.item?.map((i) => i.sequence)).toEqual([1, 2, 3, 4]);
    const memberLiability = posted.total?.find((t) => t.category.coding?.[0]?.code === 'memberliability');
    expect(memberLiability?.amount?.value).toBe(50);

    // The claim: adjudicated, partially paid, as its twin.
    const stored = await read<Claim>('Claim', claim.id);
    expect(claimStateOf(stored)).toBe('adjudicated');
    expect(stored.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode).toBe(
      'partially-paid',
    );
    expect(stored.meta.versionId).toBe((await read<Claim>('Claim', twin.id)).meta.versionId);

    // The denied JW line: a coding work item, as for the twin.
    const items = await denialItemsOf(claim.id);
    expect(items.map((t) => t.code?.coding?.find((c) => c.system === CS_WORK_QUEUE)?.code)).toEqual(
      (await denialItemsOf(twin.id)).map(
        (t) => t.code?.coding?.find((c) => c.system === CS_WORK_QUEUE)?.code,
      ),
    );
    expect(items).toHaveLength(1);

    // The Task: completed, naming the claim and the EOB.
    const done = await read<Task>('Task', task.id);
    expect(done.status).toBe('completed');
    expect(done.output?.map((o) => o.valueReference?.reference)).toEqual([
      `Claim/${claim.id}`,
      `ExplanationOfBenefit/${draftId}`,
    ]);

    // The remittance: each payment's detail names its claim and its EOB.
    const reconciliation = (await all<PaymentReconciliation>('PaymentReconciliation')).find(
      (r) => r.paymentIdentifier?.value === 'MATCH-1',
    );
    expect(answer.body.reconciliation).toBe(`PaymentReconciliation/${reconciliation?.id ?? ''}`);
    expect(reconciliation?.detail?.map((d) => [d.request?.reference, d.response?.reference])).toEqual([
      [`Claim/${twin.id}`, `ExplanationOfBenefit/${twinEob?.id ?? ''}`],
      [`Claim/${claim.id}`, `ExplanationOfBenefit/${draftId}`],
    ]);

    // One AuditEvent: the biller's client moved the claim and changed the EOB and the Task.
    const events = (await all<AuditEvent>('AuditEvent')).filter((e) =>
      e.entity?.some((x) => x.what?.reference === `Task/${task.id}`),
    );
    expect(events).toHaveLength(2); // the queueing (create) and the match (update)
    const event = events.find((e) => e.action === 'U');
    const lifecycle = (ref: string): string | undefined =>
      event?.entity?.find((x) => x.what?.reference === ref)?.lifecycle?.code;
    expect(lifecycle(`ExplanationOfBenefit/${draftId}`)).toBe('amend');
    expect(lifecycle(`Task/${task.id}`)).toBe('amend');
    expect(lifecycle(`PaymentReconciliation/${reconciliation?.id ?? ''}`)).toBe('amend');
    expect(event?.agent?.[0]?.who?.identifier?.value).not.toBe('dripline/remittance');
  });

  test('the same match again answers the same and posts nothing twice; another claim after it: 409', async () => {
    const [claim, other] = await seedSubmittedClaims(store(), 2, 411);
    if (!claim || !other) {
      throw new Error('no claims seeded');
    }
    await receive([garbled(claim, 'GARBLED-411')], 'MATCH-2');
    const task = await unmatchedTask('GARBLED-411');
    const eob = task.focus?.reference?.split('/')[1] ?? '';
    const first = await match(task.id, { claim: claim.id });
    expect(first.status).toBe(200);
    const claimVersion = (await read<Claim>('Claim', claim.id)).meta.versionId;
    const audits = (await all<AuditEvent>('AuditEvent')).length;
    const workItems = (await denialItemsOf(claim.id)).length;

    const again = await match(task.id, { claim: `Claim/${claim.id}` });
    expect(again).toEqual(first);
    expect((await read<Claim>('Claim', claim.id)).meta.versionId).toBe(claimVersion);
    expect((await store().resources.history(TENANT, 'ExplanationOfBenefit', eob)).total).toBe(2);
    expect((await all<AuditEvent>('AuditEvent')).length).toBe(audits);
    expect((await denialItemsOf(claim.id)).length).toBe(workItems);

    const elsewhere = await match(task.id, { claim: other.id });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.resourceType).toBe('OperationOutcome');
    expect(elsewhere.body.issue[0].details.text).toContain(`Claim/${claim.id}`);
    expect(claimStateOf(await read<Claim>('Claim', other.id))).toBe('submitted');
  });

  test('two matches at once: both answer the same, the payment is posted once', async () => {
    const [claim] = await seedSubmittedClaims(store(), 1, 421);
    if (!claim) {
      throw new Error('no claim seeded');
    }
    await receive([garbled(claim, 'GARBLED-421')], 'MATCH-3');
    const task = await unmatchedTask('GARBLED-421');
    const eob = task.focus?.reference?.split('/')[1] ?? '';
    const before = Number((await read<Claim>('Claim', claim.id)).meta.versionId);
    const [a, b] = await Promise.all([
      match(task.id, { claim: claim.id }),
      match(task.id, { claim: claim.id }),
    ]);
    expect(a.status).toBe(200);
    expect(b).toEqual(a);
    expect(Number((await read<Claim>('Claim', claim.id)).meta.versionId)).toBe(before + 1);
    expect((await store().resources.history(TENANT, 'ExplanationOfBenefit', eob)).total).toBe(2);
  });

  test('a match that meets a concurrent one at its write looks again and answers what that one posted', async () => {
    const [claim] = await seedSubmittedClaims(store(), 1, 426);
    if (!claim) {
      throw new Error('no claim seeded');
    }
    await receive([garbled(claim, 'GARBLED-426')], 'MATCH-3B');
    const task = await unmatchedTask('GARBLED-426');
    const eob = task.focus?.reference?.split('/')[1] ?? '';
    const before = Number((await read<Claim>('Claim', claim.id)).meta.versionId);
    const real = store();
    const deps = {
      store: real,
      publicUrl: server.url,
      now: () => new Date(),
      logger: createLogger('silent'),
      tenants: () => TENANTS,
    };
    // The first match is held at its write until a second one has matched and written.
    let other: Awaited<ReturnType<typeof matchUnmatchedPayment>> | undefined;
    const writeBatch: Store['resources']['writeBatch'] = async (...args) => {
      other ??= await matchUnmatchedPayment(deps, TENANT, task.id, { claim: claim.id }, { clientId: 'b' });
      return real.resources.writeBatch(...args);
    };
    const racing: Pick<Store, 'resources'> = {
      resources: new Proxy(real.resources, {
        get: (target, name) => {
          if (name === 'writeBatch') {
            return writeBatch;
          }
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
    };
    const first = await matchUnmatchedPayment(
      { ...deps, store: racing as Store },
      TENANT,
      task.id,
      { claim: claim.id },
      { clientId: 'a' },
    );
    expect(other?.status).toBe(200);
    expect(first).toEqual(other);
    expect(Number((await read<Claim>('Claim', claim.id)).meta.versionId)).toBe(before + 1);
    expect((await store().resources.history(TENANT, 'ExplanationOfBenefit', eob)).total).toBe(2);
  });

  test('unknown task, another tenant’s task, a task of another queue: 404', async () => {
    const [claim] = await seedSubmittedClaims(store(), 1, 431);
    if (!claim) {
      throw new Error('no claim seeded');
    }
    await receive([garbled(claim, 'GARBLED-431')], 'MATCH-4');
    const task = await unmatchedTask('GARBLED-431');

    const unknown = await match('task-nothing-here', { claim: claim.id });
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');

    const foreign = await server.token('other-clinic', MATCH);
    expect((await match(task.id, { claim: claim.id }, { token: foreign })).status).toBe(404);

    const workItem: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: CS_WORK_QUEUE, code: 'coding' }] },
      focus: { reference: `Claim/${claim.id}` },
    };
    const denial = await store().resources.create(TENANT, workItem);
    expect((await match(denial.resource.id, { claim: claim.id })).status).toBe(404);
    expect((await read<Task>('Task', task.id)).status).toBe('requested');
  });

  test('a claim unknown or another tenant’s: 422; not awaiting payment or paid by this remittance: 409', async () => {
    const [paid, claim] = await seedSubmittedClaims(store(), 2, 441);
    if (!paid || !claim) {
      throw new Error('no claims seeded');
    }
    await receive([paymentOf(paid), garbled(claim, 'GARBLED-442')], 'MATCH-5');
    const task = await unmatchedTask('GARBLED-442');

    const unknown = await match(task.id, { claim: 'clm-nobody' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.issue[0].details.text).toContain('clm-nobody');

    const theirs = officeInfusionContext(449).claim;
    await store().resources.create(
      'other-clinic',
      { ...theirs, extension: [{ url: EXT_CLAIM_STATE, valueCode: 'submitted' }] },
      { id: theirs.id },
    );
    expect((await match(task.id, { claim: theirs.id })).status).toBe(422);

    for (const state of ['built', 'void']) {
      const c = officeInfusionContext(state === 'built' ? 447 : 448).claim;
      await store().resources.create(
        TENANT,
        {
          ...c,
          extension: [
            { url: EXT_CLAIM_STATE, valueCode: state },
            { url: EXT_CLAIM_PAYER, valueString: SAMPLE_PAYER.id },
          ],
        },
        { id: c.id },
      );
      const refused = await match(task.id, { claim: c.id });
      expect(refused.status).toBe(409);
      expect(refused.body.issue[0].details.text).toContain('not awaiting payment');
    }

    const twice = await match(task.id, { claim: paid.id });
    expect(twice.status).toBe(409);
    expect(twice.body.issue[0].details.text).toContain('paid by this remittance already');

    // Nothing was posted by any of them: the Task still waits, the draft is still a draft.
    expect((await read<Task>('Task', task.id)).status).toBe('requested');
    const draft = await read<ExplanationOfBenefit>(
      'ExplanationOfBenefit',
      task.focus?.reference?.split('/')[1] ?? '',
    );
    expect(draft.status).toBe('draft');
  });

  test('bad JSON, no claim, a bad id: 400; no token 401; without the scopes 403', async () => {
    const [claim] = await seedSubmittedClaims(store(), 1, 451);
    if (!claim) {
      throw new Error('no claim seeded');
    }
    await receive([garbled(claim, 'GARBLED-451')], 'MATCH-6');
    const task = await unmatchedTask('GARBLED-451');
    for (const answer of [
      await match(task.id, undefined, { raw: '{"claim": ' }),
      await match(task.id, {}),
      await match(task.id, { claim: 42 }),
      await match(task.id, { claim: 'a b' }),
      await match(task.id, ['claim']),
      await match('bad%20id', { claim: claim.id }),
    ]) {
      expect(answer.status).toBe(400);
      expect(answer.body.resourceType).toBe('OperationOutcome');
    }
    expect((await match(task.id, { claim: claim.id }, { token: undefined })).status).toBe(401);
    // The work item actions' scopes alone do not let a client rewrite payments.
    const workItems = await server.token(TENANT, 'system/Task.u system/Claim.u');
    const refused = await match(task.id, { claim: claim.id }, { token: workItems });
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect((await read<Task>('Task', task.id)).status).toBe('requested');
  });
});
