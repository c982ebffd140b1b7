/**
 * The claim state machine, pure: the states a claim goes through, which moves are legal, and what
 * each move writes — the claim's next version (state, `status`, when the state was entered), a
 * Provenance naming the move and an AuditEvent, the claim's Task (written when held or when the
 * move asks for one, completed when the claim leaves a state that needed it), and the submit job
 * when a FHIR-channel claim becomes ready. Reading the Task and writing the batch is ./move.ts.
 *
 *   new → built → ready → submitting → adjudicated | rejected     (FHIR channel)
 *                  ready → submitted → adjudicated                 (X12 channel: a batch file, then its 835)
 *           built → held → ready                                   (a person overrides)
 * A claim the payer never accepted (held, rejected), a cancelled one (void) and an X12 claim still
 * waiting for its batch are rebuilt (→ built) when their inputs change, or cancelled (→ void) when
 * no billable charge is left.
 */
import type { Claim, Provenance, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import { buildAuditEvent, patientsOf } from '../../fhir/audit.ts';
import type { AuditLifecycle } from '../../fhir/audit.ts';
import type { BatchOperation, StoredResource } from '../../store/port.ts';
import type { ClaimState, ScrubFinding } from '../types.ts';
import { withoutMeta } from './context.ts';
import { claimFrequencyOf, claimPayerOf, sha } from './identity.ts';
import type { ClaimSubmitJob } from './jobs.ts';
import { CLAIM_SUBMIT_QUEUE } from './jobs.ts';
import type { ClaimTaskContent } from './tasks.ts';
import { claimTaskCompletion, claimTaskWrite } from './tasks.ts';
import { EXT_CLAIM_STATE, EXT_CLAIM_STATE_SINCE, ID_AGENT } from '../../contract/canonical.ts';

export const CLAIMS_CLIENT = 'dripline/claims';

/**
 * The moves a claim may make, by the state it is in (`new`: not stored yet). A retried failed
 * submission stays `submitting`; an adjudicated claim taken over for a corrected or void claim stays
 * `adjudicated`. `submitted` (X12) and `accepted` wait for acknowledgments and remittance; a
 * posted 835 claim payment adjudicates them (src/remittance).
 */
export const TRANSITIONS: Readonly<Record<ClaimState | 'new', readonly ClaimState[]>> = {
  new: ['built'],
  built: ['held', 'ready'],
  held: ['built', 'void', 'ready'],
  ready: ['submitting', 'submitted', 'built', 'void'],
  submitting: ['submitting', 'rejected', 'adjudicated'],
  rejected: ['built', 'void'],
  void: ['built'],
  adjudicated: ['adjudicated'],
  // Remittance (835) posting adjudicates what went out in an X12 batch.
  submitted: ['adjudicated'],
  accepted: ['adjudicated'],
};

/** A move the state machine does not allow was asked for: nothing was written. */
export class IllegalTransitionError extends Error {}

export function isLegalTransition(from: ClaimState | undefined, to: ClaimState): boolean {
  return TRANSITIONS[from ?? 'new'].includes(to);
}

export function claimStateOf(claim: Claim): ClaimState | undefined {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_STATE)?.valueCode as ClaimState | undefined;
}

export function claimStateSince(claim: Claim & { meta?: { lastUpdated?: string } }): string | undefined {
  return (
    claim.extension?.find((e) => e.url === EXT_CLAIM_STATE_SINCE)?.valueInstant ?? claim.meta?.lastUpdated
  );
}

/** Claim.status that goes with a workflow state: not yet sent = draft; sent = active (charge capture then defers changes). */
export function statusFor(state: ClaimState): Claim['status'] {
  switch (state) {
    case 'built':
    case 'held':
    case 'ready':
      return 'draft';
    case 'void':
      return 'cancelled';
    default:
      return 'active';
  }
}

/** The claim in `state`; entered now, unless it already was in that state (a retry keeps its age). */
export function withState<T extends Claim>(claim: T, state: ClaimState, now: Date): T {
  const others = (claim.extension ?? []).filter(
    (e) => e.url !== EXT_CLAIM_STATE && e.url !== EXT_CLAIM_STATE_SINCE,
  );
  const since =
    claimStateOf(claim) === state
      ? (claim.extension?.find((e) => e.url === EXT_CLAIM_STATE_SINCE)?.valueInstant ?? now.toISOString())
      : now.toISOString();
  return {
    ...claim,
    status: statusFor(state),
    extension: [
      ...others,
      { url: EXT_CLAIM_STATE, valueCode: state },
      { url: EXT_CLAIM_STATE_SINCE, valueInstant: since },
    ],
  };
}

