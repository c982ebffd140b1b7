/**
 * The claim workflow: from final charges to a submitted, tracked claim.
 *
 * - Trigger. Charge capture does not announce "charges final", so the worker sweeps: finished
 *   encounters (after a configurable hold) with billable ChargeItems and no Claim yet, while the
 *   tenant's charge-capture queue is idle, become `claim-ready` jobs keyed by the claim's stable id
 *   (so each happens once). A patient's same-day office or hospital-outpatient encounters make one
 *   claim (one setting = one claim form); a home-infusion encounter makes its own. An encounter
 *   that finishes after its day's claim was built gets a claim of its own.
 * - Build → store (state `built`) → scrub → `held` (+ a "claim needs attention" Task with every
 *   finding) or `ready` (+ a `claim-submit` job for FHIR-channel payers; X12-channel claims stay
 *   `ready` for the batch export).
 * - Submit: `ready` → `submitting` (persisted first, with the submission key in Claim.identifier)
 *   → payer `Claim/$submit` → ClaimResponse stored → `adjudicated` (or `rejected` for an error
 *   outcome). A retried job finds the claim `submitting` and asks the payer for a response to that
 *   key before sending again, so a crash or a timeout never double-submits; a claim already past
 *   `submitting` is never sent again. 5xx / timeouts / network → the job is retried with backoff
 *   (the claim stays `submitting`); a 4xx → `rejected` with a Task, not retried.
 * - Corrected claims (frequency 7). Charge capture never changes the charges of a submitted claim;
 *   it opens a "corrected claim needed" Task instead. Once that claim is `adjudicated`, the sweep
 *   marks it replaced (extension claim-replaced-by → the corrected claim's stable id,
 *   `correctionIdFor`; it stays `adjudicated`) and enqueues encounter-changed jobs for its
 *   encounters, in one transaction; charge capture no longer holds a claim so marked and applies the
 *   changes. When capture is idle again, the sweep enqueues the corrected claim's build (`replaces`
 *   = the original; `related` prior + the payer's claim number from the stored ClaimResponse),
 *   which completes the Task (naming the new claim) in the same transaction as the create; it is
 *   then scrubbed and submitted like any claim.
 * - Voids (frequency 8). When the recomputed charges of a replaced claim's encounters are all gone
 *   (no billable ChargeItem left, e.g. the encounter was entered-in-error in the EHR), the build job
 *   makes a void claim instead (`voidIdFor`; `buildVoidClaim`: the original's lines, unchanged, so
 *   the payer can match each line it adjudicated; `related` prior + payer claim number, frequency 8)
 *   and, in the same transaction, points the original's claim-replaced-by at the void (it stays
 *   `adjudicated`) and completes the Task. A void is not scrubbed (its lines are the original's,
 *   already accepted; the charges they came from are void): it goes `built` → `ready` → submitted.
 * - Fixes flow back. A claim the payer has not accepted (held, rejected), a cancelled one, and an
 *   X12-channel claim waiting for its batch record the fingerprint of their inputs (extension
 *   claim-inputs: versions of encounters, charges, administrations, patient, coverages, conditions,
 *   medications, authorizations on file). The sweep (every `recheckMs`) rebuilds those whose inputs
 *   changed — same id, frequency and `related`, state `built`, scrubbed again — or cancels them
 *   (state `void`) when no billable charge is left. A person can ask for the same with
 *   `resubmit` (rejected claims), which also gives a claim whose attempts ran out a new one.
 * - Failed attempts (payer down, timeout, an answer that is not a valid ClaimResponse) are written
 *   on the claim's history (a `submitting` version whose Provenance names the failure and the next
 *   attempt); after the last one a Task asks for a resubmission.
 * - X12 channel: `markSentInBatch` moves the claims of an 837 batch file to `submitted` in one
 *   transaction with the file (src/claims/x12/batch.ts).
 * - Every transition is a new version of the Claim (store history) with a Provenance naming the
 *   transition; extension claim-state holds the state, claim-state-since when it was entered.
 */
import { createHash, randomUUID } from 'node:crypto';
import type {
  AuditEvent,
  ChargeItem,
  Claim,
  ClaimResponse,
  Condition,
  DocumentReference,
  Coverage,
  Encounter,
  Extension,
  Medication,
  MedicationAdministration,
  MedicationRequest,
  Organization,
  Patient,
  Practitioner,
  Provenance,
  Reference,
  RelatedPerson,
  Resource,
  Task,
  TaskInput,
} from '@medplum/fhirtypes';
import { CORRECTED_CLAIM_TASK, TASK_CODE_SYSTEM as WORK_ITEM_SYSTEM } from '../charges/reconcile.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_REPLACED_BY,
  EXT_CLAIM_STATE,
  isBeingReplaced,
} from '../charges/claim-hold.ts';
import { settingOf } from '../coding/fhir/extract.ts';
import type { CodingTables } from '../coding/tables/types.ts';
import type { CareSetting } from '../coding/types.ts';
import type { TenantConfig } from '../config/config.ts';
import { tenantCalendarZone, tenantTimeZone } from '../config/config.ts';
import { buildAuditEvent, patientsOf } from '../fhir/audit.ts';
import type { EncounterChangedEvent } from '../ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey } from '../ingest/jobs.ts';
import type { Logger } from '../logger.ts';
import { retryDelayMs } from '../store/job-policy.ts';
import type { BatchOperation, Job, Store, StoreFilter, StoredResource, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import type { BuildClaimInput, ClaimFrequency } from './build.ts';
import { buildVoidClaim } from './build.ts';
import type { Authorization } from '../coverage/authorizations.ts';
import { authorizationNumbersFor, authorizationsOf } from '../coverage/authorizations.ts';
import { loadChargemaster } from './chargemaster.ts';
import { loadAttending } from './attending.ts';
import { otherSubscriberOf } from './subscriber.ts';
import type { PayerPort } from './payer-port.ts';
import { createFhirPayerPort, SUBMISSION_KEY_SYSTEM } from './payer-port.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import type { ClaimContext, ClaimState, ScrubFinding } from './types.ts';
import { localDate, serviceDate } from '../time/zone.ts';

/** Queue of claims to build and scrub (payload ClaimReadyJob, key `build|{claimId}`). */
export const CLAIM_READY_QUEUE = 'claim-ready';
/** Queue of claims to submit to a FHIR-channel payer (payload ClaimSubmitJob). */
export const CLAIM_SUBMIT_QUEUE = 'claim-submit';
export const CLAIMS_CLIENT = 'dripline/claims';
export const EXT_CLAIM_STATE_SINCE = 'https://dripline.dev/fhir/StructureDefinition/claim-state-since';
/** The tenant payer (config `payers[].id`) a claim goes to. */
export const EXT_CLAIM_PAYER = 'https://dripline.dev/fhir/StructureDefinition/claim-payer';
/**
 * Fingerprint of what the claim was scrubbed from (the versions of its encounters, charges,
 * administrations, patient, coverages, conditions, medications): a held, rejected or cancelled
 * claim whose inputs differ is rebuilt and scrubbed again.
 */
/** X12 channel: the batch file (DocumentReference) a submitted claim was handed over in. */
export const EXT_CLAIM_X12_BATCH = 'https://dripline.dev/fhir/StructureDefinition/claim-x12-batch';
export const EXT_CLAIM_INPUTS = 'https://dripline.dev/fhir/StructureDefinition/claim-inputs';
/** One scrub finding on a Task input (complex: severity, ruleId, source, fix, overridable, itemSequence). */
export const EXT_SCRUB_FINDING = 'https://dripline.dev/fhir/StructureDefinition/scrub-finding';
export const TASK_CODE_SYSTEM = 'https://dripline.dev/fhir/CodeSystem/task-code';
export const CLAIM_TASK_CODE = 'claim-attention';
const AGENT_SYSTEM = 'https://dripline.dev/fhir/sid/agent';
const PAYER_ID_SYSTEM_HINT = 'payer-id';

export interface ClaimReadyJob {
  readonly encounters: readonly string[];
  readonly frequency?: ClaimFrequency;
  /** A corrected claim (frequency 7): the id of the submitted claim it replaces. */
  readonly replaces?: string;
  /** Rebuild this stored claim (held, rejected or cancelled) from its encounters' current charges. */
  readonly rebuild?: string;
  /** The id of a new original (frequency 1) when the encounters' earlier claim was voided. */
  readonly id?: string;
}

export interface ClaimSubmitJob {
  readonly claim: string;
  /** The version of the claim that became `ready`: claim id + this = the submission key. */
  readonly version: string;
}

export type { BuildClaimInput } from './build.ts';

export type BuildClaimFn = (input: BuildClaimInput) => Claim;
export type ScrubClaimFn = (ctx: ClaimContext, tables: CodingTables) => ScrubFinding[];

export interface ClaimWorkflowDeps {
  readonly store: Store;
  readonly tables: CodingTables;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly tenants: readonly TenantConfig[];
  readonly buildClaim: BuildClaimFn;
  readonly scrubClaim: ScrubClaimFn;
  /** Transport to a FHIR-channel payer (default: SMART Backend Services, createFhirPayerPort). */
  readonly payerPort?: (tenant: TenantId, payer: PayerEndpoint) => PayerPort;
  readonly now?: () => Date;
  /** How long after an encounter ends before its claim is built (default 0). */
  readonly holdMs?: number;
  /** How often the worker looks for encounters to bill (default 5 s). */
  readonly sweepMs?: number;
  /** How often held, rejected and cancelled claims are checked for changed inputs (default 30 s). */
  readonly recheckMs?: number;
  /**
   * How often a sweep reads all of the tenant's encounters, charges and claims (default 1 h, and at
   * start); the sweeps between read only what changed since the previous one.
   */
  readonly fullScanMs?: number;
  /** Delay before retrying a submission after `attempts` failed ones (default the store's backoff). */
  readonly retryDelayMs?: (attempts: number) => number;
  readonly leaseMs?: number;
  readonly batchSize?: number;
  readonly pollMs?: number;
}

/** What happened to one claim (for logs and tests). */
export interface ClaimStepResult {
  readonly claim?: string;
  readonly state?: ClaimState;
  readonly note?: string;
}

/** The payer could not take it now (5xx, timeout, network): retry later; the claim is not lost. */
class RetryLaterError extends Error {}

/** A claim changed under an operation that expected it unchanged: nothing was written; try again. */
export class ClaimConflictError extends Error {}

interface MoveDetail {
  readonly reason: string;
  readonly findings?: readonly ScrubFinding[];
  readonly payer?: PayerEndpoint;
  readonly extra?: BatchOperation[];
  readonly mutate?: (claim: Claim & { id: string }) => Claim & { id: string };
  readonly task?: { text: string; findings?: readonly ScrubFinding[]; note?: string };
}

// ---------------------------------------------------------------------------------------------
// Small pure helpers (exported for the routes and tests)

function sha(text: string, length = 32): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);
}

/** The stable id of the claim of these encounters (any order) at this frequency code. */
export function claimIdFor(encounters: readonly string[], frequency = '1'): string {
  const refs = [...new Set(encounters.map((e) => normalizeReference(e) ?? e))].sort();
  return `claim-${sha(`${refs.join(',')}|${frequency}`)}`;
}

