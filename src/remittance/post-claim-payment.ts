/**
 * Posting claim payments: each one matched to its claim (CLP01, our patient control number = the
 * claim id, else a Claim identifier), its lines to the claim's lines (./match-lines.ts), written
 * as an ExplanationOfBenefit (./eob.ts) in one transaction with the claim's next state
 * (`adjudicated`, extension claim-payment-status paid / partially-paid / denied / reversed, through
 * the claim state machine with its Provenance), one AuditEvent naming the EOB, the claim version and
 * the Provenance (the move's, each entity with its lifecycle: the EOB's own when the claim does not
 * move), and what the posted-payment hooks return (./posted-hooks.ts): four resources per posting. A payment whose claim is unknown — or not
 * in a state that awaits payment — becomes a `draft` EOB and a Task in the unmatched queue in the
 * same way: never dropped. Its Task keeps the payment as received; a person's match
 * (./manual-match.ts) posts it through the same preparation, over the draft.
 *
 * Idempotent: the EOB's id is derived from the remittance and the payment's position in it (or the
 * FHIR answer's id), so a payment already posted is found and nothing is written again. Several
 * payments are written per transaction for throughput (`ClaimPaymentWriter`): each payment's writes
 * stay together, and two payments of one claim in the same batch chain their claim versions. When
 * a batch meets a concurrent change, its payments are prepared again and written one by one.
 *
 * Whose payment moves the claim: the claim's own payer's (config payers[].id). Another payer's
 * payment of the same claim (a secondary, a crossover) is posted on the claim without moving it.
 */
import { randomUUID } from 'node:crypto';
import type { Claim, ExplanationOfBenefit, Task } from '@medplum/fhirtypes';
import { CLAIM_SYSTEMS } from '../claims/build.ts';
import { claimPayerOf } from '../claims/workflow/identity.ts';
import { claimStateOf, transitionWrites } from '../claims/workflow/state.ts';
import { claimTaskId } from '../claims/workflow/tasks.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import { buildAuditEvent } from '../fhir/audit.ts';
import type { Logger } from '../logger.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../store/port.ts';
import type { ClaimPaymentDraft } from './claim-payment.ts';
import { postedClaimPayment } from './claim-payment.ts';
import type { PaymentEvaluation } from './contracts/variance.ts';
import { buildExplanationOfBenefit } from './eob.ts';
import { matchLines } from './match-lines.ts';
import type { ClaimPaymentPostedHook, PaymentOutcome, PostedClaimPayment, PostedLine } from './posted.ts';
import { onClaimPaymentPosted } from './posted-hooks.ts';
import {
  EXT_CLAIM_PAYMENT_STATUS,
  EXT_CLAIM_STATUS_CODE,
  payerClaimNumberSystem,
} from '../contract/remittance.ts';
import { unmatchedTask } from './unmatched-task.ts';
import { isNotFound } from '../store/read-optional.ts';

export const REMITTANCE_CLIENT = 'dripline/remittance';

/** Claim states a payment can be posted to (sent, and not cancelled or refused). */
const PAYABLE_STATES = new Set(['submitted', 'accepted', 'submitting', 'adjudicated']);

export interface PostingContext {
  readonly store: Store;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly hooks?: readonly ClaimPaymentPostedHook[];
  /** The payment against the tenant's contracts, recorded on the EOB's lines (expected vs paid). */
  readonly evaluate?: PaymentEvaluator;
}

/** Evaluates a posted payment against the tenant's contracts (undefined without contracts). */
export type PaymentEvaluator = (
  tenant: TenantId,
  payment: PostedClaimPayment,
  now: Date,
) => PaymentEvaluation | undefined;

/** Where a payment comes from: the tenant, the payer that paid, the remittance it came in. */
export interface PaymentSource {
  readonly tenant: TenantId;
  readonly payer: PayerEndpoint;
  readonly remittance?: { readonly id: string; readonly trace: string };
  /** The payee's NPI as the remittance names it (for unmatched payments). */
  readonly payeeNpi?: string;
}

