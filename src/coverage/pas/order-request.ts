/**
 * The `order` job of the prior authorization worker (./worker.ts): an order received from the EHR,
 * or asked for through the API or CLI, becomes a PAS request when the payer's rules say its drug
 * needs one (./order-plan.ts). The request is built and validated against the PAS profiles, kept
 * (Claim + the exact Bundle) with its send queued in one transaction (./send.ts), so a retry sends
 * the same bytes and an order version never leads to two different requests. A new version of an
 * order with a live request is a Claim Update, a withdrawn order a cancel; what is already asked is
 * not asked again (a pended request is followed again instead: ./follow-up.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Claim } from '@medplum/fhirtypes';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { TenantId } from '../../store/port.ts';
import type { PriorAuthTable } from './auth-rules.ts';
import { loadPriorAuthTable } from './auth-rules.ts';
import { enqueueSubscribe, followUp } from './follow-up.ts';
import type { FollowUpContext } from './follow-up.ts';
import type { PriorAuthJob } from './jobs.ts';
import { planOrder } from './order-plan.ts';
import { validatePasRequestBundle } from './profiles.ts';
import {
  asSent,
  auditWrite,
  caseIdFor,
  messageDocument,
  PRIOR_AUTH_QUEUE,
  requestDocumentId,
  stateOf,
  submissionId,
  submissionsOf,
  withState,
  writeWork,
} from './records.ts';
import { buildPasRequest, buildPasUpdate } from './request-bundle.ts';
import { enqueueSend, sendKey } from './send.ts';

/** What the order job needs beside the follow-up context: the coding tables and the worker's loop. */
export interface OrderContext extends FollowUpContext {
  readonly tables: CodingTables;
  readonly priorAuth?: PriorAuthTable;
  /** Wakes the worker's loop: a job it just queued is due now. */
  notify(): void;
}

/** Not yet: the job is tried again later (its data has not arrived). */
class NotYet extends Error {
  readonly retryable = true;
}

/** The request asks for exactly these services (its cancelled items aside). */
const SAME = (
  claim: Claim,
  services: readonly { code: string; units?: number; start: string; end: string }[],
): boolean =>
  JSON.stringify(
    (claim.item ?? [])
      .filter((i) => !i.modifierExtension?.some((e) => e.valueBoolean === true))
      .map((i) => [
        i.productOrService.coding?.[0]?.code,
        i.quantity?.value,
        i.servicedPeriod?.start,
        i.servicedPeriod?.end,
      ]),
  ) === JSON.stringify(services.map((s) => [s.code, s.units, s.start, s.end]));

/** States after which a new order version is a new request, not an update (spec-64: no update after a denial). */
const CLOSED = new Set(['denied', 'rejected', 'error', 'cancelled', 'unanswered']);

