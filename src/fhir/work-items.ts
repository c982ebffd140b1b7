/**
 * Work items: the FHIR Tasks Dripline writes when a person must act (a claim the scrubber held, a
 * coverage the payer says is inactive...). One style for every capability: a stable Task id per
 * subject, a code from Dripline's task-code system, the findings as inputs (each with its rule,
 * severity, source, fix and whether a person may override it), error findings and notes as notes;
 * refreshed in place while the problem stands, completed with a note when it is gone. Pure: callers
 * write the batch operations these return.
 */
import type { Extension, OperationOutcome, Task, TaskInput } from '@medplum/fhirtypes';
import type { BatchOperation, StoredResource } from '../store/port.ts';

import { CS_SCRUB_RULE, CS_TASK_CODE, EXT_SCRUB_FINDING } from '../contract/canonical.ts';

/** Something a rule found that a person must look at (a scrub finding has exactly this shape). */
export interface WorkFinding {
  readonly severity: 'error' | 'warning' | 'information';
  readonly ruleId: string;
  /** Source key or URL the rule comes from. */
  readonly source: string;
  readonly message: string;
  /** What a person should do. */
  readonly fix: string;
  /** Claim.item.sequence the finding is about, when it is about a claim line. */
  readonly itemSequence?: number;
  readonly overridable: boolean;
}

/** A finding as a Task input (readable text, and every field in an extension). */
export function findingInput(finding: WorkFinding): TaskInput {
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
export function findingsOfTask(task: Task): WorkFinding[] {
  const findings: WorkFinding[] = [];
  for (const input of task.input ?? []) {
    const ext = input.extension?.find((e) => e.url === EXT_SCRUB_FINDING)?.extension;
    if (!ext) {
      continue;
    }
    const get = (url: string): Extension | undefined => ext.find((e) => e.url === url);
    const sequence = get('itemSequence')?.valueInteger;
    findings.push({
      severity: (get('severity')?.valueCode ?? 'error') as WorkFinding['severity'],
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

/** What a work item says. */
export interface WorkItemContent {
  /** Code in CS_TASK_CODE (claim-attention, eligibility-attention...). */
  readonly code: string;
  /** Its title. */
  readonly text: string;
  /** What it is about ("Claim/…", "Coverage/…"). */
  readonly focus: string;
  /** "Patient/…" it concerns. */
  readonly patient?: string;
  readonly priority?: Task['priority'];
  readonly findings?: readonly WorkFinding[];
  readonly note?: string;
  /** A refusal or malformed answer, kept in the Task itself (contained, named by an input). */
  readonly outcome?: OperationOutcome;
}

const OUTCOME_ID = 'outcome';

/** The work item, created or refreshed in place (notes accumulate; findings are the current ones). */
export function workItemWrite(
  id: string,
  content: WorkItemContent,
  existing: (Task & StoredResource) | undefined,
  now: Date,
): BatchOperation {
  const at = now.toISOString();
  const outcome: OperationOutcome | undefined = content.outcome
    ? { ...content.outcome, id: OUTCOME_ID }
    : undefined;
  const inputs: TaskInput[] = [
    ...(content.findings ?? []).map(findingInput),
    ...(outcome
      ? [
          {
            type: { text: 'what was wrong (OperationOutcome)' },
            valueReference: { reference: `#${OUTCOME_ID}` },
          },
        ]
      : []),
  ];
  const task: Task & { id: string } = {
    resourceType: 'Task',
    id,
    ...(outcome ? { contained: [outcome] } : {}),
    status: 'requested',
    intent: 'order',
    priority: content.priority ?? 'routine',
    code: { coding: [{ system: CS_TASK_CODE, code: content.code }], text: content.text },
    focus: { reference: content.focus },
    ...(content.patient ? { for: { reference: content.patient } } : {}),
    authoredOn: existing?.authoredOn ?? at,
    lastModified: at,
    ...(existing?.owner ? { owner: existing.owner } : {}),
    ...(inputs.length > 0 ? { input: inputs } : {}),
    note: [
      ...(existing?.note ?? []),
      ...(content.note ? [{ time: at, text: content.note }] : []),
      ...(content.findings ?? [])
        .filter((f) => f.severity === 'error')
        .map((f) => ({ time: at, text: `${f.ruleId}: ${f.message} Fix: ${f.fix}` })),
    ],
  };
  return existing
    ? { op: 'update', resource: task, options: { ifMatchVersion: existing.meta.versionId, upsert: false } }
    : { op: 'create', resource: task, options: { id: task.id } };
}

/** The work item completed, with a note saying why (the problem is gone, the claim moved on). */
export function workItemCompletion(existing: Task & StoredResource, note: string, now: Date): BatchOperation {
  const { meta: _meta, ...rest } = existing;
  return {
    op: 'update',
    resource: {
      ...rest,
      status: 'completed',
      lastModified: now.toISOString(),
      note: [...(existing.note ?? []), { time: now.toISOString(), text: note }],
    },
    options: { ifMatchVersion: existing.meta.versionId, upsert: false },
  };
}

/** Open: neither completed, cancelled, failed nor rejected. */
export function isOpenTask(task: Task): boolean {
  return !['completed', 'cancelled', 'failed', 'rejected', 'entered-in-error'].includes(task.status);
}
