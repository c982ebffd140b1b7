/**
 * The held-claim recheck: a claim the payer has not accepted (held, rejected), a cancelled one, and
 * an X12-channel claim waiting for its batch are rebuilt when the inputs they were scrubbed from
 * changed — the nurse documented the stop time, the coverage was fixed, an authorization was
 * recorded — so a fix in the EHR releases a held claim without anyone touching it. Runs with the
 * sweep every `recheckMs`; between full rechecks (at start and every `fullScanMs`) it looks only at
 * the claims of patients whose data changed since the last one.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  Condition,
  Coverage,
  CoverageEligibilityResponse,
  Encounter,
  Medication,
  MedicationAdministration,
  Patient,
  Reference,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import type { StoreFilter, StoredResource, TenantId } from '../../store/port.ts';
import type { WorkflowContext } from './context.ts';
import { byRef, DEFAULT_RECHECK_MS, refOf } from './context.ts';
import { gatherClaimInputs, inputsFingerprint } from './gather.ts';
import { claimInputsOf, encountersOfClaim } from './identity.ts';
import type { ClaimReadyJob } from './jobs.ts';
import { CLAIM_READY_QUEUE } from './jobs.ts';
import { isRebuildable, REBUILDABLE_STATES } from './state.ts';
import { latestOf, SCAN_OVERLAP_MS } from './watermarks.ts';

export class HeldClaimRecheck {
  readonly #ctx: WorkflowContext;
  readonly #lastRecheck = new Map<TenantId, number>();
  /** Per tenant: where the next recheck's change read starts (store time) and the last full one. */
  readonly #rechecks = new Map<TenantId, { watermark?: string; fullAt: number }>();

  constructor(ctx: WorkflowContext) {
    this.#ctx = ctx;
  }

  /**
   * Enqueues a rebuild of every rebuildable claim whose inputs changed, when `recheckMs` has passed
   * since the last recheck (`now`: the sweep's wall clock, ms). `scanWatermark` is where the sweep's
   * own change scan got to: a full recheck starts the next change read from there. Returns the
   * number of jobs newly enqueued.
   */
  async runIfDue(
    tenant: TenantId,
    config: TenantConfig,
    now: number,
    scanWatermark: string | undefined,
  ): Promise<number> {
    const ctx = this.#ctx;
    const lastRecheck = this.#lastRecheck.get(tenant) ?? 0;
    if (now - lastRecheck < (ctx.deps.recheckMs ?? DEFAULT_RECHECK_MS)) {
      return 0;
    }
    this.#lastRecheck.set(tenant, now);
    const rebuildable = (
      await ctx.searchAll<Claim>(tenant, 'Claim', [
        {
          code: 'claim-state',
          kind: 'token',
          values: [...REBUILDABLE_STATES, 'ready'].map((value) => ({ value })),
        },
      ])
    ).filter((claim) => claim.status !== 'entered-in-error' && isRebuildable(claim, config.payers));
    // Only the claims of patients whose data changed since the last recheck can have new inputs;
    // all of them at start and every `fullScanMs`.
    const previousRecheck = this.#rechecks.get(tenant);
    const fullRecheck =
      previousRecheck?.watermark === undefined ||
      now - previousRecheck.fullAt >= (ctx.deps.fullScanMs ?? 3_600_000);
    let candidates = rebuildable;
    let watermark = scanWatermark;
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
    const created = await this.#enqueueRebuilds(tenant, config, candidates);
    this.#rechecks.set(tenant, {
      ...(watermark ? { watermark } : {}),
      fullAt: fullRecheck ? now : (previousRecheck?.fullAt ?? now),
    });
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
    const ctx = this.#ctx;
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
      const found = await ctx.searchAll<T>(tenant, type, [changed]);
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
    await collect<CoverageEligibilityResponse>('CoverageEligibilityResponse', (r) => r.patient);
    await collect<Patient>('Patient', (r) => ({ reference: `Patient/${r.id}` }));
    for (const medication of await collect<Medication>('Medication', () => undefined)) {
      for (const ma of await ctx.searchAll<MedicationAdministration>(
        tenant,
        'MedicationAdministration',
        byRef('medication', `Medication/${medication.id}`),
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
   * Held, rejected and cancelled claims whose inputs changed since they were scrubbed (the nurse
   * documented the stop time, the coverage was fixed, a charge was voided ...) get a rebuild job,
   * keyed by the new inputs so each change is rebuilt once. A fix in the EHR thus releases a held
   * claim without anyone touching it. Returns the number of jobs newly enqueued.
   */
  async #enqueueRebuilds(
    tenant: TenantId,
    config: TenantConfig,
    claims: readonly (Claim & StoredResource)[],
  ): Promise<number> {
    const ctx = this.#ctx;
    let created = 0;
    for (const claim of claims) {
      const encounters = encountersOfClaim(claim);
      if (encounters.length === 0) {
        continue;
      }
      const fingerprint = inputsFingerprint(await gatherClaimInputs(ctx, tenant, config, encounters, claim));
      if (fingerprint === claimInputsOf(claim)) {
        continue;
      }
      const job: ClaimReadyJob = { encounters, rebuild: claim.id };
      const result = await ctx.store.jobs.enqueue(tenant, {
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
}