/** States a claim can be rebuilt in: never accepted by the payer (held, rejected) or cancelled before it was. */
export const REBUILDABLE_STATES: readonly ClaimState[] = ['held', 'rejected', 'void'];

/**
 * Whether a claim may be rebuilt from changed inputs: never accepted by the payer (held,
 * rejected), cancelled, or waiting for an X12 batch (ready for an X12-channel payer: nothing has
 * left yet). Voids carry their original's lines and are never rebuilt.
 */
export function isRebuildable(claim: Claim, payers: readonly PayerEndpoint[]): boolean {
  if (claimFrequencyOf(claim) === '8') {
    return false;
  }
  const state = claimStateOf(claim);
  if (state !== undefined && REBUILDABLE_STATES.includes(state)) {
    return true;
  }
  return state === 'ready' && payers.find((p) => p.id === claimPayerOf(claim))?.channel === 'x12';
}

/** How a claim moves: why, and what else the move writes. */
export interface MoveDetail {
  readonly reason: string;
  /** Scrub findings: the held claim's Task lists them. */
  readonly findings?: readonly ScrubFinding[];
  /** The claim's payer: a FHIR-channel claim that becomes ready is queued for submission. */
  readonly payer?: PayerEndpoint;
  /** More operations for the same transaction (a ClaimResponse, an AuditEvent, a batch file). */
  readonly extra?: BatchOperation[];
  /** Changes to the next version beyond its state (identifiers, extensions, a rebuilt body). */
  readonly mutate?: (claim: Claim & { id: string }) => Claim & { id: string };
  /** A Task to write although the claim is not held (refused, attempts ran out). */
  readonly task?: ClaimTaskContent;
  /**
   * Resources the caller creates in the same transaction ("Type/id"), named in the move's
   * AuditEvent so that one event audits the whole transaction (a posted payment's EOB).
   */
  readonly alsoCreated?: readonly string[];
  /** Resources the caller changes in the same transaction (a manually matched payment's draft EOB, its Task). */
  readonly alsoChanged?: readonly string[];
}

export interface TransitionRecordsInput {
  /** The claim version the move writes. */
  readonly claim: Claim & { id: string };
  readonly version: string;
  /** The state it left (undefined: the claim is new). */
  readonly from: ClaimState | undefined;
  readonly to: ClaimState;
  readonly reason: string;
  readonly now: Date;
  readonly publicUrl: string;
  /** The AuditEvent's id. */
  readonly auditId: string;
  readonly clientId?: string;
  /** Resources created in the same transaction, named in the AuditEvent too (MoveDetail.alsoCreated). */
  readonly alsoCreated?: readonly string[];
  /** Resources changed in the same transaction, named in the AuditEvent too (MoveDetail.alsoChanged). */
  readonly alsoChanged?: readonly string[];
}

/**
 * Provenance + AuditEvent of a claim version: every move writes them, so every move is checked
 * here. Throws IllegalTransitionError for a move the state machine does not allow.
 */
