/**
 * Following a prior authorization request after the payer's first answer (Da Vinci PAS 2.2.1,
 * ../shared/research/pas.md §3): the tenant's PAS subscription at the payer (made by
 * ./subscribe.ts before the first request goes out, one per payer endpoint and sending system),
 * the payer's notifications matched to this tenant's requests, and `$inquire` on the payer's slow
 * schedule (spec-9, spec-42: inquiries are not for polling): how a payer that offers no
 * subscription is followed, and at a subscribed payer the fallback for a notification that never
 * comes (pas.md §3.1 "lost messages": a lost notification, the payer's outage, a subscription the
 * payer ended without a word), backing off there (./inquiry-schedule.ts). A notification that names
 * no request is kept with an audited work item.
 */
import type { Bundle, Claim } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { Logger } from '../../logger.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { AnswerContext } from './answers.ts';
import { applyAnswer } from './answers.ts';
import { inquiryFromRequest } from './inquiry.ts';
import { nextInquiryAt } from './inquiry-schedule.ts';
import type { JobLine, PriorAuthJob } from './jobs.ts';
import { enqueueInLine, enqueueNextInLine } from './jobs.ts';
import type { PasPayerPort } from './payer-client.ts';
import {
  caseIdOf,
  messageDocument,
  messageText,
  payerOf,
  PRIOR_AUTH_QUEUE,
  requestDocumentId,
  stateOf,
  submissionsOf,
  writeWork,
} from './records.ts';
import { readPasInquiry } from './response.ts';
import { parsePasNotification, readSubscriptionRecord } from './subscription.ts';
import { readOptional } from '../../store/read-optional.ts';

export interface FollowUpContext {
  readonly store: Store;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly logger: Logger;
  tenant(id: TenantId): TenantConfig;
  port(payer: PayerEndpoint): PasPayerPort;
  answers(tenant: TenantId): AnswerContext;
}

/** One subscribe job at a time per payer and known payer subscription (a repaired one gets a new job). */
export async function enqueueSubscribe(
  ctx: Pick<FollowUpContext, 'store'>,
  tenant: TenantId,
  payer: PayerEndpoint,
): Promise<void> {
  const { known } = await readSubscriptionRecord(ctx.store, tenant, payer.id);
  if (
    known?.unsupported ||
    (known?.payerSubscriptionId && known.status !== 'error' && known.status !== 'off')
  ) {
    return;
  }
  // In line: a subscribe that died while the payer was unavailable is followed by a new one.
  await enqueueInLine(ctx.store, tenant, `subscribe|${payer.id}|${known?.payerSubscriptionId ?? 'new'}`, {
    kind: 'subscribe',
    payer: payer.id,
  });
}

/** The configured payer (with a PAS endpoint) a kept submission was sent to. */
export function payerOfSubmission(ctx: FollowUpContext, tenant: TenantId, claim: Claim): PayerEndpoint {
  const id = payerOf(claim);
  const payer = ctx.tenant(tenant).payers.find((p) => p.id === id);
  if (!payer?.pas) {
    throw new Error(`payer ${id ?? '?'} of ${claim.id ?? '?'} has no PAS endpoint configured`);
  }
  return payer;
}

/** What a case's inquiry rounds wait on: a person's ask wakes the one waiting for its time (followUp). */
export const inquiryWaitKey = (caseId: string): string => `inquire|${caseId}`;

/** The line of a case's inquiries: round n is `inquire|{case}|{n}` (enqueueNextInLine). */
const inquiryLine = (caseId: string, runAt: Date): JobLine => ({
  numbered: `inquire|${caseId}|`,
  payload: (round) => ({ kind: 'inquire', caseId, round }),
  runAt: runAt.toISOString(),
  waitKey: inquiryWaitKey(caseId),
});

/** How Dripline learns of decisions at a payer. */
interface PayerFollowing {
  /** It subscribes there (configured, and the payer has not said it offers none). */
  readonly subscribed: boolean;
  /** Its subscription there is in place: the payer's notification is the primary channel (nextInquiryAt). */
  readonly notified: boolean;
}

async function payerFollowing(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
): Promise<PayerFollowing> {
  const { known } = await readSubscriptionRecord(ctx.store, tenant, payer.id);
  const subscribed = payer.pas?.subscription !== 'off' && !known?.unsupported;
  const notified =
    subscribed &&
    known?.payerSubscriptionId !== undefined &&
    known.status !== 'error' &&
    known.status !== 'off';
  return { subscribed, notified };
}

interface FollowUpOptions {
  /** The round just answered, whose job (still leased) queues the next. */
  readonly after?: number;
  /** The order was asked for again while its request is pended. */
  readonly asked?: boolean;
  /** The ask was a person's. */
  readonly person?: boolean;
  /** When the request was pended (default now: it just was). */
  readonly pendedAt?: Date;
}