export type PostResult =
  | {
      readonly kind: 'posted';
      readonly eob: string;
      readonly claim: string;
      readonly outcome: PaymentOutcome;
    }
  | { readonly kind: 'unmatched'; readonly eob: string; readonly reason: string }
  /** Posted before: `claim` is the Claim its EOB was matched to, when it was. */
  | { readonly kind: 'already'; readonly eob: string; readonly claim?: string };

/**
 * A person matching an unmatched payment to a claim (./manual-match.ts): the draft EOB is posted
 * over (If-Match its version) instead of being taken for a payment already posted, by this client,
 * with the other resources the match changes in the same transaction named in its AuditEvent.
 */
export interface ManualMatch {
  readonly clientId: string;
  /** "Type/id" of the other resources the transaction changes (the Task, the reconciliation). */
  readonly alsoChanged: readonly string[];
}

/** What one payment writes, and the claim version it leaves (for the next payment of the same claim). */
interface Prepared {
  readonly operations: BatchOperation[];
  readonly result: PostResult;
  readonly claimAfter?: Claim & StoredResource;
  readonly payerClaimNumber?: string;
}

/** What earlier payments of the same batch left (not yet written). */
interface Chain {
  readonly claims: Map<string, Claim & StoredResource>;
  /** `payer|payer claim number` → EOB id, of payments (not reversals) in the batch. */
  readonly paid: Map<string, string>;
  readonly eobs: Set<string>;
}

const newChain = (): Chain => ({ claims: new Map(), paid: new Map(), eobs: new Set() });

/** Whether a write failed on a concurrent change (a version or id another writer took first). */
export function isConflict(err: unknown): boolean {
  const id = (err as { outcome?: { id?: string } }).outcome?.id;
  const text = (err as Error).message ?? '';
  return id === 'precondition-failed' || id === 'conflict' || /already exists|precondition/i.test(text);
}

async function readOrUndefined<T extends StoredResource>(
  store: Store,
  tenant: TenantId,
  type: string,
  id: string,
): Promise<T | undefined> {
  try {
    return (await store.resources.read(tenant, type, id)) as T;
  } catch (err) {
    if (isNotFound(err)) {
      return undefined;
    }
    throw err;
  }
}

/** The claim a patient control number names: our claim id, else a Claim identifier with that value. */
async function findClaim(
  store: Store,
  tenant: TenantId,
  pcn: string,
): Promise<(Claim & StoredResource) | undefined> {
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(pcn)) {
    const byId = await readOrUndefined<Claim & StoredResource>(store, tenant, 'Claim', pcn);
    if (byId) {
      return byId;
    }
  }
  const found = await store.resources.search(tenant, {
    resourceType: 'Claim',
    filters: [{ code: 'identifier', kind: 'token', values: [{ system: CLAIM_SYSTEMS.claimId, value: pcn }] }],
    sort: [],
    count: 2,
    offset: 0,
    total: false,
  });
  return found.resources.length === 1 ? (found.resources[0] as Claim & StoredResource) : undefined;
}

/** The posted payment a reversal takes back: the latest active, non-reversal EOB of that payer claim number on the claim. */
async function reversedPayment(
  store: Store,
  tenant: TenantId,
  payer: string,
  claim: string,
  payerClaimNumber: string | undefined,
  chain: Chain,
): Promise<string | undefined> {
  if (!payerClaimNumber) {
    return undefined;
  }
  const pending = chain.paid.get(`${payer}|${payerClaimNumber}`);
  if (pending) {
    return pending;
  }
  const found = await store.resources.search(tenant, {
    resourceType: 'ExplanationOfBenefit',
    filters: [
      {
        code: 'identifier',
        kind: 'token',
        values: [{ system: payerClaimNumberSystem(payer), value: payerClaimNumber }],
      },
      { code: 'claim', kind: 'reference', values: [`Claim/${claim}`] },
    ],
    sort: [{ code: '_lastUpdated', descending: true }],
    count: 20,
    offset: 0,
    total: false,
  });
  return (found.resources as (ExplanationOfBenefit & StoredResource)[]).find(
    (e) =>
      e.status === 'active' &&
      e.extension?.find((x) => x.url === EXT_CLAIM_STATUS_CODE)?.valueCoding?.code !== '22',
  )?.id;
}

