/**
 * Building and scrubbing a claim: the build job makes the claim of some encounters (an original, a
 * corrected claim, or a void when a replaced claim's charges are all gone), stores it `built`, and
 * scrubs it → `held` with its Task, or `ready` (queued for submission on the FHIR channel). A claim
 * whose inputs changed (held, rejected, cancelled, X12 waiting) is rebuilt in place and scrubbed
 * again, or cancelled when no billable charge is left.
 */
import type { AuditEvent, Claim } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { localDate } from '../../time/zone.ts';
import { eligibilityUnderWay, eligibilityWaitKey } from '../../coverage/eligibility/records.ts';
import { JobMustWait } from '../../store/job-policy.ts';
import type { BatchOperation, StoredResource, TenantId } from '../../store/port.ts';
import type { BuildClaimInput, ClaimFrequency, LineOverride } from '../build.ts';
import { buildVoidClaim, lineOverridesOf } from '../build.ts';
import { loadChargemaster } from '../chargemaster.ts';
import { claimAuthorizationNumbers } from '../ledger.ts';
import type { ClaimState, ScrubFinding } from '../types.ts';
import type { WorkflowContext } from './context.ts';
import { withoutMeta } from './context.ts';
import { completeCorrectionTasks, markVoided, payerClaimNumberOf } from './corrections.ts';
import type { Gathered } from './gather.ts';
import { denialRiskOf } from './denial-risk.ts';
import { claimContextOf, gatherClaimInputs, inputsFingerprint } from './gather.ts';
import {
  claimFrequencyOf,
  claimIdFor,
  claimPayerOf,
  correctionIdFor,
  encountersOfClaim,
  voidIdFor,
  withInputs,
} from './identity.ts';
import type { ClaimReadyJob, ClaimStepResult } from './jobs.ts';
import { moveClaim, recordsOf } from './move.ts';
import { claimStateOf, isRebuildable, withState } from './state.ts';
import { claimTaskId, noPayerTask } from './tasks.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE, EXT_CLAIM_STATE_SINCE } from '../../contract/canonical.ts';

/**
 * How often a new claim looks again for the eligibility answer it waits for, unless
 * `eligibilityWaitPollMs` says otherwise: the fallback, for a check's end whose wake was lost (the
 * end of the check makes the claim due at once: `eligibilityWaitKey`).
 */
const ELIGIBILITY_WAIT_POLL_MS = 1000;

