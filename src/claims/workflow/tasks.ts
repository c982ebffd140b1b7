/**
 * Work items of the claim workflow: the one "claim needs attention" Task per claim (stable id),
 * written with every scrub finding as an input when a claim is held, the payer refused it or its
 * attempts ran out, and completed when the claim moves on; and the Task when no configured payer
 * matches a patient's coverage. Pure: the workflow writes what these return.
 */
import type { Claim, Task } from '@medplum/fhirtypes';
import type { BatchOperation, StoredResource } from '../../store/port.ts';
import type { ClaimState, ScrubFinding } from '../types.ts';
import { sha } from './identity.ts';
import { CS_TASK_CODE } from '../../contract/canonical.ts';
import {
  findingsOfTask as workFindingsOf,
  workItemCompletion,
  workItemWrite,
} from '../../fhir/work-items.ts';

// The work-item style is shared by every capability (src/fhir/work-items.ts).
export { findingInput } from '../../fhir/work-items.ts';
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

/** The findings a Task carries (inverse of findingInput). */
export const findingsOfTask: (task: Task) => ScrubFinding[] = workFindingsOf;

/** The claim's Task, created or refreshed: what needs attention (findings as inputs, error notes). */
export function claimTaskWrite(
  claim: Claim & { id: string },
  content: ClaimTaskContent,
  existing: (Task & StoredResource) | undefined,
  now: Date,
): BatchOperation {
  return workItemWrite(
    claimTaskId(claim.id),
    {
      code: CLAIM_TASK_CODE,
      text: content.text,
      focus: `Claim/${claim.id}`,
      ...(claim.patient?.reference ? { patient: claim.patient.reference } : {}),
      ...(content.findings ? { findings: content.findings } : {}),
      ...(content.note ? { note: content.note } : {}),
    },
    existing,
    now,
  );
}

/** The claim's open Task completed, with a note saying where the claim went and why. */
export function claimTaskCompletion(
  existing: Task & StoredResource,
  state: ClaimState,
  reason: string,
  now: Date,
): BatchOperation {
  return workItemCompletion(existing, `claim ${state}: ${reason}`, now);
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