/**
 * The stable id of the corrected (frequency 7) claim that replaces `original`: the encounters'
 * frequency-7 id when it replaces their original claim, else one tied to the claim it replaces (a
 * correction of a correction).
 */
export function correctionIdFor(encounters: readonly string[], original: string): string {
  return original === claimIdFor(encounters, '1')
    ? claimIdFor(encounters, '7')
    : claimIdFor(encounters, `7|Claim/${original}`);
}

/**
 * The stable id of the void (frequency 8) claim of `original`: the encounters' frequency-8 id when
 * it voids their original claim, else one tied to the claim it voids (e.g. a corrected claim).
 */
export function voidIdFor(encounters: readonly string[], original: string): string {
  return original === claimIdFor(encounters, '1')
    ? claimIdFor(encounters, '8')
    : claimIdFor(encounters, `8|Claim/${original}`);
}

/** The claim frequency code of a claim (extension claim-frequency; default 1). */
export function claimFrequencyOf(claim: Claim): string {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode ?? '1';
}

/** The claim that replaces this one (extension claim-replaced-by), as an id. */
export function replacedByOf(claim: Claim): string | undefined {
  const ref = claim.extension?.find((e) => e.url === EXT_CLAIM_REPLACED_BY)?.valueReference?.reference;
  return ref?.startsWith('Claim/') ? ref.slice('Claim/'.length) : undefined;
}

/** The encounters a claim's lines name ("Encounter/id", sorted, distinct). */
export function encountersOfClaim(claim: Claim): string[] {
  return [
    ...new Set(
      (claim.item ?? []).flatMap((i) =>
        (i.encounter ?? []).map((e) => (e.reference ? (normalizeReference(e.reference) ?? '') : '')),
      ),
    ),
  ]
    .filter((r) => r.startsWith('Encounter/'))
    .sort();
}

export function claimTaskId(claimId: string): string {
  return `task-${sha(`claim-attention|Claim/${claimId}`)}`;
}

export function claimStateOf(claim: Claim): ClaimState | undefined {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_STATE)?.valueCode as ClaimState | undefined;
}

export function claimStateSince(claim: Claim & { meta?: { lastUpdated?: string } }): string | undefined {
  return (
    claim.extension?.find((e) => e.url === EXT_CLAIM_STATE_SINCE)?.valueInstant ?? claim.meta?.lastUpdated
  );
}

export function claimPayerOf(claim: Claim): string | undefined {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_PAYER)?.valueString;
}