export async function runOrder(
  ctx: OrderContext,
  tenant: TenantId,
  job: Extract<PriorAuthJob, { kind: 'order' }>,
): Promise<void> {
  const config = ctx.tenant(tenant);
  const now = ctx.now();
  const plan = await planOrder(
    {
      store: ctx.store,
      tenant: config,
      tables: ctx.tables,
      priorAuth: ctx.priorAuth ?? loadPriorAuthTable(),
      now: ctx.now,
    },
    job.order,
    job.orderType ?? 'MedicationRequest',
  );
  const orderRef = `${job.orderType ?? 'MedicationRequest'}/${job.order}`;
  if (plan.kind === 'waiting') {
    throw new NotYet(plan.reason);
  }
  if (plan.kind === 'not-needed') {
    ctx.logger.debug({ tenant, order: job.order, reason: plan.reason }, 'no prior authorization request');
    return;
  }
  const caseId = caseIdFor(tenant, plan.payer.id, orderRef);
  const work = (input: Parameters<typeof writeWork>[3]): Promise<void> =>
    writeWork(ctx.store, tenant, { payer: plan.payer.id, now: ctx.now(), publicUrl: ctx.publicUrl }, input);
  if (plan.kind === 'cannot') {
    await work({
      id: `${caseId}-work`,
      code: 'cannot-request',
      note: plan.reason,
      focus: orderRef,
      ...(plan.patient ? { patient: plan.patient } : {}),
    });
    return;
  }
  if (plan.payer.pas.subscription !== 'off') {
    // Subscribed before the first request goes out: the payer notifies only subscriptions it has.
    await enqueueSubscribe(ctx, tenant, plan.payer);
  }
  const submissions = await submissionsOf(ctx.store, tenant, caseId);
  const latest = submissions.at(-1);
  if (latest && stateOf(latest) === 'prepared') {
    // Kept but not yet answered (its send still queued, or dead after its last attempt): send what was kept.
    return enqueueSend(ctx, tenant, caseId, latest.id);
  }
  if (latest && stateOf(latest) === 'unanswered' && !job.cancel) {
    // The payer's answer could not be read: the same request goes again, byte for byte.
    await ctx.store.resources.writeBatch(tenant, [
      {
        op: 'update',
        resource: withState(latest, 'prepared'),
        options: { ifMatchVersion: latest.meta.versionId, upsert: false },
      },
    ]);
    return enqueueSend(ctx, tenant, caseId, latest.id);
  }
  const cancel = job.cancel === true || plan.withdrawn;
  const live = latest && !CLOSED.has(stateOf(latest) ?? '') ? latest : undefined;
  if (cancel && !live) {
    return;
  }
  if (!cancel && live && SAME(live, plan.services)) {
    // This order version asks for what is already asked. A pended request is followed again if
    // nothing follows it (its last inquiry died while the payer was unavailable); a person asking
    // about one pended at any payer inquires now (the round waiting for its time runs now).
    const person = job.asked === true;
    if (
      stateOf(live) === 'pended' &&
      (await followUp(ctx, tenant, plan.payer, caseId, { asked: true, person }))
    ) {
      ctx.logger.info(
        { tenant, case: caseId, submission: live.id },
        'prior authorization inquiry queued to run now',
      );
      ctx.notify();
    }
    return;
  }
  const n = submissions.length + 1;
  const id = submissionId(caseId, n);
  const input = {
    fhirBase: `${ctx.publicUrl}/fhir`,
    tenant,
    claimId: id,
    transactionId: id,
    trace: id,
    now: now.toISOString(),
    claimType: plan.claimType,
    parties: plan.parties,
    transmission: {
      applicationSenderCode: 'DRIPLINE',
      applicationReceiverCode: plan.payer.pas.receiverId ?? plan.payer.payerId,
      interchangeSenderId: plan.parties.requestor.npi,
      interchangeReceiverId: plan.payer.pas.receiverId ?? plan.payer.payerId,
    },
    diagnoses: plan.diagnoses,
    services: plan.services,
    doses: plan.doses,
  };
  const bundle = live
    ? buildPasUpdate({ ...input, prior: asSent(live), cancel: cancel ? 'all' : [] })
    : buildPasRequest(input);
  const invalid = validatePasRequestBundle(bundle);
  const patient = plan.parties.order.subject.reference ?? '';
  if (invalid) {
    // Never sent: what the request lacks is a person's to fix (the order, the coverage, the configuration).
    const why = (invalid.issue ?? [])
      .map((i) => `${i.details?.text ?? ''} (${i.expression?.[0] ?? ''})`)
      .join('; ');
    await work({
      id: `${caseId}-work`,
      code: 'cannot-request',
      note: `The PAS request for ${plan.source} does not conform: ${why}`,
      focus: orderRef,
      patient,
    });
    return;
  }
  const text = JSON.stringify(bundle);
  const claim = withState(bundle.entry?.[0]?.resource as Claim & { id: string }, 'prepared', {
    source: plan.source,
    payer: plan.payer.id,
  });
  const document = messageDocument({
    id: requestDocumentId(id),
    kind: 'request',
    text,
    claim: `Claim/${id}`,
    patient,
    now,
  });
  const send: PriorAuthJob = { kind: 'send', caseId, claim: id, document: document.id };
  await ctx.store.resources.writeBatch(tenant, [
    { op: 'create', resource: claim, options: { id } },
    { op: 'create', resource: document, options: { id: document.id } },
    auditWrite({
      id: randomUUID(),
      now,
      payer: plan.payer.id,
      created: true,
      resources: [claim, document],
      publicUrl: ctx.publicUrl,
    }),
    { op: 'enqueue', job: { queue: PRIOR_AUTH_QUEUE, key: sendKey(id), payload: send } },
  ]);
  ctx.logger.info(
    { tenant, case: caseId, submission: id, update: live !== undefined, cancel, rule: plan.rule },
    'prior authorization request kept',
  );
  ctx.notify();
}