export function transitionRecords(input: TransitionRecordsInput): BatchOperation[] {
  const { claim, version, from, to, reason, now } = input;
  if (!isLegalTransition(from, to)) {
    throw new IllegalTransitionError(`Claim/${claim.id}: ${from ?? 'new'} → ${to} is not a legal move`);
  }
  const clientId = input.clientId ?? CLAIMS_CLIENT;
  const target = `Claim/${claim.id}/_history/${version}`;
  const provenance: Provenance & { id: string } = {
    resourceType: 'Provenance',
    id: `prov-${sha(target, 40)}`,
    target: [{ reference: target }],
    recorded: now.toISOString(),
    activity: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
          code: from ? 'UPDATE' : 'CREATE',
        },
      ],
      text: `claim ${from ?? 'new'} → ${to}`,
    },
    reason: [{ text: reason }],
    agent: [
      {
        who: {
          identifier: { system: ID_AGENT, value: clientId === CLAIMS_CLIENT ? 'claims' : clientId },
          display: clientId === CLAIMS_CLIENT ? 'Dripline claim workflow' : clientId,
        },
      },
    ],
    ...(from
      ? {
          entity: [
            { role: 'revision', what: { reference: `Claim/${claim.id}/_history/${Number(version) - 1}` } },
          ],
        }
      : {}),
  };
  const alsoCreated = input.alsoCreated ?? [];
  const alsoChanged = input.alsoChanged ?? [];
  const audit = buildAuditEvent({
    id: input.auditId,
    now,
    interaction: from ? 'update' : 'create',
    outcome: '0',
    clientId,
    resources: [target, `Provenance/${provenance.id}`, ...alsoCreated, ...alsoChanged],
    patients: patientsOf(claim),
    publicUrl: input.publicUrl,
    // One event for resources created and one changed: each entity says which.
    ...(alsoCreated.length + alsoChanged.length > 0
      ? {
          lifecycles: Object.fromEntries([
            [target, from ? 'amend' : 'originate'],
            [`Provenance/${provenance.id}`, 'originate'],
            ...alsoCreated.map((r) => [r, 'originate']),
            ...alsoChanged.map((r) => [r, 'amend']),
          ]) as Record<string, AuditLifecycle>,
        }
      : {}),
  });
  return [
    { op: 'create', resource: provenance, options: { id: provenance.id } },
    { op: 'create', resource: audit, options: { id: audit.id } },
  ];
}

export interface TransitionInput {
  /** The claim as stored now. */
  readonly stored: Claim & StoredResource;
  readonly to: ClaimState;
  readonly detail: MoveDetail;
  /** The claim's Task as stored, if it has one. */
  readonly existingTask?: Task & StoredResource;
  readonly now: Date;
  readonly publicUrl: string;
  readonly auditId: string;
  /** Who moves the claim (Provenance agent, AuditEvent client); default the claim workflow. */
  readonly clientId?: string;
}

/**
 * Everything one move writes, in one transaction: the claim's next version (If-Match the stored
 * one), its Provenance and AuditEvent, the detail's extra operations, the claim's Task written
 * (held, or the detail asks for one) or completed (it leaves; a rebuild is not a resolution: the
 * Task stays open until the claim is scrubbed again), and the submit job when it becomes ready for
 * a FHIR-channel payer (keyed by the version: the submission key).
 */
export function transitionWrites(input: TransitionInput): {
  operations: BatchOperation[];
  /** Whether the claim's Task was created or refreshed (not merely completed). */
  taskWritten: boolean;
} {
  const { stored, to: state, detail, existingTask, now } = input;
  const from = claimStateOf(stored);
  let next = withState(withoutMeta(stored), state, now) as Claim & { id: string };
  next = detail.mutate ? detail.mutate(next) : next;
  const version = String(Number(stored.meta.versionId) + 1);
  const operations: BatchOperation[] = [
    { op: 'update', resource: next, options: { ifMatchVersion: stored.meta.versionId, upsert: false } },
    ...transitionRecords({
      claim: next,
      version,
      from,
      to: state,
      reason: detail.reason,
      now,
      publicUrl: input.publicUrl,
      auditId: input.auditId,
      ...(input.clientId ? { clientId: input.clientId } : {}),
      ...(detail.alsoCreated ? { alsoCreated: detail.alsoCreated } : {}),
      ...(detail.alsoChanged ? { alsoChanged: detail.alsoChanged } : {}),
    }),
    ...(detail.extra ?? []),
  ];
  const taskText =
    state === 'held'
      ? { text: 'claim needs attention', findings: detail.findings ?? [], note: detail.reason }
      : detail.task;
  if (taskText) {
    operations.push(claimTaskWrite(stored, taskText, existingTask, now));
  } else if (
    // Rebuilding is not resolving: the Task stays open until the claim is scrubbed again.
    state !== 'built' &&
    existingTask &&
    existingTask.status !== 'completed' &&
    existingTask.status !== 'cancelled'
  ) {
    operations.push(claimTaskCompletion(existingTask, state, detail.reason, now));
  }
  if (state === 'ready' && detail.payer?.channel === 'fhir') {
    const job: ClaimSubmitJob = { claim: stored.id, version };
    operations.push({
      op: 'enqueue',
      job: {
        queue: CLAIM_SUBMIT_QUEUE,
        key: `submit|${stored.id}|${version}`,
        payload: job,
        maxAttempts: 100,
      },
    });
  }
  return { operations, taskWritten: taskText !== undefined };
}
