/**
 * The prior authorization worker (queue `prior-auth`): an order received from the EHR, or asked for
 * through the API or CLI, becomes a PAS request when the payer's rules say its drug needs one; the
 * request is built and validated against the PAS profiles, kept (Claim + the exact Bundle) and only
 * then sent, so a retry sends the same bytes and an order version never leads to two different
 * requests; answers, notifications and inquiries are applied by ./answers.ts.
 *
 * Jobs (durable, keyed so the same event twice is one job):
 * - `order`: plan (./order-plan.ts), then the initial request, a Claim Update (the order's units or
 *   dates changed) or a cancel (the order was withdrawn, or the API asked); key `order|{id}|{version}`;
 * - `send`: POST the kept Bundle to the payer's `Claim/$submit` (payer down: retried with backoff;
 *   after the last attempt a person is told, and asking again queues a new send);
 * - `notification`: a payer's subscription notification, matched to this tenant's request;
 * - `inquire`: `$inquire` for a pended request on the payer's slow schedule (`pas.inquireMinutes`;
 *   backing off to a day where the payer notifies: ./inquiry-schedule.ts), one round at a time per
 *   case (./follow-up.ts): how a payer without a subscription is followed, and at a subscribed payer
 *   the fallback when no notification has decided the request by then; a person's ask runs the
 *   waiting round now; after the last attempt of a round a person is told, and asking again
 *   inquires again; on start, a pended request no round follows gets one (resumeRounds);
 * - `subscribe`: make sure the tenant's PAS subscription at a payer exists;
 * - `unsubscribe`: delete one Dripline made and does not keep (./subscription-orphan.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Claim, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { Logger } from '../../logger.ts';
import type { Job, Store, TenantId } from '../../store/port.ts';
import { keptThrough, LeaseKeeper, LeaseLost } from '../../store/lease-keeper.ts';
import { LoopingWorker } from '../../store/worker-loop.ts';
import type { AnswerContext } from './answers.ts';
import { applyAnswer } from './answers.ts';
import type { PriorAuthTable } from './auth-rules.ts';
import { loadPriorAuthTable } from './auth-rules.ts';
import {
  applyNotification,
  enqueueSubscribe,
  ensureSubscription,
  followUp,
  followUpEnded,
  inquire,
  payerOfSubmission,
  resumeRounds,
} from './follow-up.ts';
import type { FollowUpContext } from './follow-up.ts';
import type { PriorAuthJob } from './jobs.ts';
import { enqueueInLine } from './jobs.ts';
import { planOrder } from './order-plan.ts';
import type { PasPayerPort } from './payer-client.ts';
import { createPasPayerPort, PasPayerUnavailable } from './payer-client.ts';
import { validatePasRequestBundle } from './profiles.ts';
import type { PasTaskCode } from './records.ts';
import {
  asSent,
  auditWrite,
  caseIdFor,
  EXCHANGE_WORK,
  messageDocument,
  messageText,
  payerOf,
  PRIOR_AUTH_QUEUE,
  requestDocumentId,
  stateOf,
  submissionId,
  submissionsOf,
  withState,
  writeWork,
} from './records.ts';
import { buildPasRequest, buildPasUpdate } from './request-bundle.ts';
import { subscriptionWorkId } from './subscription.ts';
import { unsubscribe } from './subscription-orphan.ts';
import { readOptional } from '../../store/read-optional.ts';

export interface PriorAuthWorkerDeps {
  readonly store: Store;
  /** The tenants with their payers (sandbox payers are added at run time). */
  readonly tenants: () => readonly TenantConfig[];
  readonly tables: CodingTables;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly leaseMs?: number;
  readonly pollMs?: number;
  readonly priorAuth?: PriorAuthTable;
  /** The PAS port of a payer (tests); default SMART Backend Services over HTTP. */
  readonly payerPort?: (payer: PayerEndpoint) => PasPayerPort;
}

/** Not yet: the job is tried again later (its data has not arrived, or the payer is unavailable). */
class NotYet extends Error {
  readonly retryable = true;
}

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

/** The key of a kept request's send (the first of its line: #enqueueSend). */
const sendKey = (claim: string): string => `send|${claim}`;

/** States after which a new order version is a new request, not an update (spec-64: no update after a denial). */
const CLOSED = new Set(['denied', 'rejected', 'error', 'cancelled', 'unanswered']);

