/**
 * Corrected (frequency 7) and void (frequency 8) claims. Charge capture never changes the charges
 * of a submitted claim; it opens a "corrected claim needed" Task instead. Once that claim is
 * adjudicated, the sweep takes it over (takeOverCorrections: marked replaced, its encounters'
 * charges recomputed); the build job then makes the corrected claim, or a void when no charge is
 * left (markVoided), and completes the Task in the same transaction (completeCorrectionTasks),
 * naming the payer's number of the claim it replaces (payerClaimNumberOf).
 */
import type { Claim, ClaimResponse, ExplanationOfBenefit, Task } from '@medplum/fhirtypes';
import { isBeingReplaced } from '../../charges/claim-hold.ts';
import { CORRECTED_CLAIM_TASK } from '../../charges/reconcile.ts';
import type { EncounterChangedEvent } from '../../ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey } from '../../ingest/jobs.ts';
import type { BatchOperation, StoredResource, TenantId } from '../../store/port.ts';
import type { ClaimFrequency } from '../build.ts';
import type { WorkflowContext } from './context.ts';
import { byRef, refOf, withoutMeta } from './context.ts';
import { correctionIdFor, encountersOfClaim } from './identity.ts';
import { recordsOf } from './move.ts';
import { claimStateOf } from './state.ts';
import { CS_WORK_ITEM as WORK_ITEM_SYSTEM, EXT_CLAIM_REPLACED_BY } from '../../contract/canonical.ts';
import { ID_PAYER_CLAIM_NUMBER } from '../../contract/remittance.ts';

/** Open "corrected claim needed" Tasks (charge capture's), by the Claim they focus on. */
export async function openCorrectionTasks(
  ctx: WorkflowContext,
  tenant: TenantId,
  claim?: string,
): Promise<(Task & StoredResource)[]> {
  return (
    await ctx.searchAll<Task>(tenant, 'Task', [
      { code: 'code', kind: 'token', values: [{ value: CORRECTED_CLAIM_TASK.code }] },
      ...(claim ? byRef('focus', `Claim/${claim}`) : []),
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
export async function takeOverCorrections(ctx: WorkflowContext, tenant: TenantId): Promise<number> {
  const focused = new Set<string>();
  for (const task of await openCorrectionTasks(ctx, tenant)) {
    const ref = refOf(task.focus);
    if (ref?.startsWith('Claim/')) {
      focused.add(ref.slice('Claim/'.length));
    }
  }
  let marked = 0;
  for (const id of [...focused].sort()) {
    const claim = await ctx.read<Claim>(tenant, 'Claim', id);
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
      await ctx.store.resources.writeBatch(tenant, [
        { op: 'update', resource: next, options: { ifMatchVersion: claim.meta.versionId, upsert: false } },
        ...recordsOf(
          ctx,
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
      ctx.logger.warn(
        { tenant, claim: id, err: (err as Error).message },
        'corrected claim: take-over failed',
      );
    }
  }
  return marked;
}

/**
 * The payer's number of a submitted claim: the first identifier of its latest stored ClaimResponse
 * (FHIR channel), or the payer claim number of its latest posted ExplanationOfBenefit (an 835's
 * CLP07), whichever came last.
 */
export async function payerClaimNumberOf(
  ctx: WorkflowContext,
  tenant: TenantId,
  claim: string,
): Promise<string | undefined> {
  const responses = await ctx.searchAll<ClaimResponse>(
    tenant,
    'ClaimResponse',
    byRef('request', `Claim/${claim}`),
  );
  const explanations = (
    await ctx.searchAll<ExplanationOfBenefit>(
      tenant,
      'ExplanationOfBenefit',
      byRef('claim', `Claim/${claim}`),
    )
  ).filter((e) => e.status === 'active');
  const numbered = [
    ...responses.map((r) => ({ at: r.meta.lastUpdated, number: r.identifier?.find((i) => i.value)?.value })),
    ...explanations.map((e) => ({
      at: e.meta.lastUpdated,
      number: e.identifier?.find((i) => i.system?.startsWith(`${ID_PAYER_CLAIM_NUMBER}/`) && i.value)?.value,
    })),
  ].filter((n) => n.number !== undefined);
  return numbered.sort((a, b) => b.at.localeCompare(a.at))[0]?.number;
}

/**
 * The original's next version when a void replaces it: claim-replaced-by → the void (it stays
 * `adjudicated`), with its Provenance and AuditEvent.
 */
export function markVoided(
  ctx: WorkflowContext,
  original: Claim & StoredResource,
  voidId: string,
): BatchOperation[] {
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
    ...recordsOf(
      ctx,
      next,
      version,
      'adjudicated',
      'adjudicated',
      `its recomputed charges are all void: voided by Claim/${voidId} (frequency 8)`,
    ),
  ];
}

/** Completes the open "corrected claim needed" Tasks of `original`, naming its corrected (or void) claim. */
export async function completeCorrectionTasks(
  ctx: WorkflowContext,
  tenant: TenantId,
  original: string,
  replacement: string,
  frequency: ClaimFrequency,
): Promise<BatchOperation[]> {
  const now = ctx.now().toISOString();
  return (await openCorrectionTasks(ctx, tenant, original)).map((task): BatchOperation => ({
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
              : frequency === '1'
                ? `Charges recomputed; corrected claim Claim/${replacement} built as a new claim (frequency 1, as the payer takes them) in place of Claim/${original}.`
                : `Charges recomputed; corrected claim Claim/${replacement} (frequency 7) built to replace Claim/${original}.`,
        },
      ],
    },
    options: { ifMatchVersion: task.meta.versionId, upsert: false },
  }));
}