/**
 * A pended request is followed by the payer's subscription where Dripline has (or is making) one,
 * and in every case by `$inquire` rounds (./inquiry-schedule.ts: the first `pas.inquireMinutes`
 * after the pend; then every `inquireMinutes` where no subscription is in place, backing off to a
 * day where the payer notifies): at a payer that offers no subscription that is how the decision is
 * learnt; at a subscribed payer it is the fallback for a notification that never comes, and a
 * round due after the notification decided the request asks nothing (`inquire`). The case's next
 * round is queued unless one is still to run, so a case never has two inquiries in flight (one line
 * per case, whichever of its submissions is pending: `inquire` asks about the latest).
 * `asked`: the order was asked for again (a person's ask, or its next version from the EHR) while
 * its request is pended; an inquiry is queued only if none is (the last died while the payer was
 * unavailable), and runs now. `person`: the ask was a person's; at any payer, the round waiting
 * for its time runs now (one already leased is the inquiry in flight: nothing more). Resolves with
 * whether an inquiry was queued or made due.
 */
export async function followUp(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
  caseId: string,
  options: FollowUpOptions = {},
): Promise<boolean> {
  const following = await payerFollowing(ctx, tenant, payer);
  if (following.subscribed) {
    await enqueueSubscribe(ctx, tenant, payer);
  }
  return queueRound(ctx, tenant, payer, caseId, following, options);
}

async function queueRound(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
  caseId: string,
  following: PayerFollowing,
  options: FollowUpOptions,
): Promise<boolean> {
  const now = ctx.now();
  const runAt = options.asked
    ? now
    : nextInquiryAt({
        notified: following.notified,
        inquireMinutes: payer.pas?.inquireMinutes ?? 240,
        pendedAt: options.pendedAt ?? now,
        now,
        afterRound: options.after !== undefined,
      });
  if (await enqueueNextInLine(ctx.store, tenant, inquiryLine(caseId, runAt), (options.after ?? 0) + 1)) {
    return true;
  }
  if (options.person) {
    return (await ctx.store.jobs.wake(tenant, PRIOR_AUTH_QUEUE, inquiryWaitKey(caseId), now)) > 0;
  }
  return false;
}

/**
 * Gives each of the tenant's pended requests that no inquiry round follows its round (followUp;
 * the worker does this when it starts): those pended at a subscribed payer before rounds followed
 * requests there, and any whose last round died while the payer was unavailable. One search of the
 * pended requests (`pas-state`), one look at each payer's subscription. Idempotent: a case with a
 * round queued or running gets nothing. Resolves with how many rounds were queued.
 */
export async function resumeRounds(ctx: FollowUpContext, tenant: TenantId): Promise<number> {
  const payers = new Map<string, PayerFollowing>();
  let queued = 0;
  for (const claim of await searchAll<Claim>(ctx.store, tenant, 'Claim', [
    { code: 'pas-state', kind: 'token', values: [{ value: 'pended' }] },
  ])) {
    const payer = ctx.tenant(tenant).payers.find((p) => p.id === payerOf(claim));
    if (!payer?.pas || stateOf(claim) !== 'pended') {
      continue; // a payer no longer configured for PAS: nothing to ask it with
    }
    let following = payers.get(payer.id);
    if (!following) {
      following = await payerFollowing(ctx, tenant, payer);
      payers.set(payer.id, following);
      if (following.subscribed) {
        await enqueueSubscribe(ctx, tenant, payer);
      }
    }
    const caseId = caseIdOf(claim.id);
    const pendedAt = new Date(claim.meta.lastUpdated);
    if (await queueRound(ctx, tenant, payer, caseId, following, { pendedAt })) {
      queued += 1;
    }
  }
  return queued;
}

/**
 * The case's request is no longer pended (decided, refused, or its answer unreadable): a round of
 * its inquiry line waiting for its time runs now and, finding nothing pended, ends — so a decided
 * case leaves no fallback inquiry queued for hours (a queue that looks busy). A wake lost to a crash
 * costs only that round's no-op run at its own time.
 */
export async function followUpEnded(ctx: FollowUpContext, tenant: TenantId, caseId: string): Promise<void> {
  await ctx.store.jobs.wake(tenant, PRIOR_AUTH_QUEUE, inquiryWaitKey(caseId), ctx.now());
}

export async function applyNotification(
  ctx: FollowUpContext,
  tenant: TenantId,
  job: Extract<PriorAuthJob, { kind: 'notification' }>,
): Promise<void> {
  const config = ctx.tenant(tenant);
  const payer = config.payers.find((p) => p.id === job.payer);
  if (!payer) {
    return;
  }
  const now = ctx.now();
  const parsed = parsePasNotification(job.body);
  // An event delivered, or one `$events` recovered (./subscription-events.ts): the same decision.
  const carriesEvents = parsed.ok && (parsed.type === 'event-notification' || parsed.type === 'query-event');
  const events = parsed.ok && carriesEvents ? parsed.events : [];
  if (parsed.ok && !carriesEvents) {
    return;
  }
  const unknown = async (why: string): Promise<void> => {
    const document = messageDocument({ kind: 'notification', text: job.text, now });
    const id = `pas-unmatched-${document.id.slice('pasmsg-'.length, 'pasmsg-'.length + 20)}`;
    const kept = (await readOptional(ctx.store, tenant, 'DocumentReference', document.id))
      ? []
      : [{ op: 'create' as const, resource: document, options: { id: document.id } }];
    await writeWork(
      ctx.store,
      tenant,
      { payer: payer.id, now, publicUrl: ctx.publicUrl },
      {
        id,
        code: why.startsWith('not a valid') ? 'invalid-answer' : 'unknown-answer',
        note: `${payer.name}: ${why} (DocumentReference/${document.id})`,
      },
      kept,
    );
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
    const target = await requestNamedBy(ctx, tenant, focus, payer);
    if (!target) {
      await unknown('the answer names no prior authorization request of this tenant; nothing was changed');
      continue;
    }
    const outcome = await applyAnswer(ctx.answers(tenant), target, {
      kind: 'notification',
      text: JSON.stringify(focus),
      body: focus,
    });
    ctx.logger.info(
      { tenant, submission: target.submission.id, decision: outcome.state },
      'prior authorization notification applied',
    );
    if (outcome.state !== 'pended' && outcome.state !== 'unchanged') {
      await followUpEnded(ctx, tenant, target.caseId);
    }
  }
}

