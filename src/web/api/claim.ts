/**
 * One claim as a person follows it: its lines, a timeline of its states (each version's
 * Provenance says why it moved) and of the payer's answers, the open findings, and the payer's
 * adjudication per line with its reason codes.
 */
import type { Claim, ClaimResponse, Patient, Provenance, Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { claimPayerOf, sha } from '../../claims/workflow/identity.ts';
import { claimStateOf, claimStateSince } from '../../claims/workflow/state.ts';
import { claimTaskId, findingsOfTask } from '../../claims/workflow/tasks.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { ClaimView, TimelineEntry } from '../view-types.ts';
import { findingView, personName, readOrUndefined } from './lookup.ts';

export async function claimView(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  config: Pick<TenantConfig, 'payers'>,
  claimId: string,
): Promise<ClaimView | undefined> {
  const claim = await readOrUndefined<Claim>(store, tenant, 'Claim', claimId);
  if (!claim) {
    return undefined;
  }
  const patientRef = claim.patient.reference ?? '';
  const patient = patientRef.startsWith('Patient/')
    ? await readOrUndefined<Patient>(store, tenant, 'Patient', patientRef.slice(8))
    : undefined;
  const task = await readOrUndefined<Task>(store, tenant, 'Task', claimTaskId(claim.id));
  const open = task !== undefined && task.status !== 'completed' && task.status !== 'cancelled';
  const history = await store.resources.history(tenant, 'Claim', claim.id, { count: 100 });
  const timeline: TimelineEntry[] = [];
  for (const version of history.resources as (Claim & {
    meta: { versionId: string; lastUpdated: string };
  })[]) {
    const provenance = await readOrUndefined<Provenance>(
      store,
      tenant,
      'Provenance',
      `prov-${sha(`Claim/${claim.id}/_history/${version.meta.versionId}`, 40)}`,
    );
    const state = claimStateOf(version) ?? 'untracked';
    timeline.push({
      at: provenance?.recorded ?? version.meta.lastUpdated,
      kind: 'state',
      state,
      text: provenance?.reason?.[0]?.text ?? provenance?.activity?.text ?? `claim ${state}`,
    });
  }
  const responses = await searchAll<ClaimResponse>(store, tenant, 'ClaimResponse', [
    { code: 'request', kind: 'reference', values: [`Claim/${claim.id}`] },
  ]);
  for (const response of responses) {
    timeline.push({
      at: response.created,
      kind: 'payer',
      text: `Payer answered ${response.outcome}${response.disposition ? `: ${response.disposition}` : ''}`,
    });
  }
  for (const note of task?.note ?? []) {
    if (note.time) {
      timeline.push({ at: note.time, kind: 'note', text: note.text });
    }
  }
  timeline.sort((a, b) => a.at.localeCompare(b.at));
  const payerId = claimPayerOf(claim) ?? '';
  const since = claimStateSince(claim);
  return {
    id: claim.id,
    state: claimStateOf(claim) ?? 'untracked',
    ...(since ? { since } : {}),
    patient: { reference: patientRef, name: personName(patient?.name) || patientRef },
    payer: { id: payerId, name: config.payers.find((p) => p.id === payerId)?.name ?? payerId },
    total: claim.total?.value ?? 0,
    kind: claim.type.coding?.[0]?.code ?? '',
    encounters: [
      ...new Set(
        (claim.item ?? []).flatMap((i) =>
          (i.encounter ?? []).flatMap((e) => (e.reference ? [e.reference] : [])),
        ),
      ),
    ],
    lines: (claim.item ?? []).map((item) => ({
      sequence: item.sequence,
      code: item.productOrService.coding?.[0]?.code ?? '',
      label: item.productOrService.coding?.[0]?.display ?? item.productOrService.text ?? '',
      units: item.quantity?.value ?? 0,
      charge: item.net?.value ?? 0,
      ...(item.servicedDate ? { date: item.servicedDate } : {}),
    })),
    findings: open ? findingsOfTask(task).map(findingView) : [],
    ...(task
      ? {
          task: {
            id: task.id,
            status: task.status,
            ...(task.owner?.reference ? { owner: task.owner.reference } : {}),
            ...(task.owner?.display ? { ownerName: task.owner.display } : {}),
          },
        }
      : {}),
    timeline,
    answers: responses.map((r) => ({
      id: r.id,
      outcome: r.outcome,
      ...(r.disposition ? { disposition: r.disposition } : {}),
      ...(r.payment?.amount?.value !== undefined ? { paid: r.payment.amount.value } : {}),
      errors: (r.error ?? []).map((e) => e.code.coding?.[0]?.code ?? e.code.text ?? ''),
      lines: (r.item ?? []).map((item) => ({
        sequence: item.itemSequence,
        adjudication: item.adjudication.map((a) => {
          const reason = a.reason?.coding?.[0];
          return {
            category: a.category.coding?.[0]?.code ?? a.category.text ?? '',
            ...(a.amount?.value !== undefined ? { amount: a.amount.value } : {}),
            ...(reason ? { reason: [reason.code, reason.display].filter(Boolean).join(' ') } : {}),
          };
        }),
      })),
    })),
  };
}
