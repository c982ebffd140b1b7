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
 * - `send`: POST the kept Bundle to the payer's `Claim/$submit` (payer down: retried with backoff);
 * - `notification`: a payer's subscription notification, matched to this tenant's request;
 * - `inquire`: `$inquire` for a pended request of a payer that offers no subscription, on the
 *   payer's slow schedule (`pas.inquireMinutes`);
 * - `subscribe`: make sure the tenant's PAS subscription at a payer exists.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Claim, Resource, Subscription } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../claims/types.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import { sourceVersionOf } from '../../ingest/copies.ts';
import type { Logger } from '../../logger.ts';
import type { BatchOperation, Job, Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { LoopingWorker } from '../../store/worker-loop.ts';
import type { AnswerContext } from './answers.ts';
import { applyAnswer } from './answers.ts';
import type { PriorAuthTable } from './auth-rules.ts';
import { loadPriorAuthTable } from './auth-rules.ts';
import { inquiryFromRequest } from './inquiry.ts';
import { planOrder } from './order-plan.ts';
import type { PasPayerPort } from './payer-client.ts';
import { createPasPayerPort, PasPayerUnavailable } from './payer-client.ts';
import { validatePasRequestBundle } from './profiles.ts';
import {
  asSent,
  auditWrite,
  caseIdFor,
  messageDocument,
  messageText,
  payerOf,
  PRIOR_AUTH_QUEUE,
  readOptional,
  requestDocumentId,
  stateOf,
  submissionId,
  submissionsOf,
  taskWrite,
  withState,
} from './records.ts';
import { buildPasRequest, buildPasUpdate } from './request-bundle.ts';
import { readPasInquiry } from './response.ts';
import {
  newSecret,
  notifyPath,
  parsePasNotification,
  pasSubscription,
  readRecord,
  recordResource,
  subscriptionRecordId,
} from './subscription.ts';

export type PriorAuthJob =
  | { readonly kind: 'order'; readonly order: string; readonly cancel?: boolean; readonly reason: string }
  | { readonly kind: 'send'; readonly caseId: string; readonly claim: string; readonly document: string }
  | { readonly kind: 'notification'; readonly payer: string; readonly body: unknown; readonly text: string }
  | { readonly kind: 'inquire'; readonly caseId: string; readonly round: number }
  | { readonly kind: 'subscribe'; readonly payer: string };

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

/** The ingest hook: a stored order copy (each EHR version) starts its prior authorization job, in the copy's transaction. */
export function priorAuthJobsFor(copy: Resource): BatchOperation[] {
  if (copy.resourceType !== 'MedicationRequest' || !copy.id) {
    return [];
  }
  const version = sourceVersionOf(copy).versionId ?? copy.meta?.versionId ?? 'unversioned';
  const job: PriorAuthJob = { kind: 'order', order: copy.id, reason: 'order received from the EHR' };
  return [
    { op: 'enqueue', job: { queue: PRIOR_AUTH_QUEUE, key: `order|${copy.id}|${version}`, payload: job } },
  ];
}

/** Asks for a prior authorization of an order now (API, CLI): one job per order version and ask. */
export async function enqueueOrder(
  store: Pick<Store, 'jobs' | 'resources'>,
  tenant: TenantId,
  order: string,
  options: { readonly cancel?: boolean; readonly reason: string },
): Promise<{ readonly created: boolean; readonly key: string }> {
  const copy = await readOptional(store, tenant, 'MedicationRequest', order);
  const version = copy ? (sourceVersionOf(copy).versionId ?? copy.meta.versionId) : 'absent';
  const key = `order|${order}|${version}${options.cancel ? '|cancel' : ''}`;
  const job: PriorAuthJob = {
    kind: 'order',
    order,
    ...(options.cancel ? { cancel: true } : {}),
    reason: options.reason,
  };
  const result = await store.jobs.enqueue(tenant, { queue: PRIOR_AUTH_QUEUE, key, payload: job });
  return { created: result.created, key };
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

/** States after which a new order version is a new request, not an update (spec-64: no update after a denial). */
const CLOSED = new Set(['denied', 'rejected', 'error', 'cancelled', 'unanswered']);

export class PriorAuthWorker extends LoopingWorker {
  readonly #deps: PriorAuthWorkerDeps;
  readonly #ports = new Map<string, PasPayerPort>();

  constructor(deps: PriorAuthWorkerDeps) {
    super({
      name: 'prior authorization worker',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
    });
    this.#deps = deps;
  }

  async runOnce(): Promise<number> {
    const jobs = await this.#deps.store.jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs: this.#deps.leaseMs ?? 60_000,
      limit: 8,
      now: this.#deps.now(),
    });
    for (const job of jobs) {
      try {
        await this.#handle(job);
        await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
      } catch (err) {
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

  #context(tenant: TenantId): AnswerContext {
    return {
      store: this.#deps.store,
      tenant,
      publicUrl: this.#deps.publicUrl,
      now: this.#deps.now(),
      newId: randomUUID,
    };
  }

  async #handle(job: Job): Promise<void> {
    const payload = job.payload as PriorAuthJob;
    switch (payload.kind) {
      case 'order':
        return this.#order(job.tenant, payload);
      case 'send':
        return this.#send(job.tenant, payload);
      case 'notification':
        return this.#notification(job.tenant, payload);
      case 'inquire':
        return this.#inquire(job.tenant, payload);
      case 'subscribe':
        return this.#subscribe(job.tenant, payload.payer);
    }
  }

  /** The last attempt failed: a person is told (the request stays as it was kept). */
  async #gaveUp(job: Job, err: Error): Promise<void> {
    const payload = job.payload as PriorAuthJob;
    if (payload.kind !== 'send') {
      return;
    }
    const now = this.#deps.now();
    const task = await readOptional(this.#deps.store, job.tenant, 'Task', `${payload.caseId}-work`);
    await this.#deps.store.resources.writeBatch(job.tenant, [
      taskWrite({
        id: `${payload.caseId}-work`,
        code: 'payer-error',
        note: `${payload.claim} could not be sent after ${job.attempts} attempts (${err.message}); it is kept and can be sent again.`,
        focus: `Claim/${payload.claim}`,
        ...(task ? { existing: task as never } : {}),
        now,
      }),
    ]);
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
    );
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
    const caseId = caseIdFor(plan.payer.id, `MedicationRequest/${job.order}`);
    if (plan.kind === 'cannot') {
      const task = await readOptional(this.#deps.store, tenant, 'Task', `${caseId}-work`);
      await this.#deps.store.resources.writeBatch(tenant, [
        taskWrite({
          id: `${caseId}-work`,
          code: 'cannot-request',
          note: plan.reason,
          focus: `MedicationRequest/${job.order}`,
          ...(plan.patient ? { patient: plan.patient } : {}),
          ...(task ? { existing: task as never } : {}),
          now,
        }),
      ]);
      return;
    }
    const submissions = await submissionsOf(this.#deps.store, tenant, caseId);
    const latest = submissions.at(-1);
    if (latest && stateOf(latest) === 'prepared') {
      // Kept but not yet answered (a crash between keeping and sending): send what was kept.
      return this.#enqueueSend(tenant, caseId, latest.id);
    }
    const cancel = job.cancel === true || plan.withdrawn;
    const live = latest && !CLOSED.has(stateOf(latest) ?? '') ? latest : undefined;
    if (cancel && !live) {
      return;
    }
    if (!cancel && live && SAME(live, plan.services)) {
      return; // this order version asks for what is already asked
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
      const task = await readOptional(this.#deps.store, tenant, 'Task', `${caseId}-work`);
      const why = (invalid.issue ?? [])
        .map((i) => `${i.details?.text ?? ''} (${i.expression?.[0] ?? ''})`)
        .join('; ');
      await this.#deps.store.resources.writeBatch(tenant, [
        taskWrite({
          id: `${caseId}-work`,
          code: 'cannot-request',
          note: `The PAS request for ${plan.source} does not conform: ${why}`,
          focus: `MedicationRequest/${job.order}`,
          patient,
          ...(task ? { existing: task as never } : {}),
          now,
        }),
      ]);
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
      { op: 'enqueue', job: { queue: PRIOR_AUTH_QUEUE, key: `send|${id}`, payload: send } },
    ]);
    this.#deps.logger.info(
      { tenant, case: caseId, submission: id, update: live !== undefined, cancel, rule: plan.rule },
      'prior authorization request kept',
    );
    this.notify();
  }

  async #enqueueSend(tenant: TenantId, caseId: string, claim: string): Promise<void> {
    await this.#deps.store.jobs.enqueue(tenant, {
      queue: PRIOR_AUTH_QUEUE,
      key: `send|${claim}`,
      payload: { kind: 'send', caseId, claim, document: requestDocumentId(claim) } satisfies PriorAuthJob,
    });
  }

  #payerOf(tenant: TenantId, claim: Claim): PayerEndpoint {
    const id = payerOf(claim);
    const payer = this.#tenant(tenant).payers.find((p) => p.id === id);
    if (!payer?.pas) {
      throw new Error(`payer ${id ?? '?'} of ${claim.id ?? '?'} has no PAS endpoint configured`);
    }
    return payer;
  }

  async #send(tenant: TenantId, job: Extract<PriorAuthJob, { kind: 'send' }>): Promise<void> {
    const claim = await readOptional<Claim>(this.#deps.store, tenant, 'Claim', job.claim);
    if (!claim || stateOf(claim) !== 'prepared') {
      return; // answered already
    }
    const document = await readOptional(this.#deps.store, tenant, 'DocumentReference', job.document);
    if (!document || document.resourceType !== 'DocumentReference') {
      throw new Error(`the kept request ${job.document} of ${job.claim} is missing`);
    }
    const payer = this.#payerOf(tenant, claim);
    const answer = await this.#port(payer).submit(messageText(document));
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
      await this.#followUp(tenant, payer, job.caseId);
    }
  }

  /** A pended request is followed by the payer's subscription, else by `$inquire` on a slow schedule. */
  async #followUp(tenant: TenantId, payer: PayerEndpoint, caseId: string, round = 1): Promise<void> {
    const record = await readOptional<Subscription>(
      this.#deps.store,
      tenant,
      'Subscription',
      subscriptionRecordId(payer.id),
    );
    const unsupported = record ? readRecord(record).unsupported : false;
    if (payer.pas?.subscription !== 'off' && !unsupported) {
      await this.#deps.store.jobs.enqueue(tenant, {
        queue: PRIOR_AUTH_QUEUE,
        key: `subscribe|${payer.id}|${record ? (readRecord(record).payerSubscriptionId ?? 'new') : 'new'}`,
        payload: { kind: 'subscribe', payer: payer.id } satisfies PriorAuthJob,
      });
      return;
    }
    const minutes = payer.pas?.inquireMinutes ?? 240;
    await this.#deps.store.jobs.enqueue(tenant, {
      queue: PRIOR_AUTH_QUEUE,
      key: `inquire|${caseId}|${round}`,
      payload: { kind: 'inquire', caseId, round } satisfies PriorAuthJob,
      runAt: new Date(this.#deps.now().getTime() + minutes * 60_000).toISOString(),
    });
  }

  async #subscribe(tenant: TenantId, payerId: string): Promise<void> {
    const config = this.#tenant(tenant);
    const payer = config.payers.find((p) => p.id === payerId);
    if (!payer?.pas || !config.billing) {
      return;
    }
    const store = this.#deps.store;
    const id = subscriptionRecordId(payer.id);
    const existing = await readOptional<Subscription>(store, tenant, 'Subscription', id);
    const record = existing ? readRecord(existing) : undefined;
    if (
      record &&
      (record.unsupported ||
        (record.payerSubscriptionId && record.status !== 'error' && record.status !== 'off'))
    ) {
      return;
    }
    const secret = newSecret();
    const sent = pasSubscription({
      endpoint: `${this.#deps.publicUrl}${notifyPath(tenant, payer.id)}`,
      senderId: config.billing.npi,
      secret,
    });
    // The secret's hash is kept before the payer can handshake with it.
    const kept = recordResource({ payer: payer.id, sent, secret, status: 'requested' });
    const [written] = await store.resources.writeBatch(tenant, [
      existing
        ? {
            op: 'update',
            resource: kept,
            options: { ifMatchVersion: existing.meta.versionId, upsert: false },
          }
        : { op: 'create', resource: kept, options: { id } },
    ]);
    const answer = await this.#port(payer).createSubscription(sent);
    const version = written && written.op !== 'enqueue' ? written.result.resource.meta.versionId : undefined;
    const current = (await readOptional<Subscription>(store, tenant, 'Subscription', id)) ?? kept;
    const payerId2 = (answer.body as { id?: string } | undefined)?.id;
    const accepted = answer.status >= 200 && answer.status < 300 && payerId2 !== undefined;
    const next = recordResource({
      payer: payer.id,
      sent,
      ...(readRecord(current).secretSha256 ? { secretSha256: readRecord(current).secretSha256 } : {}),
      ...(accepted ? { payerSubscriptionId: payerId2 } : {}),
      // A handshake may already have made it active.
      status: accepted ? (current.status === 'active' ? 'active' : 'requested') : 'off',
      unsupported: !accepted,
    });
    await store.resources.writeBatch(tenant, [
      {
        op: 'update',
        resource: next,
        options: {
          ...(current.meta?.versionId
            ? { ifMatchVersion: current.meta.versionId }
            : version
              ? { ifMatchVersion: version }
              : {}),
          upsert: false,
        },
      },
    ]);
    this.#deps.logger.info(
      { tenant, payer: payer.id, status: answer.status, subscribed: accepted },
      'PAS subscription',
    );
    if (!accepted) {
      // No subscription: the pended requests of this payer are followed by $inquire.
      for (const claim of await searchAll<Claim>(store, tenant, 'Claim', [
        { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
      ])) {
        if (stateOf(claim) === 'pended' && payerOf(claim) === payer.id) {
          await this.#followUp(tenant, payer, claim.id.slice(0, claim.id.lastIndexOf('-')));
        }
      }
    }
  }

  async #notification(tenant: TenantId, job: Extract<PriorAuthJob, { kind: 'notification' }>): Promise<void> {
    const config = this.#tenant(tenant);
    const payer = config.payers.find((p) => p.id === job.payer);
    if (!payer) {
      return;
    }
    const now = this.#deps.now();
    const parsed = parsePasNotification(job.body);
    const events = parsed.ok && parsed.type === 'event-notification' ? parsed.events : [];
    if (parsed.ok && parsed.type !== 'event-notification') {
      return;
    }
    const unknown = async (why: string): Promise<void> => {
      const document = messageDocument({ kind: 'notification', text: job.text, now });
      const id = `pas-unmatched-${document.id.slice('pasmsg-'.length, 'pasmsg-'.length + 20)}`;
      const task = await readOptional(this.#deps.store, tenant, 'Task', id);
      await this.#deps.store.resources.writeBatch(tenant, [
        ...((await readOptional(this.#deps.store, tenant, 'DocumentReference', document.id))
          ? []
          : [{ op: 'create' as const, resource: document, options: { id: document.id } }]),
        taskWrite({
          id,
          code: why.startsWith('not a valid') ? 'invalid-answer' : 'unknown-answer',
          note: `${payer.name}: ${why} (DocumentReference/${document.id})`,
          ...(task ? { existing: task as never } : {}),
          now,
        }),
      ]);
    };
    if (!parsed.ok) {
      return unknown(`not a valid PAS notification: ${parsed.reason}`);
    }
    for (const event of events) {
      const focus = event.resource as Bundle | undefined;
      if (!focus) {
        await unknown(
          'not a valid PAS notification: the event carries no full PAS Response Bundle (PAS spec-61/62)',
        );
        continue;
      }
      const target = await this.#requestNamedBy(tenant, focus, payer);
      if (!target) {
        await unknown('the answer names no prior authorization request of this tenant; nothing was changed');
        continue;
      }
      const outcome = await applyAnswer(
        this.#context(tenant),
        { ...target, payer },
        { kind: 'notification', text: JSON.stringify(focus), body: focus },
      );
      this.#deps.logger.info(
        { tenant, submission: target.submission.id, decision: outcome.state },
        'prior authorization notification applied',
      );
    }
  }

  /** This tenant's submission an answer names: by the Claim identifier it echoes, else by the Claim's URL on Dripline. */
  async #requestNamedBy(
    tenant: TenantId,
    focus: Bundle,
    payer: PayerEndpoint,
  ): Promise<{ caseId: string; submission: Claim & StoredResource } | undefined> {
    const response = focus.entry?.[0]?.resource;
    if (response?.resourceType !== 'ClaimResponse') {
      return undefined;
    }
    const identifiers = [response.request?.identifier, ...(response.identifier ?? [])].filter(
      (i) => i?.value,
    );
    const base = `${this.#deps.publicUrl}/fhir/Claim/`;
    const reference = response.request?.reference ?? '';
    const ids = new Set<string>(reference.startsWith(base) ? [reference.slice(base.length)] : []);
    for (const identifier of identifiers) {
      const found = await searchAll<Claim>(this.#deps.store, tenant, 'Claim', [
        {
          code: 'identifier',
          kind: 'token',
          values: [{ system: identifier?.system ?? null, value: identifier?.value ?? '' }],
        },
      ]);
      found.forEach((c) => ids.add(c.id));
    }
    for (const id of ids) {
      const claim = await readOptional<Claim>(this.#deps.store, tenant, 'Claim', id);
      if (claim?.use === 'preauthorization' && payerOf(claim) === payer.id) {
        return { caseId: id.slice(0, id.lastIndexOf('-')), submission: claim };
      }
    }
    return undefined;
  }

  async #inquire(tenant: TenantId, job: Extract<PriorAuthJob, { kind: 'inquire' }>): Promise<void> {
    const submissions = await submissionsOf(this.#deps.store, tenant, job.caseId);
    const latest = submissions.filter((c) => stateOf(c) !== 'superseded').at(-1);
    if (!latest || stateOf(latest) !== 'pended') {
      return;
    }
    const payer = this.#payerOf(tenant, latest);
    const kept = await this.#keptRequest(tenant, latest);
    const response = await readOptional(this.#deps.store, tenant, 'ClaimResponse', job.caseId);
    const inquiry = inquiryFromRequest(kept, {
      claimId: `${latest.id}-inq${job.round}`,
      now: this.#deps.now().toISOString(),
      ...(response?.resourceType === 'ClaimResponse' ? { response } : {}),
    });
    const answer = await this.#port(payer).inquire(inquiry);
    const now = this.#deps.now();
    const readings = answer.status < 400 ? readPasInquiry(answer.body) : [];
    const keys = new Set((latest.identifier ?? []).map((i) => `${i.system ?? ''}|${i.value ?? ''}`));
    const reading =
      readings.find((r) =>
        [r.request?.identifier, ...r.identifiers].some(
          (i) => i && keys.has(`${i.system ?? ''}|${i.value ?? ''}`),
        ),
      ) ?? readings[0];
    const sent = messageDocument({
      id: `${latest.id}-inq${job.round}`,
      kind: 'inquiry',
      text: JSON.stringify(inquiry),
      claim: `Claim/${latest.id}`,
      now,
    });
    if (!(await readOptional(this.#deps.store, tenant, 'DocumentReference', sent.id))) {
      await this.#deps.store.resources.writeBatch(tenant, [
        { op: 'create', resource: sent, options: { id: sent.id } },
      ]);
    }
    const outcome = await applyAnswer(
      this.#context(tenant),
      { caseId: job.caseId, submission: latest, payer },
      { kind: 'inquiry-answer', text: answer.text, status: answer.status, ...(reading ? { reading } : {}) },
    );
    if (outcome.state === 'pended' || (outcome.state === 'unchanged' && stateOf(latest) === 'pended')) {
      await this.#followUp(tenant, payer, job.caseId, job.round + 1);
    }
  }

  /** The request Bundle a submission was sent as. */
  async #keptRequest(tenant: TenantId, claim: Claim & StoredResource): Promise<Bundle> {
    const found = await readOptional(
      this.#deps.store,
      tenant,
      'DocumentReference',
      requestDocumentId(claim.id),
    );
    if (found?.resourceType !== 'DocumentReference') {
      throw new Error(`the kept request of ${claim.id} is missing`);
    }
    return JSON.parse(messageText(found)) as Bundle;
  }
}

export { PasPayerUnavailable };