export class PriorAuthWorker extends LoopingWorker {
  readonly #deps: PriorAuthWorkerDeps;
  readonly #ports = new Map<string, PasPayerPort>();
  /** The first batch after `start()` resumes the tenants' inquiry rounds first (#resumeRounds). */
  #resume = false;

  constructor(deps: PriorAuthWorkerDeps) {
    super({
      name: 'prior authorization worker',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      now: deps.now,
    });
    // Its retries and the inquiries it schedules wake its loop when due (LoopingWorker.ownStore),
    // not at the next poll.
    this.#deps = { ...deps, store: this.ownStore(deps.store, [PRIOR_AUTH_QUEUE]) };
  }

  override start(): void {
    this.#resume = true;
    super.start();
  }

  /**
   * Each tenant's pended requests that no inquiry round follows get one (resumeRounds): those
   * pended at a subscribed payer before rounds followed requests there, and any whose last round
   * died. Once per start, in the loop (never beside a batch); a tenant it fails for is logged and
   * left to the next start (or a person's ask).
   */
  async #resumeRounds(): Promise<void> {
    for (const tenant of this.#deps.tenants()) {
      try {
        const queued = await resumeRounds(this.#followUpContext(), tenant.id);
        this.#deps.logger.info({ tenant: tenant.id, queued }, 'prior authorization inquiry rounds resumed');
      } catch (err) {
        this.#deps.logger.warn(
          { tenant: tenant.id, err: (err as Error).message },
          'prior authorization inquiry rounds not resumed',
        );
      }
    }
  }

  async runOnce(): Promise<number> {
    if (this.#resume) {
      this.#resume = false;
      await this.#resumeRounds();
    }
    const leaseMs = this.#deps.leaseMs ?? 60_000;
    const jobs = await this.#deps.store.jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs,
      limit: 8,
      now: this.#deps.now(),
    });
    for (const job of jobs) {
      // The payer's answer can take longer than the lease: its calls keep the job's lease.
      const keeper = new LeaseKeeper({
        jobs: this.#deps.store.jobs,
        leased: [job],
        leaseMs,
        now: this.#deps.now,
        onRenewalError: (err) =>
          this.#deps.logger.warn(
            { job: job.id, err: (err as Error).message },
            'prior authorization job lease not renewed; trying again',
          ),
      });
      try {
        await this.#handle(job, keeper);
        await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
      } catch (err) {
        if (err instanceof LeaseLost) {
          // Another worker leased the job while the payer answered: it makes the call and records
          // its answer. Recording this one too could put an older answer over the owner's.
          this.#deps.logger.warn(
            { job: job.id, kind: job.key.split('|')[0], tenant: job.tenant },
            'prior authorization job lease lost during a payer call; its answer is left to the job owner',
          );
          continue;
        }
        const retryable = (err as { retryable?: unknown }).retryable === true;
        this.#deps.logger.warn(
          { job: job.key.split('|')[0], attempts: job.attempts, err: (err as Error).message },
          'prior authorization job failed',
        );
        if (job.attempts >= job.maxAttempts || !retryable) {
          await this.#gaveUp(job, err as Error).catch(() => undefined);
        }
        await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
          error: (err as Error).message,
          retryable,
          now: this.#deps.now(),
        });
      }
    }
    return jobs.length;
  }

  #tenant(id: TenantId): TenantConfig {
    const tenant = this.#deps.tenants().find((t) => t.id === id);
    if (!tenant) {
      throw new Error(`unknown tenant ${id}`);
    }
    return tenant;
  }

  #port(payer: PayerEndpoint): PasPayerPort {
    const key = `${payer.id}|${payer.pas?.fhirBaseUrl ?? ''}|${payer.clientId ?? ''}`;
    let port = this.#ports.get(key);
    if (!port) {
      port = this.#deps.payerPort?.(payer) ?? createPasPayerPort(payer, { now: this.#deps.now });
      this.#ports.set(key, port);
    }
    return port;
  }

  /** With `keeper`: each payer call keeps the lease of the job in hand (LeaseKeeper.during). */
  #followUpContext(keeper?: LeaseKeeper): FollowUpContext {
    return {
      store: this.#deps.store,
      publicUrl: this.#deps.publicUrl,
      now: this.#deps.now,
      logger: this.#deps.logger,
      tenant: (id) => this.#tenant(id),
      port: (payer) => (keeper ? keptThrough(this.#port(payer), keeper) : this.#port(payer)),
      answers: (tenant) => this.#context(tenant),
    };
  }

  #context(tenant: TenantId): AnswerContext {
    return {
      store: this.#deps.store,
      tenant,
      publicUrl: this.#deps.publicUrl,
      now: this.#deps.now(),
      newId: randomUUID,
    };
  }

  async #handle(job: Job, keeper: LeaseKeeper): Promise<void> {
    const payload = job.payload as PriorAuthJob;
    switch (payload.kind) {
      case 'order':
        return this.#order(job.tenant, payload);
      case 'send':
        return this.#send(job.tenant, payload, this.#followUpContext(keeper));
      case 'notification':
        return applyNotification(this.#followUpContext(), job.tenant, payload);
      case 'inquire':
        return inquire(this.#followUpContext(keeper), job.tenant, payload);
      case 'subscribe':
        return ensureSubscription(this.#followUpContext(keeper), job.tenant, payload.payer);
      case 'unsubscribe':
        return this.#unsubscribe(job.tenant, payload, this.#followUpContext(keeper));
    }
  }

  /**
   * The last attempt failed: a person is told what happened and what to do (the request stays as it
   * was kept). Only an unavailable payer is retried (PasPayerUnavailable): a retryable error at the
   * last attempt means every attempt met it.
   */
  async #gaveUp(job: Job, err: Error): Promise<void> {
    const payload = job.payload as PriorAuthJob;
    const unavailable = (err as { retryable?: unknown }).retryable === true;
    if (payload.kind === 'send') {
      const claim = await readOptional<Claim>(this.#deps.store, job.tenant, 'Claim', payload.claim);
      // Asking again is what sends the request then (#enqueueSend gives a dead send a successor). An
      // open work item about what was asked (the payer needs more information, before this Claim
      // Update) stays what it is, as for a dead inquiry.
      return this.#tell(job.tenant, payload.caseId, claim, {
        keepOpenWork: true,
        note: unavailable
          ? `${payload.claim} could not be sent: the payer was unavailable on all ${job.attempts} attempts (last: ${err.message}). The request is kept as built; asking for the order's prior authorization again sends it.`
          : `Sending ${payload.claim} failed (${err.message}). Once that is fixed, asking for the order's prior authorization again sends the kept request.`,
        focus: `Claim/${payload.claim}`,
      });
    }
    if (payload.kind === 'inquire') {
      const submissions = await submissionsOf(this.#deps.store, job.tenant, payload.caseId);
      const pended = submissions.filter((c) => stateOf(c) !== 'superseded').at(-1);
      if (!pended || stateOf(pended) !== 'pended') {
        return; // decided meanwhile (a notification, a newer request): nothing is left to follow
      }
      // Nothing follows the request any more; asking again queues an inquiry (followUp, asked). An
      // open work item about what was asked (the payer needs more information) stays what it is:
      // an answer to a later inquiry must not close it as if it were only about reaching the payer.
      return this.#tell(job.tenant, payload.caseId, pended, {
        keepOpenWork: true,
        note: unavailable
          ? `${pended.id} is pended at the payer, and the inquiry about it could not be made: the payer was unavailable on all ${job.attempts} attempts (last: ${err.message}). Dripline no longer follows it; asking for the order's prior authorization again inquires again.`
          : `${pended.id} is pended at the payer, and the inquiry about it failed (${err.message}). Dripline no longer follows it; once that is fixed, asking for the order's prior authorization again inquires again.`,
        focus: `Claim/${pended.id}`,
      });
    }
    if (payload.kind === 'subscribe') {
      return this.#subscribeGaveUp(job, err, unavailable);
    }
    if (payload.kind === 'unsubscribe') {
      // Left at the payer: its notifications carry a secret Dripline no longer holds and are refused.
      this.#deps.logger.error(
        { tenant: job.tenant, payer: payload.payer, subscription: payload.subscription, err: err.message },
        'PAS subscription Dripline does not keep could not be deleted at the payer',
      );
    }
  }

  /** Deletes a subscription Dripline made and does not keep (./subscription-orphan.ts). */
  async #unsubscribe(
    tenant: TenantId,
    job: Extract<PriorAuthJob, { kind: 'unsubscribe' }>,
    kept: FollowUpContext,
  ): Promise<void> {
    const payer = this.#tenant(tenant).payers.find((p) => p.id === job.payer);
    if (!payer?.pas) {
      return; // no longer configured: nothing to ask it with
    }
    await unsubscribe(kept.port(payer), job);
    this.#deps.logger.info(
      { tenant, payer: job.payer, subscription: job.subscription },
      'PAS subscription Dripline does not keep deleted at the payer',
    );
  }

  /**
   * Dripline could not subscribe at the payer: no notification will come, so its pended requests
   * are followed by `$inquire` only (followUp's fallback). A person is told on the payer's work item
   * (not a case's: the subscription serves them all); a later subscribe that succeeds closes it.
   */
  async #subscribeGaveUp(job: Job, err: Error, unavailable: boolean): Promise<void> {
    const payload = job.payload as Extract<PriorAuthJob, { kind: 'subscribe' }>;
    const payer = this.#tenant(job.tenant).payers.find((p) => p.id === payload.payer);
    if (!payer?.pas) {
      return;
    }
    const minutes = payer.pas.inquireMinutes;
    const relying = `Until it does, ${payer.name}'s pended prior authorization requests are followed by inquiries only (Claim/$inquire, ${minutes} minutes after each pend or inquiry), so decisions arrive later; asking for a pended order's prior authorization inquires at once.`;
    await this.#work(job.tenant, payer.id, {
      id: subscriptionWorkId(payer.id),
      code: 'payer-error',
      note: unavailable
        ? `Dripline could not subscribe to ${payer.name}'s prior authorization notifications: the payer was unavailable on all ${job.attempts} attempts (last: ${err.message}). ${relying} Asking for any order's prior authorization at this payer tries to subscribe again.`
        : `Subscribing to ${payer.name}'s prior authorization notifications failed (${err.message}). ${relying} Once that is fixed (the payer's PAS endpoint or credentials in the configuration), asking for any order's prior authorization at this payer subscribes again.`,
    });
  }

  /** Writes a work item with its AuditEvent (writeWork). */
  #work(tenant: TenantId, payer: string, input: Parameters<typeof writeWork>[3]): Promise<void> {
    const { store, publicUrl } = this.#deps;
    return writeWork(store, tenant, { payer, now: this.#deps.now(), publicUrl }, input);
  }

  /**
   * The case's work item says what happened with the exchange (`payer-error`), for the request's
   * patient; with `keepOpenWork`, an open work item about what was asked keeps its code (the note
   * is added to it).
   */
  async #tell(
    tenant: TenantId,
    caseId: string,
    claim: Claim | undefined,
    what: { readonly note: string; readonly focus: string; readonly keepOpenWork?: boolean },
  ): Promise<void> {
    const task = await readOptional<Task>(this.#deps.store, tenant, 'Task', `${caseId}-work`);
    const open =
      task?.status === 'requested' ? (task.code?.coding?.[0]?.code as PasTaskCode | undefined) : undefined;
    const code = what.keepOpenWork && open && !EXCHANGE_WORK.has(open) ? open : 'payer-error';
    const patient = claim?.patient.reference;
    await this.#work(tenant, (claim && payerOf(claim)) ?? 'unknown', {
      id: `${caseId}-work`,
      code,
      note: what.note,
      focus: what.focus,
      ...(patient ? { patient } : {}),
    });
  }

  async #order(tenant: TenantId, job: Extract<PriorAuthJob, { kind: 'order' }>): Promise<void> {
    const config = this.#tenant(tenant);
    const now = this.#deps.now();
    const plan = await planOrder(
      {
        store: this.#deps.store,
        tenant: config,
        tables: this.#deps.tables,
        priorAuth: this.#deps.priorAuth ?? loadPriorAuthTable(),
        now: this.#deps.now,
      },
      job.order,
      job.orderType ?? 'MedicationRequest',
    );
    const orderRef = `${job.orderType ?? 'MedicationRequest'}/${job.order}`;
    if (plan.kind === 'waiting') {
      throw new NotYet(plan.reason);
    }
    if (plan.kind === 'not-needed') {
      this.#deps.logger.debug(
        { tenant, order: job.order, reason: plan.reason },
        'no prior authorization request',
      );
      return;
    }
    const caseId = caseIdFor(tenant, plan.payer.id, orderRef);
    if (plan.kind === 'cannot') {
      await this.#work(tenant, plan.payer.id, {
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
      await enqueueSubscribe(this.#followUpContext(), tenant, plan.payer);
    }
    const submissions = await submissionsOf(this.#deps.store, tenant, caseId);
    const latest = submissions.at(-1);
    if (latest && stateOf(latest) === 'prepared') {
      // Kept but not yet answered (its send still queued, or dead after its last attempt): send what was kept.
      return this.#enqueueSend(tenant, caseId, latest.id);
    }
    if (latest && stateOf(latest) === 'unanswered' && !job.cancel) {
      // The payer's answer could not be read: the same request goes again, byte for byte.
      await this.#deps.store.resources.writeBatch(tenant, [
        {
          op: 'update',
          resource: withState(latest, 'prepared'),
          options: { ifMatchVersion: latest.meta.versionId, upsert: false },
        },
      ]);
      return this.#enqueueSend(tenant, caseId, latest.id);
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
        (await followUp(this.#followUpContext(), tenant, plan.payer, caseId, { asked: true, person }))
      ) {
        this.#deps.logger.info(
          { tenant, case: caseId, submission: live.id },
          'prior authorization inquiry queued to run now',
        );
        this.notify();
      }
      return;
    }
    const n = submissions.length + 1;
    const id = submissionId(caseId, n);
    const input = {
      fhirBase: `${this.#deps.publicUrl}/fhir`,
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
      await this.#work(tenant, plan.payer.id, {
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
    await this.#deps.store.resources.writeBatch(tenant, [
      { op: 'create', resource: claim, options: { id } },
      { op: 'create', resource: document, options: { id: document.id } },
      auditWrite({
        id: randomUUID(),
        now,
        payer: plan.payer.id,
        created: true,
        resources: [claim, document],
        publicUrl: this.#deps.publicUrl,
      }),
      { op: 'enqueue', job: { queue: PRIOR_AUTH_QUEUE, key: sendKey(id), payload: send } },
    ]);
    this.#deps.logger.info(
      { tenant, case: caseId, submission: id, update: live !== undefined, cancel, rule: plan.rule },
      'prior authorization request kept',
    );
    this.notify();
  }

  /**
   * Queues a send of a kept request unless one is still queued (enqueueInLine): a re-run order job
   * or a second ask adds nothing while a send is ready or leased, and an ask after the last send
   * died (the payer unavailable on every attempt) gets a new one. The first of the line is the send
   * kept with the request (`send|{claim}`).
   */
  async #enqueueSend(tenant: TenantId, caseId: string, claim: string): Promise<void> {
    const payload: PriorAuthJob = { kind: 'send', caseId, claim, document: requestDocumentId(claim) };
    if (await enqueueInLine(this.#deps.store, tenant, sendKey(claim), payload)) {
      this.notify();
    }
  }

  async #send(
    tenant: TenantId,
    job: Extract<PriorAuthJob, { kind: 'send' }>,
    kept: FollowUpContext,
  ): Promise<void> {
    const claim = await readOptional<Claim>(this.#deps.store, tenant, 'Claim', job.claim);
    if (!claim || stateOf(claim) !== 'prepared') {
      return; // answered already
    }
    const document = await readOptional(this.#deps.store, tenant, 'DocumentReference', job.document);
    if (!document || document.resourceType !== 'DocumentReference') {
      throw new Error(`the kept request ${job.document} of ${job.claim} is missing`);
    }
    const payer = payerOfSubmission(kept, tenant, claim);
    const answer = await kept.port(payer).submit(messageText(document));
    const outcome = await applyAnswer(
      this.#context(tenant),
      { caseId: job.caseId, submission: claim, payer },
      { kind: 'answer', ...answer },
    );
    this.#deps.logger.info(
      { tenant, submission: job.claim, status: answer.status, decision: outcome.state },
      'prior authorization answered',
    );
    if (outcome.followUp) {
      await followUp(this.#followUpContext(), tenant, payer, job.caseId);
    } else if (outcome.state !== 'unchanged') {
      await followUpEnded(this.#followUpContext(), tenant, job.caseId);
    }
  }
}

export { PasPayerUnavailable };
export { enqueueOrder, priorAuthJobsFor } from './jobs.ts';
export type { PriorAuthJob } from './jobs.ts';
