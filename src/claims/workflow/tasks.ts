/**
 * Work items of the claim workflow: the one "claim needs attention" Task per claim (stable id),
 * written with every scrub finding as an input when a claim is held, the payer refused it or its
 * attempts ran out, and completed when the claim moves on; and the Task when no configured payer
 * matches a patient's coverage. Pure: the workflow writes what these return.
 */
import type { Claim, Extension, Task, TaskInput } from '@medplum/fhirtypes';
import type { BatchOperation, StoredResource } from '../../store/port.ts';
import type { ClaimState, ScrubFinding } from '../types.ts';
import { withoutMeta } from './context.ts';
import { sha } from './identity.ts';
import { CS_SCRUB_RULE, CS_TASK_CODE, EXT_SCRUB_FINDING } from '../../contract/canonical.ts';

export const CLAIM_TASK_CODE = 'claim-attention';

/** What a claim's Task says: its title, the findings (as inputs; errors also as notes), a note. */
export interface ClaimTaskContent {
  readonly text: string;
  readonly findings?: readonly ScrubFinding[];
  readonly note?: string;
}

export function claimTaskId(claimId: string): string {
  return `task-${sha(`claim-attention|Claim/${claimId}`)}`;
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
      coding: [{ system: CS_SCRUB_RULE, code: finding.ruleId }],
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

/** The claim's Task, created or refreshed: what needs attention (findings as inputs, error notes). */
export function claimTaskWrite(
  claim: Claim & { id: string },
  content: ClaimTaskContent,
  existing: (Task & StoredResource) | undefined,
  now: Date,
): BatchOperation {
  const task: Task & { id: string } = {
    resourceType: 'Task',
    id: claimTaskId(claim.id),
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: CS_TASK_CODE, code: CLAIM_TASK_CODE }], text: content.text },
    focus: { reference: `Claim/${claim.id}` },
    ...(claim.patient ? { for: claim.patient } : {}),
    authoredOn: existing?.authoredOn ?? now.toISOString(),
    lastModified: now.toISOString(),
    ...(existing?.owner ? { owner: existing.owner } : {}),
    ...(content.findings && content.findings.length > 0 ? { input: content.findings.map(findingInput) } : {}),
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

/** The claim's open Task completed, with a note saying where the claim went and why. */
export function claimTaskCompletion(
  existing: Task & StoredResource,
  state: ClaimState,
  reason: string,
  now: Date,
): BatchOperation {
  return {
    op: 'update',
    resource: {
      ...withoutMeta(existing),
      status: 'completed',
      lastModified: now.toISOString(),
      note: [...(existing.note ?? []), { time: now.toISOString(), text: `claim ${state}: ${reason}` }],
    },
    options: { ifMatchVersion: existing.meta.versionId, upsert: false },
  };
}

/** The Task of a claim that could not be built: no configured payer matches the primary coverage. */
export function noPayerTask(
  claimId: string,
  encounterId: string | undefined,
  patientId: string | undefined,
  now: Date,
): Task & { id: string } {
  const at = now.toISOString();
  return {
    resourceType: 'Task',
    id: claimTaskId(claimId),
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: CS_TASK_CODE, code: CLAIM_TASK_CODE }], text: 'claim needs attention' },
    focus: { reference: `Encounter/${encounterId ?? '?'}` },
    ...(patientId ? { for: { reference: `Patient/${patientId}` } } : {}),
    authoredOn: at,
    lastModified: at,
    note: [
      {
        time: at,
        text: "No configured payer matches the patient's primary coverage: add the payer to the tenant's payers (payerId = the payor organization's payer id) or fix the Coverage.",
      },
    ],
  };
}