/** Claim.status that goes with a workflow state: not yet sent = draft; sent = active (charge capture then defers changes). */
function statusFor(state: ClaimState): Claim['status'] {
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
function withState<T extends Claim>(claim: T, state: ClaimState, now: Date): T {
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

/** The inputs fingerprint a claim was last scrubbed from (extension claim-inputs). */
export function claimInputsOf(claim: Claim): string | undefined {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_INPUTS)?.valueString;
}

function withInputs<T extends Claim>(claim: T, fingerprint: string): T {
  return {
    ...claim,
    extension: [
      ...(claim.extension ?? []).filter((e) => e.url !== EXT_CLAIM_INPUTS),
      { url: EXT_CLAIM_INPUTS, valueString: fingerprint },
    ],
  };
}

function withoutMeta<T extends Resource>(resource: T): T {
  const copy = { ...resource };
  delete copy.meta;
  return copy;
}

function refOf(reference: Reference | undefined): string | undefined {
  return reference?.reference ? normalizeReference(reference.reference) : undefined;
}

/** A finding as a Task input (readable text, and every field in an extension). */
export function findingInput(finding: ScrubFinding): TaskInput {
  const ext: Extension[] = [
    { url: 'severity', valueCode: finding.severity },
    { url: 'ruleId', valueString: finding.ruleId },
    { url: 'source', valueString: finding.source },
    { url: 'fix', valueString: finding.fix },
    { url: 'overridable', valueBoolean: finding.overridable },
    ...(finding.itemSequence !== undefined
      ? [{ url: 'itemSequence', valueInteger: finding.itemSequence } as Extension]
      : []),
  ];
  return {
    extension: [{ url: EXT_SCRUB_FINDING, extension: ext }],
    type: {
      coding: [{ system: 'https://dripline.dev/fhir/CodeSystem/scrub-rule', code: finding.ruleId }],
      text: `${finding.severity}: ${finding.ruleId}`,
    },
    valueString: `${finding.message} Fix: ${finding.fix} (source: ${finding.source}${
      finding.itemSequence !== undefined ? `; line ${finding.itemSequence}` : ''
    })`,
  };
}

/** The findings a Task carries (inverse of findingInput). */
export function findingsOfTask(task: Task): ScrubFinding[] {
  const findings: ScrubFinding[] = [];
  for (const input of task.input ?? []) {
    const ext = input.extension?.find((e) => e.url === EXT_SCRUB_FINDING)?.extension;
    if (!ext) {
      continue;
    }
    const get = (url: string): Extension | undefined => ext.find((e) => e.url === url);
    const sequence = get('itemSequence')?.valueInteger;
    findings.push({
      severity: (get('severity')?.valueCode ?? 'error') as ScrubFinding['severity'],
      ruleId: get('ruleId')?.valueString ?? '?',
      source: get('source')?.valueString ?? '',
      fix: get('fix')?.valueString ?? '',
      message: (input.valueString ?? '').split(' Fix: ')[0] ?? '',
      overridable: get('overridable')?.valueBoolean === true,
      ...(sequence !== undefined ? { itemSequence: sequence } : {}),
    });
  }
  return findings;
}

/** A claim is denied (for first-pass acceptance) when the payer's outcome is error or partial (some lines denied), or a line is adjudicated as denied. */
export function isDenial(response: ClaimResponse): boolean {
  if (response.outcome === 'error' || response.outcome === 'partial' || (response.error ?? []).length > 0) {
    return true;
  }
  for (const item of response.item ?? []) {
    for (const adjudication of item.adjudication ?? []) {
      const category = adjudication.category?.coding?.[0]?.code;
      if (category === 'denied' || category === 'denial') {
        return true;
      }
      if (
        adjudication.reason &&
        (category === 'benefit' || category === 'eligible') &&
        adjudication.amount?.value === 0
      ) {
        return true;
      }
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

interface Gathered {
  readonly encounters: (Encounter & StoredResource)[];
  readonly chargeItems: (ChargeItem & StoredResource)[];
  readonly patient?: Patient & StoredResource;
  readonly coverages: (Coverage & StoredResource)[];
  /** Who the primary coverage's `subscriber` names, when it is not the patient and is on file. */
  readonly subscriber?: (Patient | RelatedPerson) & StoredResource;
  readonly payer?: PayerEndpoint;
  readonly payerOrganization?: Organization & StoredResource;
  readonly conditions: (Condition & StoredResource)[];
  readonly administrations: (MedicationAdministration & StoredResource)[];
  readonly medications: (Medication & StoredResource)[];
  readonly otherClaims: (Claim & StoredResource)[];
  /** The patient's stored preauthorization ClaimResponses and the authorizations they grant. */
  readonly authorizationResponses: (ClaimResponse & StoredResource)[];
  readonly authorizations: Authorization[];
  readonly setting?: CareSetting;
  /** Institutional claims: the attending practitioner (./attending.ts) and the orders read to find it. */
  readonly attending?: Practitioner & StoredResource;
  readonly orders: (MedicationRequest & StoredResource)[];
}

/** Date and code of each billable charge (what an authorization must cover). */
function chargeLines(chargeItems: readonly ChargeItem[]): { code: string; date: string }[] {
  return chargeItems.map((c) => ({
    code: c.code.coding?.find((x) => x.code)?.code?.toUpperCase() ?? '',
    date: (c.occurrenceDateTime ?? c.occurrencePeriod?.start ?? '').slice(0, 10),
  }));
}

/**
 * What a claim is built and scrubbed from, as one hash of resource versions. Other claims (read for
 * the duplicate check) are left out: their churn is not a change of this claim's inputs.
 */
function inputsFingerprint(g: Gathered): string {
  const resources: (Resource & StoredResource)[] = [
    ...g.encounters,
    ...g.chargeItems,
    ...g.administrations,
    ...g.conditions,
    ...g.coverages,
    ...g.medications,
    ...g.authorizationResponses,
    ...(g.patient ? [g.patient] : []),
    ...(g.subscriber ? [g.subscriber] : []),
    ...(g.attending ? [g.attending] : []),
    ...g.orders,
    ...(g.payerOrganization ? [g.payerOrganization] : []),
  ];
  return sha(
    resources
      .map((r) => `${r.resourceType}/${r.id}/${r.meta.versionId}`)
      .sort()
      .join(','),
  );
}

/** States a claim can be rebuilt in: never accepted by the payer (held, rejected) or cancelled before it was. */
const REBUILDABLE: ReadonlySet<ClaimState | undefined> = new Set<ClaimState | undefined>([
  'held',
  'rejected',
  'void',
]);

/** What a sweep found to bill (see ClaimWorkflowWorker.#fullScan). */
interface BillingScan {
  /** Finished encounters with billable charges that no standing claim bills. */
  readonly unclaimed: readonly (Encounter & StoredResource)[];
  /** Ids of existing claims (for picking a rebill id that is free). */
  readonly claimIds: ReadonlySet<string>;
  /** Adjudicated claims marked replaced by a corrected claim (whose build may be due). */
  readonly replaced: readonly (Claim & StoredResource)[];
  /** The latest meta.lastUpdated among what was read: where the next change scan starts. */
  readonly latest?: string;
}

function latestOf(...lists: readonly (readonly StoredResource[])[]): string | undefined {
  let latest: string | undefined;
  for (const list of lists) {
    for (const r of list) {
      if (latest === undefined || Date.parse(r.meta.lastUpdated) > Date.parse(latest)) {
        latest = r.meta.lastUpdated;
      }
    }
  }
  return latest;
}

/** Changes are re-read from this long before the last sweep: a write stamped just before it may commit after it. */
const SCAN_OVERLAP_MS = 60_000;

/**
 * Which encounters these claims bill, which claims exist, and which adjudicated ones are marked
 * replaced. Adjudicated voids, and the claims they voided, bill nothing: an encounter billable
 * again (e.g. no longer entered-in-error in the EHR) gets a new original claim.
 */
function standingClaims(claims: readonly (Claim & StoredResource)[]): {
  claimed: Set<string>;
  claimIds: Set<string>;
  replaced: (Claim & StoredResource)[];
} {
  const voids = new Set(
    claims.filter((c) => claimFrequencyOf(c) === '8' && claimStateOf(c) === 'adjudicated').map((c) => c.id),
  );
  const claimed = new Set<string>();
  const claimIds = new Set<string>();
  const replaced: (Claim & StoredResource)[] = [];
  for (const claim of claims) {
    claimIds.add(claim.id);
    if (claim.status === 'entered-in-error') {
      continue;
    }
    const standsVoided = voids.has(claim.id) || voids.has(replacedByOf(claim) ?? '');
    if (standsVoided) {
      continue;
    }
    if (replacedByOf(claim) !== undefined && claimStateOf(claim) === 'adjudicated') {
      replaced.push(claim);
    }
    for (const item of claim.item ?? []) {
      for (const e of item.encounter ?? []) {
        const ref = refOf(e);
        if (ref) {
          claimed.add(ref);
        }
      }
    }
  }
  return { claimed, claimIds, replaced };
}

export class ClaimWorkflowWorker extends LoopingWorker {
  readonly #deps: ClaimWorkflowDeps;
  readonly #now: () => Date;
  readonly #ports = new Map<string, PayerPort>();
  #lastSweep = 0;
  readonly #lastRecheck = new Map<TenantId, number>();
  /** Per tenant: when the last sweep started (wall clock), the last full scan, and encounters waiting for their hold. */
  readonly #scans = new Map<TenantId, { watermark?: string; fullAt: number; pending: Set<string> }>();
  /** Per tenant: where the next recheck's change read starts (store time) and the last full one. */
  readonly #rechecks = new Map<TenantId, { watermark?: string; fullAt: number }>();

  constructor(deps: ClaimWorkflowDeps) {
    super({
      name: 'claim workflow',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
    });
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Sweeps when due, then leases and processes one batch of each queue; returns the jobs handled. */
  async runOnce(): Promise<number> {
    const now = this.#now();
    if (now.getTime() - this.#lastSweep >= (this.#deps.sweepMs ?? 5_000)) {
      this.#lastSweep = now.getTime();
      for (const tenant of this.#deps.tenants) {
        await this.sweep(tenant.id);
      }
    }
    let handled = 0;
    for (const queue of [CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE]) {
      const jobs = await this.#deps.store.jobs.lease({
        queue,
        leaseMs: this.#deps.leaseMs ?? 120_000,
        limit: this.#deps.batchSize ?? 16,
        now: this.#now(),
      });
      for (const job of jobs) {
        await this.#handle(job);
      }
      handled += jobs.length;
    }
    return handled;
  }

  /**
   * Whether a claim may be rebuilt from changed inputs: never accepted by the payer (held,
   * rejected), cancelled, or waiting for an X12 batch (ready for an X12-channel payer: nothing has
   * left yet). Voids carry their original's lines and are never rebuilt.
   */
  #rebuildable(config: TenantConfig, claim: Claim): boolean {
    if (claimFrequencyOf(claim) === '8') {
      return false;
    }
    const state = claimStateOf(claim);
    if (REBUILDABLE.has(state)) {
      return true;
    }
    return state === 'ready' && config.payers.find((p) => p.id === claimPayerOf(claim))?.channel === 'x12';
  }

  #tenant(tenant: TenantId): TenantConfig | undefined {
    return this.#deps.tenants.find((t) => t.id === tenant);
  }

  // -------------------------------------------------------------------------------------------
  // Sweep

  /**
   * Enqueues a build job for every group of finished, billable encounters without a claim, once
   * the tenant's charge capture is idle. Returns the number of jobs newly enqueued.
   */
  async sweep(tenant: TenantId): Promise<number> {
    const config = this.#tenant(tenant);
    if (!config?.billing || config.payers.length === 0) {
      return 0;
    }
    const store = this.#deps.store;
    for (const state of ['ready', 'leased'] as const) {
      if ((await store.jobs.listJobs(tenant, ENCOUNTER_CHANGED_QUEUE, state, 1)).length > 0) {
        return 0; // charges are being (re)computed: not final yet
      }
    }
    const takenOver = await this.#takeOverCorrections(tenant);
    if (takenOver > 0) {
      return takenOver; // charge capture recomputes those encounters first
    }
    const now = this.#now().getTime();
    const hold = this.#deps.holdMs ?? 0;
    const previous = this.#scans.get(tenant);
    const full =
      previous?.watermark === undefined || now - previous.fullAt >= (this.#deps.fullScanMs ?? 3_600_000);
    const scan =
      previous?.watermark === undefined || full
        ? await this.#fullScan(tenant)
        : await this.#changedScan(
            tenant,
            // Watermarks are the store's own meta.lastUpdated stamps (its clock, not ours).
            Date.parse(previous.watermark) - SCAN_OVERLAP_MS,
            previous.pending,
          );
    const { claimIds, replaced } = scan;
    const pending = new Set<string>();
    const groups = new Map<string, string[]>();
    for (const encounter of scan.unclaimed) {
      const ref = `Encounter/${encounter.id}`;
      const setting = settingOf(encounter);
      if (!setting) {
        continue;
      }
      const ended = Date.parse(encounter.period?.end ?? encounter.meta.lastUpdated);
      if (Number.isFinite(ended) && ended + hold > now) {
        pending.add(ref); // looked at again on every sweep until its hold is over
        continue;
      }
      const patient = refOf(encounter.subject) ?? '?';
      // Visits of one patient, setting and day of service (in the facility's zone) bill together.
      const day = serviceDate(encounter.period?.start ?? encounter.period?.end ?? '', tenantTimeZone(config));
      const key = setting === 'home' ? ref : `${patient}|${setting}|${day}`;
      groups.set(key, [...(groups.get(key) ?? []), ref]);
    }
    const watermark = [previous?.watermark, scan.latest]
      .filter((t): t is string => t !== undefined)
      .sort((x, y) => Date.parse(x) - Date.parse(y))
      .at(-1);
    let created = 0;
    for (const original of replaced) {
      const encounters = encountersOfClaim(original);
      const replacement = replacedByOf(original);
      if (!replacement || claimIds.has(replacement) || encounters.length === 0) {
        continue;
      }
      const job: ClaimReadyJob = { encounters, frequency: '7', replaces: original.id };
      const result = await store.jobs.enqueue(tenant, {
        queue: CLAIM_READY_QUEUE,
        key: `build|${replacement}`,
        payload: job,
      });
      if (result.created) {
        created += 1;
      }
    }
    for (const encounters of groups.values()) {
      // Deterministic: the encounters' original id, else (it was voided) the first free rebill id.
      let claimId = claimIdFor(encounters);
      for (let n = 1; claimIds.has(claimId); n++) {
        claimId = claimIdFor(encounters, `1|rebill:${n}`);
      }
      const job: ClaimReadyJob = {
        encounters: [...encounters].sort(),
        frequency: '1',
        ...(claimId !== claimIdFor(encounters) ? { id: claimId } : {}),
      };
      const result = await store.jobs.enqueue(tenant, {
        queue: CLAIM_READY_QUEUE,
        key: `build|${claimId}`,
        payload: job,
      });
      if (result.created) {
        created += 1;
      }
    }
    // Only now that every build is enqueued does the next sweep start after this one's changes (a
    // failure above leaves the watermark where it was, and the same changes are read again).
    this.#scans.set(tenant, {
      ...(watermark ? { watermark } : {}),
      fullAt: full ? now : (previous?.fullAt ?? now),
      pending,
    });
    const lastRecheck = this.#lastRecheck.get(tenant) ?? 0;
    if (now - lastRecheck >= (this.#deps.recheckMs ?? 30_000)) {
      this.#lastRecheck.set(tenant, now);
      const rebuildable = (
        await this.#searchAll<Claim>(tenant, 'Claim', [
          {
            code: 'claim-state',
            kind: 'token',
            values: [...REBUILDABLE, 'ready'].filter((s) => s !== undefined).map((value) => ({ value })),
          },
        ])
      ).filter((claim) => claim.status !== 'entered-in-error' && this.#rebuildable(config, claim));
      // Only the claims of patients whose data changed since the last recheck can have new inputs;
      // all of them at start and every `fullScanMs`.
      const previousRecheck = this.#rechecks.get(tenant);
      const fullRecheck =
        previousRecheck?.watermark === undefined ||
        now - previousRecheck.fullAt >= (this.#deps.fullScanMs ?? 3_600_000);
      let candidates = rebuildable;
      let watermark = this.#scans.get(tenant)?.watermark;
      if (!fullRecheck) {
        const changed = await this.#patientsChangedSince(
          tenant,
          Date.parse(previousRecheck.watermark ?? '') - SCAN_OVERLAP_MS,
        );
        candidates = rebuildable.filter((c) => changed.patients.has(refOf(c.patient) ?? ''));
        watermark = [previousRecheck.watermark, changed.latest]
          .filter((t): t is string => t !== undefined)
          .sort((x, y) => Date.parse(x) - Date.parse(y))
          .at(-1);
      }
      created += await this.#recheck(tenant, config, candidates);
      this.#rechecks.set(tenant, {
        ...(watermark ? { watermark } : {}),
        fullAt: fullRecheck ? now : (previousRecheck?.fullAt ?? now),
      });
    }
    return created;
  }

  /**
   * The patients whose claim inputs may have changed since `since` (store time, ms): subjects of
   * charges, administrations, encounters and conditions, beneficiaries of coverages, patients of
   * ClaimResponses (authorizations on file), the patients themselves, and the patients given a
   * Medication that changed. With the latest stamp read.
   */
  async #patientsChangedSince(
    tenant: TenantId,
    since: number,
  ): Promise<{ patients: Set<string>; latest?: string }> {
    const changed: StoreFilter = {
      code: '_lastUpdated',
      kind: 'date',
      prefix: 'ge',
      start: new Date(since).toISOString(),
      end: new Date(since + 1).toISOString(),
    };
    const patients = new Set<string>();
    const read: StoredResource[][] = [];
    const collect = async <T extends Resource>(
      type: T['resourceType'],
      patientOf: (r: T & StoredResource) => Reference | undefined,
    ): Promise<(T & StoredResource)[]> => {
      const found = await this.#searchAll<T>(tenant, type, [changed]);
      read.push(found);
      for (const r of found) {
        const ref = refOf(patientOf(r));
        if (ref?.startsWith('Patient/')) {
          patients.add(ref);
        }
      }
      return found;
    };
    await collect<ChargeItem>('ChargeItem', (r) => r.subject);
    await collect<MedicationAdministration>('MedicationAdministration', (r) => r.subject);
    await collect<Encounter>('Encounter', (r) => r.subject);
    await collect<Condition>('Condition', (r) => r.subject);
    await collect<Coverage>('Coverage', (r) => r.beneficiary);
    await collect<RelatedPerson>('RelatedPerson', (r) => r.patient);
    await collect<ClaimResponse>('ClaimResponse', (r) => r.patient);
    await collect<Patient>('Patient', (r) => ({ reference: `Patient/${r.id}` }));
    for (const medication of await collect<Medication>('Medication', () => undefined)) {
      for (const ma of await this.#searchAll<MedicationAdministration>(
        tenant,
        'MedicationAdministration',
        this.#byRef('medication', `Medication/${medication.id}`),
      )) {
        const ref = refOf(ma.subject);
        if (ref?.startsWith('Patient/')) {
          patients.add(ref);
        }
      }
    }
    const latest = latestOf(...read);
    return { patients, ...(latest ? { latest } : {}) };
  }

  /**
   * Every finished encounter with billable charges and no claim standing for it, every claim id,
   * and the adjudicated claims marked replaced — from all of the tenant's data. Run at start and
   * then every `fullScanMs` as a safety net; the sweeps between look only at what changed.
   */
  async #fullScan(tenant: TenantId): Promise<BillingScan> {
    const billable = new Set<string>();
    const items = await this.#searchAll<ChargeItem>(tenant, 'ChargeItem', [
      { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
    ]);
    for (const item of items) {
      const ref = refOf(item.context);
      if (ref) {
        billable.add(ref);
      }
    }
    const claims = await this.#searchAll<Claim>(tenant, 'Claim', []);
    const { claimed, claimIds, replaced } = standingClaims(claims);
    const finished = await this.#searchAll<Encounter>(tenant, 'Encounter', [
      { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
    ]);
    const unclaimed = finished.filter(
      (e) => billable.has(`Encounter/${e.id}`) && !claimed.has(`Encounter/${e.id}`),
    );
    const latest = latestOf(items, claims, finished);
    return { unclaimed, claimIds, replaced, ...(latest ? { latest } : {}) };
  }

  /**
   * The same as #fullScan, for what changed since `since` (store time, ms): billable charges and
   * finished encounters written since then, the encounters still waiting for their hold
   * (`pending`), and the claims of those encounters; claims written since then for the replaced ones.
   */
  async #changedScan(tenant: TenantId, since: number, pending: ReadonlySet<string>): Promise<BillingScan> {
    const from = new Date(since).toISOString();
    const changed: StoreFilter = {
      code: '_lastUpdated',
      kind: 'date',
      prefix: 'ge',
      start: from,
      end: new Date(since + 1).toISOString(),
    };
    const candidates = new Set(pending);
    const billable = new Set<string>();
    const changedItems = await this.#searchAll<ChargeItem>(tenant, 'ChargeItem', [
      { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
      changed,
    ]);
    for (const item of changedItems) {
      const ref = refOf(item.context);
      if (ref?.startsWith('Encounter/')) {
        candidates.add(ref);
        billable.add(ref);
      }
    }
    const changedEncounters = await this.#searchAll<Encounter>(tenant, 'Encounter', [
      { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
      changed,
    ]);
    for (const encounter of changedEncounters) {
      candidates.add(`Encounter/${encounter.id}`);
    }
    const claimIds = new Set<string>();
    const unclaimed: (Encounter & StoredResource)[] = [];
    for (const ref of [...candidates].sort()) {
      const encounter = await this.#read<Encounter>(tenant, 'Encounter', ref.slice('Encounter/'.length));
      if (encounter?.status !== 'finished') {
        continue;
      }
      if (
        !billable.has(ref) &&
        (
          await this.#deps.store.resources.search(tenant, {
            resourceType: 'ChargeItem',
            filters: [
              ...this.#byRef('encounter', ref),
              { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
            ],
            sort: [],
            count: 1,
            offset: 0,
            total: false,
          })
        ).resources.length === 0
      ) {
        continue;
      }
      const theirs = await this.#searchAll<Claim>(tenant, 'Claim', this.#byRef('encounter', ref));
      const { claimed, claimIds: ids } = standingClaims(theirs);
      ids.forEach((id) => claimIds.add(id));
      if (!claimed.has(ref)) {
        unclaimed.push(encounter);
      }
    }
    const changedClaims = await this.#searchAll<Claim>(tenant, 'Claim', [changed]);
    const replaced = standingClaims(changedClaims).replaced.filter(
      (c) => !claimIds.has(replacedByOf(c) ?? ''),
    );
    for (const original of replaced) {
      // The replacement's existence decides whether its build is still to be enqueued.
      const replacement = replacedByOf(original);
      if (replacement && (await this.#read<Claim>(tenant, 'Claim', replacement))) {
        claimIds.add(replacement);
      }
    }
    const latest = latestOf(changedItems, changedEncounters, changedClaims);
    return { unclaimed, claimIds, replaced, ...(latest ? { latest } : {}) };
  }

  /**
   * Held, rejected and cancelled claims whose inputs changed since they were scrubbed (the nurse
   * documented the stop time, the coverage was fixed, a charge was voided ...) get a rebuild job,
   * keyed by the new inputs so each change is rebuilt once. A fix in the EHR thus releases a held
   * claim without anyone touching it. Returns the number of jobs newly enqueued.
   */
  async #recheck(
    tenant: TenantId,
    config: TenantConfig,
    claims: readonly (Claim & StoredResource)[],
  ): Promise<number> {
    let created = 0;
    for (const claim of claims) {
      const encounters = encountersOfClaim(claim);
      if (encounters.length === 0) {
        continue;
      }
      const fingerprint = inputsFingerprint(await this.#gather(tenant, config, encounters, claim));
      if (fingerprint === claimInputsOf(claim)) {
        continue;
      }
      const job: ClaimReadyJob = { encounters, rebuild: claim.id };
      const result = await this.#deps.store.jobs.enqueue(tenant, {
        queue: CLAIM_READY_QUEUE,
        key: `rebuild|${claim.id}|${fingerprint}`,
        payload: job,
      });
      if (result.created) {
        created += 1;
      }
    }
    return created;
  }

  /** Open "corrected claim needed" Tasks (charge capture's), by the Claim they focus on. */
  async #openCorrectionTasks(tenant: TenantId, claim?: string): Promise<(Task & StoredResource)[]> {
    return (
      await this.#searchAll<Task>(tenant, 'Task', [
        { code: 'code', kind: 'token', values: [{ value: CORRECTED_CLAIM_TASK.code }] },
        ...(claim ? this.#byRef('focus', `Claim/${claim}`) : []),
      ])
    ).filter(
      (t) =>
        (t.status === 'requested' || t.status === 'ready' || t.status === 'in-progress') &&
        (t.code?.coding ?? []).some(
          (c) => c.system === WORK_ITEM_SYSTEM && c.code === CORRECTED_CLAIM_TASK.code,
        ),
    );
  }

  /**
   * Corrected claims, step 1: for every adjudicated claim with an open "corrected claim needed"
   * Task, marks the claim as replaced by its corrected claim (extension claim-replaced-by; it stays
   * `adjudicated`) and asks charge capture to recompute its encounters (encounter-changed jobs keyed
   * by that claim version), in one transaction. Charge capture no longer holds a claim so marked, so
   * the pending changes are applied; the next sweep (charge capture idle) builds the corrected claim.
   * Returns the number of claims taken over.
   */
  async #takeOverCorrections(tenant: TenantId): Promise<number> {
    const focused = new Set<string>();
    for (const task of await this.#openCorrectionTasks(tenant)) {
      const ref = refOf(task.focus);
      if (ref?.startsWith('Claim/')) {
        focused.add(ref.slice('Claim/'.length));
      }
    }
    let marked = 0;
    for (const id of [...focused].sort()) {
      const claim = await this.#read<Claim>(tenant, 'Claim', id);
      if (!claim || claimStateOf(claim) !== 'adjudicated' || isBeingReplaced(claim)) {
        continue; // not adjudicated yet (the Task waits), or already taken over
      }
      const encounters = encountersOfClaim(claim);
      if (encounters.length === 0) {
        continue;
      }
      const replacement = correctionIdFor(encounters, claim.id);
      const version = String(Number(claim.meta.versionId) + 1);
      const next: Claim & { id: string } = {
        ...withoutMeta(claim),
        extension: [
          ...(claim.extension ?? []),
          { url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: `Claim/${replacement}` } },
        ],
      };
      const cause = `Claim/${claim.id}/_history/${version}`;
      try {
        await this.#deps.store.resources.writeBatch(tenant, [
          { op: 'update', resource: next, options: { ifMatchVersion: claim.meta.versionId, upsert: false } },
          ...this.#transitionRecords(
            next,
            version,
            'adjudicated',
            'adjudicated',
            `documentation changed after submission: to be replaced by corrected claim Claim/${replacement}; charges recomputed`,
          ),
          ...encounters.map((encounter): BatchOperation => {
            const event: EncounterChangedEvent = { encounter, causes: [cause] };
            return {
              op: 'enqueue',
              job: {
                queue: ENCOUNTER_CHANGED_QUEUE,
                key: encounterChangedKey(encounter, cause),
                payload: event,
              },
            };
          }),
        ]);
        marked += 1;
      } catch (err) {
        // A concurrent change: the next sweep tries again.
        this.#deps.logger.warn(
          { tenant, claim: id, err: (err as Error).message },
          'corrected claim: take-over failed',
        );
      }
    }
    return marked;
  }

  /** The payer's number of a submitted claim: the first identifier of its stored ClaimResponse. */
  async #payerClaimNumber(tenant: TenantId, claim: string): Promise<string | undefined> {
    const responses = await this.#searchAll<ClaimResponse>(
      tenant,
      'ClaimResponse',
      this.#byRef('request', `Claim/${claim}`),
    );
    const latest = responses.sort((a, b) => b.meta.lastUpdated.localeCompare(a.meta.lastUpdated))[0];
    return latest?.identifier?.find((i) => i.value)?.value;
  }

  // -------------------------------------------------------------------------------------------
  // Jobs

  async #handle(job: Job): Promise<void> {
    const store = this.#deps.store;
    try {
      const result =
        job.queue === CLAIM_READY_QUEUE
          ? await this.buildAndScrub(job.tenant, job.payload as ClaimReadyJob)
          : await this.submit(job.tenant, job.payload as ClaimSubmitJob);
      this.#deps.logger.debug({ job: job.id, queue: job.queue, ...result }, 'claim step done');
      await store.jobs.ack(job.id, job.leaseToken ?? '');
    } catch (err) {
      const message = (err as Error).message;
      const delay = this.#deps.retryDelayMs?.(job.attempts) ?? retryDelayMs(job.attempts);
      const retryAt = new Date(this.#now().getTime() + delay).toISOString();
      const last = job.attempts >= job.maxAttempts;
      this.#deps.logger.warn(
        { job: job.id, queue: job.queue, attempts: job.attempts, last, err: message },
        last ? 'claim step failed; no attempts left' : 'claim step failed; retrying',
      );
      if (job.queue === CLAIM_SUBMIT_QUEUE) {
        await this.#recordSubmitFailure(job, message, last ? undefined : retryAt).catch((e: unknown) => {
          this.#deps.logger.warn(
            { job: job.id, err: (e as Error).message },
            'could not record the failed attempt on the claim',
          );
        });
      }
      await store.jobs.fail(job.id, job.leaseToken ?? '', {
        error: message,
        retryable: true,
        now: this.#now(),
        retryAt,
      });
    }
  }

  /**
   * A failed submission attempt (payer down, timed out, or an answer that is not a valid
   * ClaimResponse) goes on the claim's history: a new version, still `submitting` (its age kept),
   * whose Provenance says what happened and when the next attempt is. After the last attempt a
   * Task asks a person to resubmit (POST /api/claims/{id}/resubmit) once the payer is reachable.
   */
  async #recordSubmitFailure(job: Job, message: string, retryAt: string | undefined): Promise<void> {
    const payload = job.payload as ClaimSubmitJob;
    const claim = await this.#read<Claim>(job.tenant, 'Claim', payload.claim);
    if (!claim || claimStateOf(claim) !== 'submitting') {
      return; // failed before it was marked submitting: nothing was sent, nothing to record
    }
    const attempt = `attempt ${job.attempts} of ${job.maxAttempts}`;
    await this.#move(job.tenant, claim, 'submitting', {
      reason: retryAt
        ? `submission ${attempt} failed: ${message}; next attempt (an inquiry first, so nothing is sent twice) at ${retryAt}`
        : `submission ${attempt} failed: ${message}; no automatic attempts left`,
      ...(retryAt
        ? {}
        : {
            task: {
              text: 'claim needs attention',
              note: `The payer could not be reached or answered unusably ${job.maxAttempts} times (last: ${message}). When it is reachable again, resubmit: POST /api/claims/${claim.id}/resubmit (the payer is asked first whether it already has the claim).`,
            },
          }),
    });
  }

  /** Builds (if not yet stored), scrubs and holds or readies the claim of these encounters. */
  async buildAndScrub(tenant: TenantId, job: ClaimReadyJob): Promise<ClaimStepResult> {
    const config = this.#tenant(tenant);
    if (!config?.billing) {
      return { note: 'tenant has no billing provider' };
    }
    if (job.rebuild !== undefined) {
      return this.#rebuild(tenant, config, job.rebuild);
    }
    let frequency: ClaimFrequency = job.replaces ? '7' : (job.frequency ?? '1');
    let claimId = job.replaces
      ? correctionIdFor(job.encounters, job.replaces)
      : (job.id ?? claimIdFor(job.encounters, frequency));
    let stored = await this.#read<Claim>(tenant, 'Claim', claimId);
    if (!stored && job.replaces) {
      // A retried job whose original became a void (frequency 8) instead.
      const voidId = voidIdFor(job.encounters, job.replaces);
      const voided = await this.#read<Claim>(tenant, 'Claim', voidId);
      if (voided) {
        stored = voided;
        claimId = voidId;
        frequency = '8';
      }
    }
    const gathered = await this.#gather(tenant, config, job.encounters, stored);
    if (!stored) {
      if (!gathered.patient || !gathered.setting || gathered.encounters.length === 0) {
        return { note: 'encounters or patient not stored' };
      }
      const original = job.replaces ? await this.#read<Claim>(tenant, 'Claim', job.replaces) : undefined;
      if (job.replaces && !original) {
        return { claim: claimId, note: `Claim/${job.replaces} to replace not found` };
      }
      // Every charge of the replaced claim's encounters is void: void the claim (frequency 8).
      const voiding = original !== undefined && gathered.chargeItems.length === 0;
      if (original && voiding) {
        frequency = '8';
        claimId = voidIdFor(job.encounters, original.id);
      }
      const payer =
        (voiding ? config.payers.find((p) => p.id === claimPayerOf(original)) : undefined) ?? gathered.payer;
      if (!payer) {
        await this.#noPayerTask(tenant, gathered, claimId);
        return { claim: claimId, note: 'no configured payer matches the coverage' };
      }
      const payerClaimNumber = original ? await this.#payerClaimNumber(tenant, original.id) : undefined;
      const completions = original
        ? await this.#completeCorrectionTasks(tenant, original.id, claimId, frequency)
        : [];
      const replaces = original
        ? { claimId: original.id, ...(payerClaimNumber ? { payerClaimNumber } : {}) }
        : undefined;
      const built =
        original && voiding
          ? buildVoidClaim(original, {
              id: claimId,
              now: this.#now(),
              replaces: replaces ?? { claimId: original.id },
            })
          : this.#build(config, gathered, payer, claimId, frequency, replaces);
      const claim = withState(
        {
          ...withoutMeta(built),
          id: claimId,
          extension: [
            ...(built.extension ?? []).filter((e) => e.url !== EXT_CLAIM_PAYER),
            { url: EXT_CLAIM_PAYER, valueString: payer.id },
          ],
        },
        'built',
        this.#now(),
      );
      const [result] = await this.#deps.store.resources.writeBatch(tenant, [
        { op: 'create', resource: claim, options: { id: claimId } },
        ...this.#transitionRecords(
          claim,
          '1',
          undefined,
          'built',
          original && voiding
            ? `void claim (frequency 8) built from the lines of Claim/${original.id}: its recomputed charges are all void`
            : original
              ? `corrected claim (frequency 7) built from the recomputed charges, replacing Claim/${original.id}`
              : 'claim built from final charges',
        ),
        ...completions,
        ...(original && voiding ? this.#markVoided(original, claimId) : []),
      ]);
      stored = (
        result?.op === 'create' ? result.result.resource : await this.#read(tenant, 'Claim', claimId)
      ) as (Claim & StoredResource) | undefined;
      if (!stored) {
        throw new Error(`claim ${claimId} not readable after create`);
      }
    }
    return this.#scrubAndRoute(tenant, config, stored, gathered);
  }

  /**
   * The claim of the gathered encounters for `payer`: lines from the billable charges, priced by the
   * tenant's chargemaster, with the authorization numbers that cover them.
   */
  #build(
    config: TenantConfig,
    gathered: Gathered,
    payer: PayerEndpoint,
    id: string,
    frequency: ClaimFrequency,
    replaces: BuildClaimInput['replaces'],
  ): Claim {
    if (!gathered.setting || !gathered.patient || !config.billing) {
      throw new Error(`claim ${id}: setting, patient or billing provider missing`);
    }
    return this.#deps.buildClaim({
      setting: gathered.setting,
      encounters: gathered.encounters,
      chargeItems: gathered.chargeItems,
      patient: gathered.patient,
      coverages: gathered.coverages,
      payer,
      provider: config.billing,
      conditions: gathered.conditions,
      now: this.#now(),
      id,
      frequency,
      ...(replaces ? { replaces } : {}),
      preAuthRefs: authorizationNumbersFor(
        gathered.authorizations,
        payer.payerId,
        chargeLines(gathered.chargeItems),
      ),
      ...(config.chargemasterFile ? { chargemaster: loadChargemaster(config.chargemasterFile) } : {}),
      ...(gathered.attending ? { attending: gathered.attending } : {}),
    });
  }

  /** Scrubs a `built` claim: `held` with its findings Task, or `ready` (and queued for submission). */
  async #scrubAndRoute(
    tenant: TenantId,
    config: TenantConfig,
    stored: Claim & StoredResource,
    gathered: Gathered,
  ): Promise<ClaimStepResult> {
    const claimId = stored.id;
    const state = claimStateOf(stored);
    if (state !== 'built') {
      return { claim: claimId, ...(state ? { state } : {}), note: 'already past scrubbing' };
    }
    const payer = config.payers.find((p) => p.id === claimPayerOf(stored)) ?? gathered.payer;
    if (!payer || !gathered.patient || !gathered.setting) {
      return { claim: claimId, note: 'claim inputs gone' };
    }
    // A void carries the original's (accepted) lines and its charges are void: not scrubbed.
    const isVoid = claimFrequencyOf(stored) === '8';
    const findings = isVoid ? [] : this.#scrub(config, stored, gathered, payer);
    const errors = findings.filter((f) => f.severity === 'error');
    const next: ClaimState = errors.length > 0 ? 'held' : 'ready';
    const fingerprint = inputsFingerprint(gathered);
    await this.#move(tenant, stored, next, {
      reason:
        next === 'held'
          ? `scrubber found ${errors.length} error(s): ${[...new Set(errors.map((e) => e.ruleId))].join(', ')}`
          : isVoid
            ? "void claim (frequency 8): the original's lines, not scrubbed"
            : `scrubbed clean${findings.length > 0 ? ` (${findings.length} warning/information finding(s))` : ''}`,
      findings,
      payer,
      mutate: (claim) => withInputs(claim, fingerprint),
    });
    return { claim: claimId, state: next };
  }

  /**
   * Rebuilds a claim the payer never accepted (held, rejected) or that was cancelled, from its
   * encounters' current charges: a new version of the same claim (same id, frequency and
   * `related`), `built`, then scrubbed again. When no billable charge is left the claim is
   * cancelled (state `void`, status cancelled) instead: nothing was accepted, so no void claim is
   * sent. A resubmitted claim gets a new submission key (its new version).
   */
  async #rebuild(
    tenant: TenantId,
    config: TenantConfig,
    claimId: string,
    by?: { clientId: string; reason: string; audit?: AuditEvent & { id: string } },
  ): Promise<ClaimStepResult> {
    const stored = await this.#read<Claim>(tenant, 'Claim', claimId);
    if (!stored) {
      return { claim: claimId, note: 'claim gone' };
    }
    const state = claimStateOf(stored);
    if (!this.#rebuildable(config, stored)) {
      return { claim: claimId, ...(state ? { state } : {}), note: 'not rebuildable in this state' };
    }
    const encounters = encountersOfClaim(stored);
    const gathered = await this.#gather(tenant, config, encounters, stored);
    const who = by ? ` (${by.clientId}: ${by.reason})` : '';
    const extra: BatchOperation[] = by?.audit
      ? [{ op: 'create', resource: by.audit, options: { id: by.audit.id } }]
      : [];
    if (gathered.chargeItems.length === 0) {
      if (state === 'void') {
        return { claim: claimId, state, note: 'still no billable charge' };
      }
      const fingerprint = inputsFingerprint(gathered);
      await this.#move(tenant, stored, 'void', {
        reason: `no billable charge is left on its encounters: cancelled before the payer accepted it${who}`,
        mutate: (claim) => withInputs(claim, fingerprint),
        extra,
      });
      return { claim: claimId, state: 'void' };
    }
    const payer = config.payers.find((p) => p.id === claimPayerOf(stored)) ?? gathered.payer;
    if (!payer || !gathered.patient || !gathered.setting || !config.billing) {
      return { claim: claimId, note: 'claim inputs gone' };
    }
    const related = stored.related?.find((r) => r.claim?.reference?.startsWith('Claim/'));
    const originalId = related?.claim?.reference?.slice('Claim/'.length);
    const frequency = claimFrequencyOf(stored) === '7' && originalId ? '7' : '1';
    const payerClaimNumber = related?.reference?.value;
    const built = this.#build(
      config,
      gathered,
      payer,
      claimId,
      frequency,
      frequency === '7' && originalId
        ? { claimId: originalId, ...(payerClaimNumber ? { payerClaimNumber } : {}) }
        : undefined,
    );
    const rebuilt = await this.#move(tenant, stored, 'built', {
      reason: `rebuilt from the current charges (was ${state ?? 'untracked'})${who}`,
      mutate: (current) => ({
        ...withoutMeta(built),
        id: claimId,
        status: current.status,
        extension: [
          ...(built.extension ?? []).filter(
            (e) => e.url !== EXT_CLAIM_PAYER && e.url !== EXT_CLAIM_STATE && e.url !== EXT_CLAIM_STATE_SINCE,
          ),
          { url: EXT_CLAIM_PAYER, valueString: payer.id },
          ...(current.extension ?? []).filter(
            (e) => e.url === EXT_CLAIM_STATE || e.url === EXT_CLAIM_STATE_SINCE,
          ),
        ],
      }),
      extra,
    });
    return this.#scrubAndRoute(tenant, config, rebuilt, gathered);
  }

  /**
   * The original's next version when a void replaces it: claim-replaced-by → the void (it stays
   * `adjudicated`), with its Provenance and AuditEvent.
   */
  #markVoided(original: Claim & StoredResource, voidId: string): BatchOperation[] {
    const next: Claim & { id: string } = {
      ...withoutMeta(original),
      extension: [
        ...(original.extension ?? []).filter((e) => e.url !== EXT_CLAIM_REPLACED_BY),
        { url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: `Claim/${voidId}` } },
      ],
    };
    const version = String(Number(original.meta.versionId) + 1);
    return [
      { op: 'update', resource: next, options: { ifMatchVersion: original.meta.versionId, upsert: false } },
      ...this.#transitionRecords(
        next,
        version,
        'adjudicated',
        'adjudicated',
        `its recomputed charges are all void: voided by Claim/${voidId} (frequency 8)`,
      ),
    ];
  }

  /** Completes the open "corrected claim needed" Tasks of `original`, naming its corrected (or void) claim. */
  async #completeCorrectionTasks(
    tenant: TenantId,
    original: string,
    replacement: string,
    frequency: ClaimFrequency,
  ): Promise<BatchOperation[]> {
    const now = this.#now().toISOString();
    return (await this.#openCorrectionTasks(tenant, original)).map((task): BatchOperation => ({
      op: 'update',
      resource: {
        ...withoutMeta(task),
        status: 'completed',
        lastModified: now,
        note: [
          ...(task.note ?? []),
          {
            time: now,
            text:
              frequency === '8'
                ? `Charges recomputed: none left; void claim Claim/${replacement} (frequency 8) built to void Claim/${original}.`
                : `Charges recomputed; corrected claim Claim/${replacement} (frequency 7) built to replace Claim/${original}.`,
          },
        ],
      },
      options: { ifMatchVersion: task.meta.versionId, upsert: false },
    }));
  }

  #scrub(
    config: TenantConfig,
    claim: Claim & StoredResource,
    gathered: Gathered,
    payer: PayerEndpoint,
  ): ScrubFinding[] {
    const ctx = this.#context(config, claim, gathered, payer);
    return ctx ? this.#deps.scrubClaim(ctx, this.#deps.tables) : [];
  }

  #context(
    config: TenantConfig,
    claim: Claim & StoredResource,
    gathered: Gathered,
    payer: PayerEndpoint,
  ): ClaimContext | undefined {
    if (!gathered.patient || !gathered.setting || !config.billing) {
      return undefined;
    }
    return {
      claim,
      setting: gathered.setting,
      patient: gathered.patient,
      coverages: gathered.coverages,
      ...(gathered.subscriber ? { subscriber: gathered.subscriber } : {}),
      payer,
      ...(gathered.payerOrganization ? { payerOrganization: gathered.payerOrganization } : {}),
      provider: config.billing,
      encounters: gathered.encounters,
      chargeItems: gathered.chargeItems,
      administrations: gathered.administrations,
      medications: gathered.medications,
      conditions: gathered.conditions,
      otherClaims: gathered.otherClaims.filter((c) => c.id !== claim.id),
      authorizations: gathered.authorizations,
      today: localDate(this.#now(), tenantCalendarZone(config)),
    };
  }

  /** Everything a stored claim's X12 rendering needs (the same context the scrubber reads). */
  async loadContext(tenant: TenantId, claimId: string): Promise<ClaimContext | undefined> {
    const config = this.#tenant(tenant);
    const stored = await this.#read<Claim>(tenant, 'Claim', claimId);
    if (!stored || !config) {
      return undefined;
    }
    const encounters = [
      ...new Set((stored.item ?? []).flatMap((i) => (i.encounter ?? []).map((e) => refOf(e) ?? ''))),
    ].filter((r) => r !== '');
    const gathered = await this.#gather(tenant, config, encounters, stored);
    const payer = config.payers.find((p) => p.id === claimPayerOf(stored));
    return payer ? this.#context(config, stored, gathered, payer) : undefined;
  }

  /**
   * Writes the next version of the claim in `state`, with its Provenance and AuditEvent, the Task
   * when held (or the Task completed when it leaves held), and the submit job when ready for a
   * FHIR payer — all in one transaction. Throws on a concurrent change (the job is retried).
   */
  async #move(
    tenant: TenantId,
    stored: Claim & StoredResource,
    state: ClaimState,
    detail: MoveDetail,
  ): Promise<Claim & StoredResource> {
    const operations = await this.#moveOperations(tenant, stored, state, detail);
    const results = await this.#deps.store.resources.writeBatch(tenant, operations);
    const first = results[0];
    if (state === 'ready') {
      this.notify();
    }
    return (first && first.op !== 'enqueue' ? first.result.resource : stored) as Claim & StoredResource;
  }

  /** The operations of #move (for a caller that moves several claims in one transaction). */
  async #moveOperations(
    tenant: TenantId,
    stored: Claim & StoredResource,
    state: ClaimState,
    detail: MoveDetail,
  ): Promise<BatchOperation[]> {
    const now = this.#now();
    const from = claimStateOf(stored);
    let next = withState(withoutMeta(stored), state, now) as Claim & { id: string };
    next = detail.mutate ? detail.mutate(next) : next;
    const version = String(Number(stored.meta.versionId) + 1);
    const operations: BatchOperation[] = [
      { op: 'update', resource: next, options: { ifMatchVersion: stored.meta.versionId, upsert: false } },
      ...this.#transitionRecords(next, version, from, state, detail.reason),
      ...(detail.extra ?? []),
    ];
    const taskId = claimTaskId(stored.id);
    const existingTask = await this.#read<Task>(tenant, 'Task', taskId);
    const taskText =
      state === 'held'
        ? { text: 'claim needs attention', findings: detail.findings ?? [], note: detail.reason }
        : detail.task;
    if (taskText) {
      operations.push(this.#taskWrite(tenant, stored, taskText, existingTask, now));
    } else if (
      // Rebuilding is not resolving: the Task stays open until the claim is scrubbed again.
      state !== 'built' &&
      existingTask &&
      existingTask.status !== 'completed' &&
      existingTask.status !== 'cancelled'
    ) {
      operations.push({
        op: 'update',
        resource: {
          ...withoutMeta(existingTask),
          status: 'completed',
          lastModified: now.toISOString(),
          note: [
            ...(existingTask.note ?? []),
            { time: now.toISOString(), text: `claim ${state}: ${detail.reason}` },
          ],
        },
        options: { ifMatchVersion: existingTask.meta.versionId, upsert: false },
      });
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
    return operations;
  }

  /**
   * X12 channel: the claims of a batch file handed to the clearinghouse move `ready` → `submitted`,
   * in one transaction with the batch document (DocumentReference holding the 837 file), so either
   * every claim of the file is marked sent and the file is kept, or nothing changed. Throws when a
   * claim is no longer `ready` or changed meanwhile (the caller builds the batch again).
   */
  async markSentInBatch(
    tenant: TenantId,
    claimIds: readonly string[],
    batch: { document: DocumentReference & { id: string }; clientId: string; reason: string },
  ): Promise<void> {
    const operations: BatchOperation[] = [
      { op: 'create', resource: batch.document, options: { id: batch.document.id } },
    ];
    for (const id of claimIds) {
      const stored = await this.#read<Claim>(tenant, 'Claim', id);
      if (!stored || claimStateOf(stored) !== 'ready') {
        throw new ClaimConflictError(`Claim/${id} is no longer ready`);
      }
      operations.push(
        ...(await this.#moveOperations(tenant, stored, 'submitted', {
          reason: `${batch.reason} (DocumentReference/${batch.document.id}, by ${batch.clientId})`,
          mutate: (claim) => ({
            ...claim,
            extension: [
              ...(claim.extension ?? []).filter((e) => e.url !== EXT_CLAIM_X12_BATCH),
              {
                url: EXT_CLAIM_X12_BATCH,
                valueReference: { reference: `DocumentReference/${batch.document.id}` },
              },
            ],
          }),
        })),
      );
    }
    try {
      await this.#deps.store.resources.writeBatch(tenant, operations);
    } catch (err) {
      if ((err as { outcome?: { id?: string } }).outcome?.id === 'precondition-failed') {
        throw new ClaimConflictError('a claim of the batch changed while the batch was built');
      }
      throw err;
    }
  }

  #taskWrite(
    tenant: TenantId,
    claim: Claim & StoredResource,
    content: { text: string; findings?: readonly ScrubFinding[]; note?: string },
    existing: (Task & StoredResource) | undefined,
    now: Date,
  ): BatchOperation {
    this.#deps.logger.trace({ tenant, claim: claim.id }, 'claim task written');
    const task: Task & { id: string } = {
      resourceType: 'Task',
      id: claimTaskId(claim.id),
      status: 'requested',
      intent: 'order',
      priority: 'routine',
      code: { coding: [{ system: TASK_CODE_SYSTEM, code: CLAIM_TASK_CODE }], text: content.text },
      focus: { reference: `Claim/${claim.id}` },
      ...(claim.patient ? { for: claim.patient } : {}),
      authoredOn: existing?.authoredOn ?? now.toISOString(),
      lastModified: now.toISOString(),
      ...(existing?.owner ? { owner: existing.owner } : {}),
      ...(content.findings && content.findings.length > 0
        ? { input: content.findings.map(findingInput) }
        : {}),
      note: [
        ...(existing?.note ?? []),
        ...(content.note ? [{ time: now.toISOString(), text: content.note }] : []),
        ...(content.findings ?? [])
          .filter((f) => f.severity === 'error')
          .map((f) => ({ time: now.toISOString(), text: `${f.ruleId}: ${f.message} Fix: ${f.fix}` })),
      ],
    };
    return existing
      ? { op: 'update', resource: task, options: { ifMatchVersion: existing.meta.versionId, upsert: false } }
      : { op: 'create', resource: task, options: { id: task.id } };
  }

  /** Provenance + AuditEvent of a claim version. */
  #transitionRecords(
    claim: Claim & { id: string },
    version: string,
    from: ClaimState | undefined,
    to: ClaimState,
    reason: string,
    clientId = CLAIMS_CLIENT,
  ): BatchOperation[] {
    const now = this.#now();
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
            identifier: { system: AGENT_SYSTEM, value: clientId === CLAIMS_CLIENT ? 'claims' : clientId },
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
    const audit = buildAuditEvent({
      id: randomUUID(),
      now,
      interaction: from ? 'update' : 'create',
      outcome: '0',
      clientId,
      resources: [target, `Provenance/${provenance.id}`],
      patients: patientsOf(claim),
      publicUrl: this.#deps.publicUrl,
    });
    return [
      { op: 'create', resource: provenance, options: { id: provenance.id } },
      { op: 'create', resource: audit, options: { id: audit.id } },
    ];
  }

  async #noPayerTask(tenant: TenantId, gathered: Gathered, claimId: string): Promise<void> {
    const id = claimTaskId(claimId);
    if (await this.#read(tenant, 'Task', id)) {
      return;
    }
    const now = this.#now().toISOString();
    const task: Task & { id: string } = {
      resourceType: 'Task',
      id,
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: TASK_CODE_SYSTEM, code: CLAIM_TASK_CODE }], text: 'claim needs attention' },
      focus: { reference: `Encounter/${gathered.encounters[0]?.id ?? '?'}` },
      ...(gathered.patient ? { for: { reference: `Patient/${gathered.patient.id}` } } : {}),
      authoredOn: now,
      lastModified: now,
      note: [
        {
          time: now,
          text: "No configured payer matches the patient's primary coverage: add the payer to the tenant's payers (payerId = the payor organization's payer id) or fix the Coverage.",
        },
      ],
    };
    await this.#deps.store.resources.create(tenant, task, { id });
  }

  // -------------------------------------------------------------------------------------------
  // Submission

  #port(tenant: TenantId, payer: PayerEndpoint): PayerPort {
    const key = `${tenant}|${payer.id}`;
    let port = this.#ports.get(key);
    if (!port) {
      port = this.#deps.payerPort?.(tenant, payer) ?? createFhirPayerPort(payer, { now: this.#now });
      this.#ports.set(key, port);
    }
    return port;
  }

  /** Submits a ready claim (or finishes an interrupted submission) to its FHIR payer. */
  async submit(tenant: TenantId, job: ClaimSubmitJob): Promise<ClaimStepResult> {
    const config = this.#tenant(tenant);
    const found = await this.#read<Claim>(tenant, 'Claim', job.claim);
    if (!found || !config) {
      return { claim: job.claim, note: 'claim gone' };
    }
    let stored: Claim & StoredResource = found;
    const state = claimStateOf(stored);
    if (state !== 'ready' && state !== 'submitting') {
      // Already submitted (or moved on): never sent twice.
      return { claim: stored.id, ...(state ? { state } : {}), note: 'not submittable; skipped' };
    }
    const current = stored;
    const payer = config.payers.find((p) => p.id === claimPayerOf(current));
    if (!payer) {
      return { claim: stored.id, note: 'payer no longer configured' };
    }
    if (payer.channel !== 'fhir') {
      return { claim: stored.id, state: 'ready', note: 'X12 channel: left for the batch export' };
    }
    const key = `${stored.id}-v${job.version}`;
    const port = this.#port(tenant, payer);
    let response: ClaimResponse | undefined;
    if (state === 'ready') {
      stored = await this.#move(tenant, stored, 'submitting', {
        reason: `submitting to ${payer.name} (submission ${key})`,
        mutate: (claim) => ({
          ...claim,
          identifier: [
            ...(claim.identifier ?? []).filter((i) => i.system !== SUBMISSION_KEY_SYSTEM),
            { system: SUBMISSION_KEY_SYSTEM, value: key },
          ],
        }),
      });
    } else {
      const submittedKey = stored.identifier?.find((i) => i.system === SUBMISSION_KEY_SYSTEM)?.value;
      try {
        response = await port.findSubmitted(
          stored,
          submittedKey ?? key,
          await this.#answeredBefore(tenant, stored.id, payer),
        );
      } catch (err) {
        throw this.#classify(err);
      }
    }
    if (!response) {
      try {
        response = await port.submit(this.#outgoing(stored), key, await this.#supporting(tenant, stored));
      } catch (err) {
        const classified = this.#classify(err);
        if (classified instanceof RetryLaterError) {
          throw classified;
        }
        await this.#move(tenant, stored, 'rejected', {
          reason: `payer refused the submission: ${classified.message}`,
          task: {
            text: 'claim needs attention',
            note: `${payer.name} refused claim submission ${key}: ${classified.message}`,
          },
        });
        return { claim: stored.id, state: 'rejected', note: classified.message };
      }
    }
    return this.#record(tenant, stored, response, payer);
  }

  /** The payer's ids of the ClaimResponses already recorded for this claim (earlier submissions). */
  async #answeredBefore(tenant: TenantId, claimId: string, payer: PayerEndpoint): Promise<Set<string>> {
    const system = `https://dripline.dev/fhir/sid/payer-claim-response/${payer.id}`;
    const recorded = await this.#searchAll<ClaimResponse>(
      tenant,
      'ClaimResponse',
      this.#byRef('request', `Claim/${claimId}`),
    );
    return new Set(
      recorded.flatMap((r) =>
        (r.identifier ?? []).filter((i) => i.system === system && i.value).map((i) => i.value ?? ''),
      ),
    );
  }

  /** The Patient, Coverages and their subscribers a payer needs beside the Claim (member id, insured), as stored. */
  async #supporting(tenant: TenantId, claim: Claim): Promise<Resource[]> {
    const refs = [refOf(claim.patient), ...(claim.insurance ?? []).map((i) => refOf(i.coverage))].filter(
      (r): r is string => r !== undefined && /^(Patient|Coverage)\//.test(r),
    );
    const out: Resource[] = [];
    for (const ref of [...new Set(refs)]) {
      const [type, id] = ref.split('/') as [string, string];
      const resource = await this.#read(tenant, type as 'Patient', id);
      const insured =
        resource?.resourceType === 'Coverage' ? otherSubscriberOf(resource, undefined) : undefined;
      const subscriber = insured ? await this.#read(tenant, insured.type, insured.id) : undefined;
      for (const r of [resource, subscriber]) {
        if (r && !out.some((o) => o.resourceType === r.resourceType && o.id === r.id)) {
          out.push(withoutMeta(r));
        }
      }
    }
    return out;
  }

  /** The Claim as sent: our state extensions stay home. */
  #outgoing(claim: Claim & StoredResource): Claim {
    const copy = withoutMeta(claim);
    const extension = (copy.extension ?? []).filter(
      (e) => e.url !== EXT_CLAIM_STATE && e.url !== EXT_CLAIM_STATE_SINCE && e.url !== EXT_CLAIM_PAYER,
    );
    if (extension.length > 0) {
      copy.extension = extension;
    } else {
      delete copy.extension;
    }
    return { ...copy, status: 'active' };
  }

  #classify(err: unknown): Error {
    const e = err as { retryable?: unknown; message?: string; outcomeText?: string; status?: number };
    if (e?.retryable === true || e?.retryable === undefined) {
      return new RetryLaterError(e?.message ?? String(err));
    }
    return new Error(e.outcomeText ? (e.message ?? '').trim() : (e.message ?? 'refused'));
  }

  async #record(
    tenant: TenantId,
    stored: Claim & StoredResource,
    answer: ClaimResponse,
    payer: PayerEndpoint,
  ): Promise<ClaimStepResult> {
    const responseId = `cr-${sha(`Claim/${stored.id}|${answer.id ?? ''}|${stored.meta.versionId}`)}`;
    const response: ClaimResponse & { id: string } = {
      ...withoutMeta(answer),
      id: responseId,
      request: { reference: `Claim/${stored.id}` },
      ...(answer.patient ? {} : stored.patient ? { patient: stored.patient } : {}),
      identifier: [
        ...(answer.identifier ?? []),
        ...(answer.id
          ? [{ system: `https://dripline.dev/fhir/sid/payer-claim-response/${payer.id}`, value: answer.id }]
          : []),
      ],
    };
    const rejected = answer.outcome === 'error';
    const next: ClaimState = rejected ? 'rejected' : 'adjudicated';
    const denied = isDenial(answer);
    const existing = await this.#read(tenant, 'ClaimResponse', responseId);
    await this.#move(tenant, stored, next, {
      reason: `${payer.name} answered ${answer.outcome ?? '?'}${denied ? ' (denial)' : ''}: ClaimResponse/${responseId}`,
      extra: existing ? [] : [{ op: 'create', resource: response, options: { id: responseId } }],
      ...(rejected
        ? {
            task: {
              text: 'claim needs attention',
              note: `${payer.name} rejected the claim: ${(answer.error ?? [])
                .map((x) => x.code?.coding?.[0]?.code ?? x.code?.text ?? '?')
                .join(', ')} ${answer.disposition ?? ''}`.trim(),
            },
          }
        : {}),
    });
    return { claim: stored.id, state: next, ...(denied ? { note: 'denial' } : {}) };
  }

  // -------------------------------------------------------------------------------------------
  // Override

  /**
   * A person overrides a held claim's errors with a reason: re-scrubs it (fixed data releases it
   * too); moves it to `ready` when every remaining error is overridable. Records an AuditEvent
   * naming the client and the reason.
   */
  async override(
    tenant: TenantId,
    claimId: string,
    input: { clientId: string; reason: string; requestId?: string },
  ): Promise<{ ok: boolean; state?: ClaimState; blocking: ScrubFinding[]; status: number; message: string }> {
    const config = this.#tenant(tenant);
    const stored = await this.#read<Claim>(tenant, 'Claim', claimId);
    if (!stored || !config) {
      return { ok: false, blocking: [], status: 404, message: `Claim/${claimId} not found` };
    }
    const state = claimStateOf(stored);
    if (state !== 'held') {
      return {
        ok: false,
        ...(state ? { state } : {}),
        blocking: [],
        status: 409,
        message: `Claim/${claimId} is ${state ?? 'untracked'}, not held`,
      };
    }
    const encounters = [
      ...new Set((stored.item ?? []).flatMap((i) => (i.encounter ?? []).map((e) => refOf(e) ?? ''))),
    ].filter((r) => r !== '');
    const gathered = await this.#gather(tenant, config, encounters, stored);
    const held = stored;
    const payer = config.payers.find((p) => p.id === claimPayerOf(held));
    const findings = payer ? this.#scrub(config, stored, gathered, payer) : [];
    const errors = findings.filter((f) => f.severity === 'error');
    const blocking = errors.filter((f) => !f.overridable);
    const audit = this.#actionAudit(stored, input, 'claim-override', blocking.length > 0 ? '4' : '0', [
      { type: 'override-reason', valueString: input.reason },
      { type: 'overridden-rules', valueString: errors.map((e) => e.ruleId).join(',') || '(none)' },
    ]);
    if (blocking.length > 0 || !payer) {
      await this.#deps.store.resources.create(this.#tenantOf(tenant), audit, { id: audit.id });
      return {
        ok: false,
        state: 'held',
        blocking,
        status: 409,
        message: payer
          ? `errors that cannot be overridden remain: ${blocking.map((b) => b.ruleId).join(', ')}`
          : "the claim's payer is no longer configured",
      };
    }
    await this.#move(tenant, stored, 'ready', {
      reason: `override by ${input.clientId}: ${input.reason}${
        errors.length > 0 ? ` (rules ${errors.map((e) => e.ruleId).join(', ')})` : ''
      }`,
      payer,
      extra: [{ op: 'create', resource: audit, options: { id: audit.id } }],
    });
    return { ok: true, state: 'ready', blocking: [], status: 200, message: 'claim released to ready' };
  }

  #tenantOf(tenant: TenantId): TenantId {
    return tenant;
  }

  /** The AuditEvent of a person's action on a claim (override, resubmit): who, why, which claim. */
  #actionAudit(
    claim: Claim & StoredResource,
    input: { clientId: string; reason: string; requestId?: string },
    code: string,
    outcome: '0' | '4',
    detail: { type: string; valueString: string }[],
  ): AuditEvent & { id: string } {
    const audit = buildAuditEvent({
      id: randomUUID(),
      now: this.#now(),
      interaction: 'operation',
      outcome,
      clientId: input.clientId,
      ...(input.requestId ? { requestId: input.requestId } : {}),
      resources: [`Claim/${claim.id}`, `Task/${claimTaskId(claim.id)}`],
      patients: patientsOf(claim),
      publicUrl: this.#deps.publicUrl,
    });
    audit.subtype = [
      ...(audit.subtype ?? []),
      { system: 'https://dripline.dev/fhir/CodeSystem/operation', code },
    ];
    audit.purposeOfEvent = [{ text: input.reason }];
    const first = audit.entity?.[0];
    if (first) {
      first.detail = detail;
    }
    return audit;
  }

  /**
   * A person sends a claim again, with a reason (audited):
   * - `rejected`: rebuilt from the current charges and scrubbed; `ready` goes out under a new
   *   submission key, `held` waits on its Task.
   * - `submitting` with no attempt scheduled (its attempts ran out while the payer was down): a new
   *   attempt is queued under the same submission key — the payer is asked first whether it
   *   already has the claim, so it is never sent twice.
   * Any other state: 409.
   */
  async resubmit(
    tenant: TenantId,
    claimId: string,
    input: { clientId: string; reason: string; requestId?: string },
  ): Promise<{ ok: boolean; state?: ClaimState; status: number; message: string }> {
    const config = this.#tenant(tenant);
    const stored = await this.#read<Claim>(tenant, 'Claim', claimId);
    if (!stored || !config) {
      return { ok: false, status: 404, message: `Claim/${claimId} not found` };
    }
    const state = claimStateOf(stored);
    if (state === 'rejected') {
      const audit = this.#actionAudit(stored, input, 'claim-resubmit', '0', [
        { type: 'resubmit-reason', valueString: input.reason },
      ]);
      const result = await this.#rebuild(tenant, config, claimId, { ...input, audit });
      const next = result.state;
      return {
        ok: next === 'ready',
        ...(next ? { state: next } : {}),
        status: next ? 200 : 409,
        message:
          next === 'ready'
            ? 'rebuilt from the current charges, scrubbed clean and queued for submission'
            : next === 'held'
              ? 'rebuilt from the current charges; the scrubber holds it (see its Task)'
              : next === 'void'
                ? 'no billable charge is left: the claim is cancelled'
                : (result.note ?? 'not resubmitted'),
      };
    }
    if (state === 'submitting') {
      const pending = await this.#scheduledSubmissions(tenant, claimId);
      if (pending.length > 0) {
        return {
          ok: false,
          state,
          status: 409,
          message: `an attempt is already scheduled (at ${pending[0]?.runAt ?? '?'}); nothing to requeue`,
        };
      }
      const key = stored.identifier?.find((i) => i.system === SUBMISSION_KEY_SYSTEM)?.value ?? '';
      const version = /-v(\d+)$/.exec(key)?.[1] ?? stored.meta.versionId;
      const audit = this.#actionAudit(stored, input, 'claim-resubmit', '0', [
        { type: 'resubmit-reason', valueString: input.reason },
        { type: 'submission-key', valueString: key || '(none)' },
      ]);
      const job: ClaimSubmitJob = { claim: claimId, version };
      await this.#deps.store.resources.writeBatch(tenant, [
        { op: 'create', resource: audit, options: { id: audit.id } },
        {
          op: 'enqueue',
          job: {
            queue: CLAIM_SUBMIT_QUEUE,
            key: `submit|${claimId}|${version}|resubmit|${audit.id}`,
            payload: job,
            maxAttempts: 100,
          },
        },
      ]);
      this.notify();
      return {
        ok: true,
        state,
        status: 202,
        message: 'submission attempt queued: the payer is asked first whether it already has this claim',
      };
    }
    return {
      ok: false,
      ...(state ? { state } : {}),
      status: 409,
      message: `Claim/${claimId} is ${state ?? 'untracked'}: only rejected claims, and submitting claims with no attempt scheduled, can be resubmitted`,
    };
  }

  /** Submit jobs of a claim that are waiting or running. */
  async #scheduledSubmissions(tenant: TenantId, claimId: string): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const state of ['ready', 'leased'] as const) {
      jobs.push(
        ...(await this.#deps.store.jobs.listJobs(tenant, CLAIM_SUBMIT_QUEUE, state, 10_000)).filter(
          (j) => (j.payload as Partial<ClaimSubmitJob> | undefined)?.claim === claimId,
        ),
      );
    }
    return jobs;
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  async #read<T extends Resource>(
    tenant: TenantId,
    type: T['resourceType'],
    id: string,
  ): Promise<(T & StoredResource) | undefined> {
    try {
      return (await this.#deps.store.resources.read(tenant, type, id)) as T & StoredResource;
    } catch (err) {
      if ((err as { outcome?: { id?: string } }).outcome?.id === 'not-found') {
        return undefined;
      }
      throw err;
    }
  }

  async #searchAll<T extends Resource>(
    tenant: TenantId,
    resourceType: T['resourceType'],
    filters: StoreFilter[],
  ): Promise<(T & StoredResource)[]> {
    return searchAll<T>(this.#deps.store, tenant, resourceType, filters);
  }

  #byRef(code: string, value: string): StoreFilter[] {
    return [{ code, kind: 'reference', values: [value] }];
  }

  async #gather(
    tenant: TenantId,
    config: TenantConfig,
    encounterRefs: readonly string[],
    claim: (Claim & StoredResource) | undefined,
  ): Promise<Gathered> {
    const encounters: (Encounter & StoredResource)[] = [];
    for (const ref of encounterRefs) {
      const id = (normalizeReference(ref) ?? ref).split('/')[1] ?? '';
      const encounter = await this.#read<Encounter>(tenant, 'Encounter', id);
      if (encounter) {
        encounters.push(encounter);
      }
    }
    const chargeItems: (ChargeItem & StoredResource)[] = [];
    const administrations: (MedicationAdministration & StoredResource)[] = [];
    const conditionRefs = new Set<string>();
    for (const encounter of encounters) {
      const ref = `Encounter/${encounter.id}`;
      chargeItems.push(
        ...(await this.#searchAll<ChargeItem>(tenant, 'ChargeItem', this.#byRef('encounter', ref))).filter(
          (c) => c.status === 'billable' || c.status === 'planned',
        ),
      );
      administrations.push(
        ...(await this.#searchAll<MedicationAdministration>(
          tenant,
          'MedicationAdministration',
          this.#byRef('encounter', ref),
        )),
      );
      for (const d of encounter.diagnosis ?? []) {
        const c = refOf(d.condition);
        if (c) {
          conditionRefs.add(c);
        }
      }
      for (const r of encounter.reasonReference ?? []) {
        const c = refOf(r);
        if (c?.startsWith('Condition/')) {
          conditionRefs.add(c);
        }
      }
    }
    const patientRef = refOf(encounters[0]?.subject) ?? refOf(claim?.patient);
    const patient = patientRef
      ? await this.#read<Patient>(tenant, 'Patient', patientRef.split('/')[1] ?? '')
      : undefined;
    const conditions: (Condition & StoredResource)[] = [];
    for (const ref of conditionRefs) {
      const c = await this.#read<Condition>(tenant, 'Condition', ref.split('/')[1] ?? '');
      if (c) {
        conditions.push(c);
      }
    }
    if (patientRef) {
      for (const c of await this.#searchAll<Condition>(
        tenant,
        'Condition',
        this.#byRef('patient', patientRef),
      )) {
        if (!conditions.some((x) => x.id === c.id)) {
          conditions.push(c);
        }
      }
    }
    const medicationIds = new Set(
      administrations
        .map((a) => refOf(a.medicationReference))
        .filter((r): r is string => r?.startsWith('Medication/') === true),
    );
    const medications: (Medication & StoredResource)[] = [];
    for (const ref of medicationIds) {
      const m = await this.#read<Medication>(tenant, 'Medication', ref.split('/')[1] ?? '');
      if (m) {
        medications.push(m);
      }
    }
    const coverages = patientRef
      ? (await this.#searchAll<Coverage>(tenant, 'Coverage', this.#byRef('beneficiary', patientRef)))
          .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
          .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || a.id.localeCompare(b.id))
      : [];
    const insured = otherSubscriberOf(coverages[0], patientRef);
    const subscriber = insured
      ? await this.#read<Patient | RelatedPerson>(tenant, insured.type, insured.id)
      : undefined;
    const otherClaims = patientRef
      ? await this.#searchAll<Claim>(tenant, 'Claim', this.#byRef('patient', patientRef))
      : [];
    const { payer, organization } = await this.#payerOf(tenant, config, coverages, claim);
    const setting = encounters.map((e) => settingOf(e)).find((s) => s !== undefined);
    const { attending, requests: orders } =
      setting === 'hospital-outpatient'
        ? await loadAttending((type, id) => this.#read(tenant, type, id), encounters, administrations)
        : { requests: [] };
    const authorizationResponses = patientRef
      ? (
          await this.#searchAll<ClaimResponse>(tenant, 'ClaimResponse', this.#byRef('patient', patientRef))
        ).filter((r) => r.use === 'preauthorization')
      : [];
    const requests: Claim[] = [];
    for (const response of authorizationResponses) {
      const ref = refOf(response.request);
      const request = ref?.startsWith('Claim/')
        ? await this.#read<Claim>(tenant, 'Claim', ref.slice('Claim/'.length))
        : undefined;
      if (request) {
        requests.push(request);
      }
    }
    return {
      authorizationResponses,
      authorizations: authorizationsOf(authorizationResponses, requests),
      encounters,
      chargeItems,
      ...(patient ? { patient } : {}),
      coverages,
      ...(subscriber ? { subscriber } : {}),
      ...(payer ? { payer } : {}),
      ...(organization ? { payerOrganization: organization } : {}),
      conditions,
      administrations,
      medications,
      otherClaims,
      ...(setting ? { setting } : {}),
      ...(attending ? { attending: attending as Practitioner & StoredResource } : {}),
      orders: orders as (MedicationRequest & StoredResource)[],
    };
  }

  /** The configured payer of the primary coverage: by payer id (an identifier of the payor Organization or reference), else by name (the Organization's, or the payor reference's display). */
  async #payerOf(
    tenant: TenantId,
    config: TenantConfig,
    coverages: readonly (Coverage & StoredResource)[],
    claim: Claim | undefined,
  ): Promise<{ payer?: PayerEndpoint; organization?: Organization & StoredResource }> {
    const fromClaim = claim ? config.payers.find((p) => p.id === claimPayerOf(claim)) : undefined;
    const primary = coverages[0];
    const orgRef = primary?.payor?.map((p) => refOf(p)).find((r) => r?.startsWith('Organization/'));
    const organization = orgRef
      ? await this.#read<Organization>(tenant, 'Organization', orgRef.split('/')[1] ?? '')
      : undefined;
    if (fromClaim) {
      return { payer: fromClaim, ...(organization ? { organization } : {}) };
    }
    const identifiers = [
      ...(organization?.identifier ?? []),
      ...(primary?.payor ?? []).flatMap((p) => (p.identifier ? [p.identifier] : [])),
    ];
    const byId =
      config.payers.find((p) =>
        identifiers.some((i) => i.value === p.payerId && (i.system?.includes(PAYER_ID_SYSTEM_HINT) ?? true)),
      ) ?? config.payers.find((p) => identifiers.some((i) => i.value === p.payerId));
    const byName =
      byId ??
      config.payers.find((p) =>
        [organization?.name, ...(primary?.payor ?? []).map((x) => x.display)].some(
          (name) => name !== undefined && p.name.toLowerCase() === name.toLowerCase(),
        ),
      );
    return { ...(byName ? { payer: byName } : {}), ...(organization ? { organization } : {}) };
  }
}