/** This tenant's submission an answer names: by the Claim identifier it echoes, else by the Claim's URL on Dripline. */
async function requestNamedBy(
  ctx: FollowUpContext,
  tenant: TenantId,
  focus: Bundle,
  payer: PayerEndpoint,
): Promise<{ caseId: string; submission: Claim & StoredResource; payer: PayerEndpoint } | undefined> {
  const response = focus.entry?.[0]?.resource;
  if (response?.resourceType !== 'ClaimResponse') {
    return undefined;
  }
  const identifiers = [response.request?.identifier, ...(response.identifier ?? [])].filter((i) => i?.value);
  const base = `${ctx.publicUrl}/fhir/Claim/`;
  const reference = response.request?.reference ?? '';
  const ids = new Set<string>(reference.startsWith(base) ? [reference.slice(base.length)] : []);
  for (const identifier of identifiers) {
    const found = await searchAll<Claim>(ctx.store, tenant, 'Claim', [
      {
        code: 'identifier',
        kind: 'token',
        values: [{ system: identifier?.system ?? null, value: identifier?.value ?? '' }],
      },
    ]);
    found.forEach((c) => ids.add(c.id));
  }
  for (const id of ids) {
    const claim = await readOptional<Claim>(ctx.store, tenant, 'Claim', id);
    // A subscription is the PAS endpoint's, not one payer configuration's: payers configured on the
    // same endpoint share its notifications.
    const sentTo = claim ? ctx.tenant(tenant).payers.find((p) => p.id === payerOf(claim)) : undefined;
    if (claim?.use === 'preauthorization' && sentTo && sentTo.pas?.fhirBaseUrl === payer.pas?.fhirBaseUrl) {
      return { caseId: caseIdOf(id), submission: claim, payer: sentTo };
    }
  }
  return undefined;
}

export async function inquire(
  ctx: FollowUpContext,
  tenant: TenantId,
  job: Extract<PriorAuthJob, { kind: 'inquire' }>,
): Promise<void> {
  const submissions = await submissionsOf(ctx.store, tenant, job.caseId);
  const latest = submissions.filter((c) => stateOf(c) !== 'superseded').at(-1);
  if (!latest || stateOf(latest) !== 'pended') {
    return;
  }
  const payer = payerOfSubmission(ctx, tenant, latest);
  const kept = await keptRequest(ctx, tenant, latest);
  const response = await readOptional(ctx.store, tenant, 'ClaimResponse', job.caseId);
  const inquiry = inquiryFromRequest(kept, {
    claimId: `${latest.id}-inq${job.round}`,
    now: ctx.now().toISOString(),
    ...(response?.resourceType === 'ClaimResponse' ? { response } : {}),
  });
  const answer = await ctx.port(payer).inquire(inquiry);
  const now = ctx.now();
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
  if (!(await readOptional(ctx.store, tenant, 'DocumentReference', sent.id))) {
    await ctx.store.resources.writeBatch(tenant, [
      { op: 'create', resource: sent, options: { id: sent.id } },
    ]);
  }
  const outcome = await applyAnswer(
    ctx.answers(tenant),
    { caseId: job.caseId, submission: latest, payer },
    { kind: 'inquiry-answer', text: answer.text, status: answer.status, ...(reading ? { reading } : {}) },
  );
  if (outcome.state === 'pended' || (outcome.state === 'unchanged' && stateOf(latest) === 'pended')) {
    await followUp(ctx, tenant, payer, job.caseId, {
      after: job.round,
      pendedAt: new Date(latest.meta.lastUpdated),
    });
  }
}

/** The request Bundle a submission was sent as. */
async function keptRequest(
  ctx: FollowUpContext,
  tenant: TenantId,
  claim: Claim & StoredResource,
): Promise<Bundle> {
  const found = await readOptional(ctx.store, tenant, 'DocumentReference', requestDocumentId(claim.id));
  if (found?.resourceType !== 'DocumentReference') {
    throw new Error(`the kept request of ${claim.id} is missing`);
  }
  return JSON.parse(messageText(found)) as Bundle;
}