/** Builds (if not yet stored), scrubs and holds or readies the claim of these encounters. */
export async function buildAndScrub(
  ctx: WorkflowContext,
  tenant: TenantId,
  job: ClaimReadyJob,
): Promise<ClaimStepResult> {
  const config = ctx.tenant(tenant);
  if (!config?.billing) {
    return { note: 'tenant has no billing provider' };
  }
  if (job.rebuild !== undefined) {
    return rebuildClaim(ctx, tenant, config, job.rebuild);
  }
  let frequency: ClaimFrequency = job.replaces ? '7' : (job.frequency ?? '1');
  let claimId = job.replaces
    ? correctionIdFor(job.encounters, job.replaces)
    : (job.id ?? claimIdFor(job.encounters, frequency));
  let stored = await ctx.read<Claim>(tenant, 'Claim', claimId);
  if (!stored && job.replaces) {
    // A retried job whose original became a void (frequency 8) instead.
    const voidId = voidIdFor(job.encounters, job.replaces);
    const voided = await ctx.read<Claim>(tenant, 'Claim', voidId);
    if (voided) {
      stored = voided;
      claimId = voidId;
      frequency = '8';
    }
  }
  const gathered = await gatherClaimInputs(ctx, tenant, config, job.encounters, stored);
  if (!stored) {
    if (!gathered.patient || !gathered.setting || gathered.encounters.length === 0) {
      return { note: 'encounters or patient not stored' };
    }
    const patient = `Patient/${gathered.patient.id}`;
    if (await eligibilityUnderWay(ctx.store, tenant, patient, ctx.now())) {
      // The payer is being asked about the coverage right now: scrub with its answer. Waiting is not
      // failing: the job keeps its attempts, and eligibilityUnderWay bounds the wait. The check's
      // end wakes the job (the eligibility worker); the poll is for a wake lost to a crash.
      throw new JobMustWait(
        'an eligibility check of the patient is under way; the claim waits for its answer',
        ctx.deps.eligibilityWaitPollMs ?? ELIGIBILITY_WAIT_POLL_MS,
        eligibilityWaitKey(patient),
      );
    }
    const original = job.replaces ? await ctx.read<Claim>(tenant, 'Claim', job.replaces) : undefined;
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
      await createNoPayerTask(ctx, tenant, gathered, claimId);
      return { claim: claimId, note: 'no configured payer matches the coverage' };
    }
    // A payer that takes a fixed claim as a new claim (config payers[].correctedClaim) gets an
    // original (frequency 1) naming no prior claim; else a replacement (7) with its claim number.
    const asNewClaim = original !== undefined && !voiding && payer.correctedClaim === 'new-claim';
    if (asNewClaim) {
      frequency = '1';
    }
    const payerClaimNumber =
      original && !asNewClaim ? await payerClaimNumberOf(ctx, tenant, original.id) : undefined;
    const completions = original
      ? await completeCorrectionTasks(ctx, tenant, original.id, claimId, frequency)
      : [];
    const replaces =
      original && !asNewClaim
        ? { claimId: original.id, ...(payerClaimNumber ? { payerClaimNumber } : {}) }
        : undefined;
    const built =
      original && voiding
        ? buildVoidClaim(original, {
            id: claimId,
            now: ctx.now(),
            replaces: replaces ?? { claimId: original.id },
          })
        : buildClaimFor(ctx, config, gathered, payer, claimId, frequency, replaces, job.lineOverrides);
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
      ctx.now(),
    );
    const [result] = await ctx.store.resources.writeBatch(tenant, [
      { op: 'create', resource: claim, options: { id: claimId } },
      ...recordsOf(
        ctx,
        claim,
        '1',
        undefined,
        'built',
        original && voiding
          ? `void claim (frequency 8) built from the lines of Claim/${original.id}: its recomputed charges are all void`
          : original
            ? asNewClaim
              ? `corrected claim built as a new claim (frequency 1, as the payer takes them) from the recomputed charges, in place of Claim/${original.id}`
              : `corrected claim (frequency 7) built from the recomputed charges, replacing Claim/${original.id}`
            : 'claim built from final charges',
      ),
      ...completions,
      ...(original && voiding ? markVoided(ctx, original, claimId) : []),
    ]);
    stored = (result?.op === 'create' ? result.result.resource : await ctx.read(tenant, 'Claim', claimId)) as
      (Claim & StoredResource) | undefined;
    if (!stored) {
      throw new Error(`claim ${claimId} not readable after create`);
    }
  }
  return scrubAndRoute(ctx, tenant, config, stored, gathered);
}

/**
 * The claim of the gathered encounters for `payer`: lines from the billable charges, priced by the
 * tenant's chargemaster, with the authorization numbers that cover them.
 */
export function buildClaimFor(
  ctx: WorkflowContext,
  config: TenantConfig,
  gathered: Gathered,
  payer: PayerEndpoint,
  id: string,
  frequency: ClaimFrequency,
  replaces: BuildClaimInput['replaces'],
  lineOverrides?: readonly LineOverride[],
): Claim {
  if (!gathered.setting || !gathered.patient || !config.billing) {
    throw new Error(`claim ${id}: setting, patient or billing provider missing`);
  }
  return ctx.deps.buildClaim({
    setting: gathered.setting,
    encounters: gathered.encounters,
    chargeItems: gathered.chargeItems,
    patient: gathered.patient,
    coverages: gathered.coverages,
    payer,
    provider: config.billing,
    conditions: gathered.conditions,
    now: ctx.now(),
    id,
    frequency,
    ...(replaces ? { replaces } : {}),
    // The numbers the authorization ledger counted these charges under (src/coverage/ledger.ts).
    preAuthRefs: claimAuthorizationNumbers({
      authorizations: gathered.authorizations,
      patientCharges: gathered.patientCharges,
      chargeItems: gathered.chargeItems,
      claims: gathered.otherClaims,
      payerId: payer.payerId,
      today: localDate(ctx.now(), tenantCalendarZone(config)),
    }),
    ...(config.chargemasterFile ? { chargemaster: loadChargemaster(config.chargemasterFile) } : {}),
    ...(gathered.attending ? { attending: gathered.attending } : {}),
    ...(lineOverrides && lineOverrides.length > 0 ? { lineOverrides } : {}),
  });
}