function audit(
  ctx: PostingContext,
  resources: string[],
  patients: string[],
  now: Date,
  match?: ManualMatch,
): BatchOperation {
  const changed = match ? [...resources, ...match.alsoChanged] : resources;
  const event = buildAuditEvent({
    id: randomUUID(),
    now,
    interaction: match ? 'update' : 'create',
    outcome: '0',
    clientId: match?.clientId ?? REMITTANCE_CLIENT,
    resources: changed,
    patients,
    publicUrl: ctx.publicUrl,
    ...(match ? { lifecycles: Object.fromEntries(changed.map((r) => [r, 'amend' as const])) } : {}),
  });
  return { op: 'create', resource: event, options: { id: event.id } };
}

/** Prepares one payment's writes (nothing is written here). */
async function prepare(
  ctx: PostingContext,
  draft: ClaimPaymentDraft,
  eobId: string,
  source: PaymentSource,
  chain: Chain,
  claimHint?: string,
  match?: ManualMatch,
): Promise<Prepared> {
  const { store } = ctx;
  const { tenant, payer } = source;
  const posted = chain.eobs.has(eobId)
    ? undefined
    : await readOrUndefined<ExplanationOfBenefit & StoredResource>(
        store,
        tenant,
        'ExplanationOfBenefit',
        eobId,
      );
  // A manual match posts over its draft; anything else stored under the id is a payment posted.
  const replacing = match && posted?.status === 'draft' ? posted : undefined;
  if (chain.eobs.has(eobId) || (posted && !replacing)) {
    const claim = posted?.claim?.reference?.replace(/^Claim\//, '');
    return { operations: [], result: { kind: 'already', eob: eobId, ...(claim ? { claim } : {}) } };
  }
  const now = ctx.now();
  const created = now.toISOString();
  const stored =
    chain.claims.get(claimHint ?? draft.patientControlNumber) ??
    (await findClaim(store, tenant, claimHint ?? draft.patientControlNumber));
  const state = stored ? claimStateOf(stored) : undefined;
  const unmatched = !stored
    ? `no claim has patient control number ${draft.patientControlNumber}`
    : !PAYABLE_STATES.has(state ?? '')
      ? `Claim/${stored.id} is ${state ?? 'untracked'}, not awaiting payment`
      : undefined;
  if (match && (!stored || unmatched)) {
    // A person named the claim: it cannot take the payment. Nothing is written; they are told why.
    return {
      operations: [],
      result: { kind: 'unmatched', eob: eobId, reason: unmatched ?? 'unknown claim' },
    };
  }
  if (!stored || unmatched) {
    const lines: PostedLine[] = draft.lines.map(({ answersItem: _answersItem, ...l }) => ({ ...l }));
    const eob = buildExplanationOfBenefit({
      id: eobId,
      draft,
      lines,
      payer: { id: payer.id, name: payer.name },
      ...(source.payeeNpi ? { payeeNpi: source.payeeNpi } : {}),
      ...(source.remittance ? { remittance: source.remittance } : {}),
      created,
    });
    const reason = unmatched ?? 'unknown claim';
    const task = unmatchedTask(eob, draft, reason, payer, now);
    chain.eobs.add(eobId);
    return {
      operations: [
        { op: 'create', resource: eob, options: { id: eobId } },
        { op: 'create', resource: task, options: { id: task.id } },
        audit(ctx, [`ExplanationOfBenefit/${eobId}`, `Task/${task.id}`], [], now),
      ],
      result: { kind: 'unmatched', eob: eobId, reason },
    };
  }
  const matches = matchLines(stored, draft.lines);
  const lines: PostedLine[] = draft.lines.map(({ answersItem: _answersItem, ...l }, i) => ({
    ...l,
    ...matches[i],
  }));
  const reverses =
    draft.outcome === 'reversed'
      ? await reversedPayment(store, tenant, payer.id, stored.id, draft.payerClaimNumber, chain)
      : undefined;
  const payment = postedClaimPayment(draft, {
    id: eobId,
    claim: stored.id,
    payer: payer.id,
    lines,
    remittance: source.remittance,
    reverses,
  });
  const evaluation = ctx.evaluate?.(tenant, payment, now);
  const eob = buildExplanationOfBenefit({
    id: eobId,
    draft,
    lines,
    claim: stored,
    payer: { id: payer.id, name: payer.name },
    ...(source.remittance ? { remittance: source.remittance } : {}),
    ...(reverses ? { reverses } : {}),
    ...(evaluation ? { evaluation } : {}),
    created,
  });
  const ownPayer = claimPayerOf(stored) === payer.id;
  const operations: BatchOperation[] = [
    replacing
      ? { op: 'update', resource: eob, options: { ifMatchVersion: replacing.meta.versionId, upsert: false } }
      : { op: 'create', resource: eob, options: { id: eobId } },
  ];
  let claimAfter: (Claim & StoredResource) | undefined;
  if (ownPayer) {
    const existingTask = await readOrUndefined<Task & StoredResource>(
      store,
      tenant,
      'Task',
      claimTaskId(stored.id),
    );
    const moved = transitionWrites({
      stored,
      to: 'adjudicated',
      detail: {
        reason: `${payer.name}: ${draft.outcome} (claim status ${draft.status}), ExplanationOfBenefit/${eobId}${source.remittance ? ` in remittance ${source.remittance.trace}` : ''}`,
        mutate: (claim) => ({
          ...claim,
          extension: [
            ...(claim.extension ?? []).filter((e) => e.url !== EXT_CLAIM_PAYMENT_STATUS),
            { url: EXT_CLAIM_PAYMENT_STATUS, valueCode: draft.outcome },
          ],
        }),
        // One AuditEvent for the posting: the claim's move names the EOB it writes with it.
        ...(replacing
          ? { alsoChanged: [`ExplanationOfBenefit/${eobId}`, ...(match?.alsoChanged ?? [])] }
          : { alsoCreated: [`ExplanationOfBenefit/${eobId}`] }),
      },
      ...(existingTask ? { existingTask } : {}),
      now,
      publicUrl: ctx.publicUrl,
      auditId: randomUUID(),
      clientId: match?.clientId ?? REMITTANCE_CLIENT,
    });
    operations.push(...moved.operations);
    const update = moved.operations[0];
    if (update?.op === 'update') {
      claimAfter = {
        ...(update.resource as Claim & { id: string }),
        meta: { versionId: String(Number(stored.meta.versionId) + 1), lastUpdated: created },
      };
    }
  }
  if (!ownPayer) {
    // The claim does not move (another payer's payment): the EOB is audited on its own.
    operations.push(
      audit(
        ctx,
        [`ExplanationOfBenefit/${eobId}`],
        stored.patient.reference ? [stored.patient.reference] : [],
        now,
        match,
      ),
    );
  }
  operations.push(
    ...(await onClaimPaymentPosted(
      {
        tenant,
        payment,
        eob,
        claim: claimAfter ?? stored,
        payerEndpoint: payer,
        store,
        now,
      },
      ctx.hooks,
    )),
  );
  chain.eobs.add(eobId);
  return {
    operations,
    result: { kind: 'posted', eob: eobId, claim: stored.id, outcome: draft.outcome },
    ...(claimAfter ? { claimAfter } : {}),
    ...(draft.payerClaimNumber && draft.outcome !== 'reversed'
      ? { payerClaimNumber: draft.payerClaimNumber }
      : {}),
  };
}

/**
 * What posting a manually matched payment writes (./manual-match.ts): the same preparation as a
 * matched payment's, the draft EOB posted over. Nothing is written here; an `unmatched` result
 * says why the claim cannot take it.
 */
export async function prepareManualMatch(
  ctx: PostingContext,
  draft: ClaimPaymentDraft,
  eobId: string,
  source: PaymentSource,
  claim: string,
  match: ManualMatch,
): Promise<{ readonly operations: readonly BatchOperation[]; readonly result: PostResult }> {
  const { operations, result } = await prepare(ctx, draft, eobId, source, newChain(), claim, match);
  return { operations, result };
}

interface Entry {
  readonly draft: ClaimPaymentDraft;
  readonly eobId: string;
  readonly source: PaymentSource;
  readonly claimHint?: string;
}

/**
 * Writes claim payments in batches of `batchSize` (one transaction each); `flush` writes what is
 * pending, with `extra` operations in the same transaction (progress markers, the next job).
 */
export class ClaimPaymentWriter {
  readonly #ctx: PostingContext;
  readonly #tenant: TenantId;
  readonly #batchSize: number;
  #entries: Entry[] = [];
  #operations: BatchOperation[] = [];
  #chain: Chain = newChain();
  readonly results: PostResult[] = [];

  constructor(ctx: PostingContext, tenant: TenantId, batchSize = 64) {
    this.#ctx = ctx;
    this.#tenant = tenant;
    this.#batchSize = Math.max(1, batchSize);
  }

  get pending(): number {
    return this.#entries.length;
  }

  /** Prepares a payment (what it will post, and the claim it matched); writes the batch when full. */
  async add(
    draft: ClaimPaymentDraft,
    eobId: string,
    source: PaymentSource,
    claimHint?: string,
  ): Promise<PostResult> {
    const entry: Entry = { draft, eobId, source, ...(claimHint ? { claimHint } : {}) };
    const prepared = await prepare(this.#ctx, draft, eobId, source, this.#chain, claimHint);
    this.#remember(entry, prepared);
    if (this.#entries.length >= this.#batchSize) {
      await this.flush();
    }
    return prepared.result;
  }

  #remember(entry: Entry, prepared: Prepared): void {
    this.#entries.push(entry);
    this.#operations.push(...prepared.operations);
    this.results.push(prepared.result);
    if (prepared.claimAfter) {
      this.#chain.claims.set(prepared.claimAfter.id, prepared.claimAfter);
    }
    if (prepared.payerClaimNumber) {
      this.#chain.paid.set(`${entry.source.payer.id}|${prepared.payerClaimNumber}`, entry.eobId);
    }
  }

  async flush(extra: readonly BatchOperation[] = []): Promise<void> {
    const entries = this.#entries;
    const operations = [...this.#operations, ...extra];
    const first = this.results.length - entries.length;
    this.#entries = [];
    this.#operations = [];
    this.#chain = newChain();
    if (operations.length === 0) {
      return;
    }
    try {
      await this.#ctx.store.resources.writeBatch(this.#tenant, operations);
      return;
    } catch (err) {
      if (!isConflict(err) || entries.length === 0) {
        throw err;
      }
      this.#ctx.logger.debug(
        { tenant: this.#tenant, payments: entries.length },
        'remittance batch met a concurrent change; posting its payments one by one',
      );
    }
    // Each payment again, fresh from the store, in its own transaction; `extra` with the last.
    for (const [i, entry] of entries.entries()) {
      const last = i === entries.length - 1;
      for (let attempt = 1; ; attempt++) {
        const prepared = await prepare(
          this.#ctx,
          entry.draft,
          entry.eobId,
          entry.source,
          newChain(),
          entry.claimHint,
        );
        try {
          const ops = [...prepared.operations, ...(last ? extra : [])];
          if (ops.length > 0) {
            await this.#ctx.store.resources.writeBatch(this.#tenant, ops);
          }
          this.results[first + i] = prepared.result;
          break;
        } catch (err) {
          if (!isConflict(err) || attempt >= 5) {
            throw err;
          }
        }
      }
    }
  }
}