/** Scrubs a `built` claim: `held` with its findings Task, or `ready` (and queued for submission). */
export async function scrubAndRoute(
  ctx: WorkflowContext,
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
  const findings = isVoid
    ? []
    : [
        ...scrubFindings(ctx, config, stored, gathered, payer),
        ...(await denialRiskOf(ctx, config, stored, payer.id)),
      ];
  const errors = findings.filter((f) => f.severity === 'error');
  const next: ClaimState = errors.length > 0 ? 'held' : 'ready';
  const fingerprint = inputsFingerprint(gathered);
  await moveClaim(ctx, tenant, stored, next, {
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
export async function rebuildClaim(
  ctx: WorkflowContext,
  tenant: TenantId,
  config: TenantConfig,
  claimId: string,
  by?: {
    clientId: string;
    reason: string;
    audit?: AuditEvent & { id: string };
    /** Modifiers a person sets on some lines (kept with those the claim already carries). */
    lineOverrides?: readonly LineOverride[];
    /** More operations for the rebuild's transaction (a work item's update). */
    extra?: readonly BatchOperation[];
  },
): Promise<ClaimStepResult> {
  const stored = await ctx.read<Claim>(tenant, 'Claim', claimId);
  if (!stored) {
    return { claim: claimId, note: 'claim gone' };
  }
  const state = claimStateOf(stored);
  if (!isRebuildable(stored, config.payers)) {
    return { claim: claimId, ...(state ? { state } : {}), note: 'not rebuildable in this state' };
  }
  const encounters = encountersOfClaim(stored);
  const gathered = await gatherClaimInputs(ctx, tenant, config, encounters, stored);
  const who = by ? ` (${by.clientId}: ${by.reason})` : '';
  const extra: BatchOperation[] = [
    ...(by?.audit ? [{ op: 'create' as const, resource: by.audit, options: { id: by.audit.id } }] : []),
    ...(by?.extra ?? []),
  ];
  // A person's modifier overrides stay with the claim through every rebuild; new ones replace old.
  const overrides = [
    ...lineOverridesOf(stored).filter((o) => !by?.lineOverrides?.some((n) => n.chargeItem === o.chargeItem)),
    ...(by?.lineOverrides ?? []),
  ];
  if (gathered.chargeItems.length === 0) {
    if (state === 'void') {
      return { claim: claimId, state, note: 'still no billable charge' };
    }
    const fingerprint = inputsFingerprint(gathered);
    await moveClaim(ctx, tenant, stored, 'void', {
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
  const built = buildClaimFor(
    ctx,
    config,
    gathered,
    payer,
    claimId,
    frequency,
    frequency === '7' && originalId
      ? { claimId: originalId, ...(payerClaimNumber ? { payerClaimNumber } : {}) }
      : undefined,
    overrides,
  );
  const rebuilt = await moveClaim(ctx, tenant, stored, 'built', {
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
  return scrubAndRoute(ctx, tenant, config, rebuilt, gathered);
}

/** The scrubber's findings on a claim, read from its gathered inputs. */
export function scrubFindings(
  ctx: WorkflowContext,
  config: TenantConfig,
  claim: Claim & StoredResource,
  gathered: Gathered,
  payer: PayerEndpoint,
): ScrubFinding[] {
  const context = claimContextOf(config, claim, gathered, payer, ctx.now());
  return context ? ctx.deps.scrubClaim(context, ctx.deps.tables) : [];
}

/** The "claim needs attention" Task of a claim that has no configured payer (once). */
async function createNoPayerTask(
  ctx: WorkflowContext,
  tenant: TenantId,
  gathered: Gathered,
  claimId: string,
): Promise<void> {
  const id = claimTaskId(claimId);
  if (await ctx.read(tenant, 'Task', id)) {
    return;
  }
  const task = noPayerTask(claimId, gathered.encounters[0]?.id, gathered.patient?.id, ctx.now());
  await ctx.store.resources.create(tenant, task, { id });
}
