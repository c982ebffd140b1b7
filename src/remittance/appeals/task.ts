/**
 * An appeal as a FHIR Task (the contract: src/contract/appeals.ts), built and read back. Pure.
 *
 * - `identifier` ID_APPEAL `{tenant}|Claim/{claim}|{level}`: one appeal per claim and level, so
 *   opening it twice finds the first; `id` is derived from it;
 * - `code` CS_APPEAL_LEVEL; `businessStatus` CS_APPEAL_OUTCOME; `status` in-progress while open,
 *   completed once decided, failed when its deadline passed unfiled (`missed`);
 * - `focus` the Claim, `for` the patient, `basedOn` the remittance work item (and the previous
 *   level's appeal), `restriction.period.end` the filing deadline;
 * - `input` (type CS_APPEAL_OUTPUT): `denied` (valueMoney, the dollars appealed), `decided` (the
 *   date of the decision appealed), `rule` (the deadline rule and its source), `warning` (a
 *   deadline warning already raised: 30 or 7); `output`: `recovered` (valueMoney) and `decided`
 *   (the date of the payer's answer) once the outcome is known.
 */
import { createHash } from 'node:crypto';
import type { Money, Task, TaskInput, TaskOutput } from '@medplum/fhirtypes';
import { CS_APPEAL_LEVEL, CS_APPEAL_OUTCOME, CS_APPEAL_OUTPUT, ID_APPEAL } from '../../contract/appeals.ts';
import type { AppealLevel, LevelRule } from './deadlines.ts';

export type AppealOutcome = 'open' | 'overturned' | 'partly-overturned' | 'upheld' | 'missed';
export const DECIDED_OUTCOMES = ['overturned', 'partly-overturned', 'upheld'] as const;
export type DecidedOutcome = (typeof DECIDED_OUTCOMES)[number];

const OUTCOME_TEXT: Readonly<Record<AppealOutcome, string>> = {
  open: 'filed or to be filed; waiting for the payer',
  overturned: 'overturned: the payer paid what was appealed',
  'partly-overturned': 'partly overturned: the payer paid part of what was appealed',
  upheld: 'upheld: the payer kept its decision',
  missed: 'missed: the filing deadline passed',
};

export function appealKey(tenant: string, claim: string, level: AppealLevel): string {
  return `${tenant}|Claim/${claim}|${level}`;
}
export function appealId(key: string): string {
  return `ap-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

const type = (code: string): TaskInput['type'] => ({
  coding: [{ system: CS_APPEAL_OUTPUT, code }],
  text: code,
});
const codeOf = (i: TaskInput | TaskOutput): string | undefined =>
  i.type.coding?.find((c) => c.system === CS_APPEAL_OUTPUT)?.code;
const money = (value: number): Money => ({ value, currency: 'USD' });

export function outcomeConcept(outcome: AppealOutcome): NonNullable<Task['businessStatus']> {
  return { coding: [{ system: CS_APPEAL_OUTCOME, code: outcome }], text: OUTCOME_TEXT[outcome] };
}

export interface NewAppeal {
  readonly tenant: string;
  readonly claim: string;
  readonly patient?: string;
  readonly workItem: string;
  readonly previousAppeal?: string;
  readonly rule: LevelRule;
  readonly decided: string;
  readonly deadline: string;
  readonly denied: number;
  readonly owner?: string;
  readonly now: string;
  readonly openedBy: string;
  readonly reason?: string;
}

export function newAppealTask(a: NewAppeal): Task & { id: string } {
  const key = appealKey(a.tenant, a.claim, a.rule.level);
  return {
    resourceType: 'Task',
    id: appealId(key),
    identifier: [{ system: ID_APPEAL, value: key }],
    status: 'in-progress',
    businessStatus: outcomeConcept('open'),
    intent: 'order',
    priority: 'routine',
    code: {
      coding: [{ system: CS_APPEAL_LEVEL, code: a.rule.level, display: a.rule.label }],
      text: a.rule.label,
    },
    description: `${a.rule.label} of Claim/${a.claim}: file by ${a.deadline}`,
    focus: { reference: `Claim/${a.claim}` },
    ...(a.patient ? { for: { reference: a.patient } } : {}),
    basedOn: [
      { reference: `Task/${a.workItem}` },
      ...(a.previousAppeal ? [{ reference: `Task/${a.previousAppeal}` }] : []),
    ],
    authoredOn: a.now,
    lastModified: a.now,
    ...(a.owner ? { owner: { display: a.owner } } : {}),
    restriction: { period: { end: a.deadline } },
    input: [
      { type: type('denied'), valueMoney: money(a.denied) },
      { type: type('decided'), valueDate: a.decided },
      { type: type('rule'), valueString: `${a.rule.days} days: ${a.rule.source}` },
    ],
    note: [{ time: a.now, text: `Opened by ${a.openedBy}${a.reason ? `: ${a.reason}` : ''}.` }],
  };
}

/** A copy for an update: no meta, a note added, lastModified now. */
export function changed(
  task: Task & { id: string },
  now: string,
  note: string,
  change: Partial<Pick<Task, 'status' | 'businessStatus' | 'priority' | 'input' | 'output'>>,
): Task & { id: string } {
  const copy: Task & { id: string } = { ...task };
  delete copy.meta;
  return { ...copy, ...change, lastModified: now, note: [...(task.note ?? []), { time: now, text: note }] };
}

export function decidedChange(
  outcome: DecidedOutcome,
  recovered: number,
  decidedOn: string,
): Pick<Task, 'status' | 'businessStatus' | 'output'> {
  return {
    status: 'completed',
    businessStatus: outcomeConcept(outcome),
    output: [
      { type: type('recovered'), valueMoney: money(recovered) },
      { type: type('decided'), valueDate: decidedOn },
    ],
  };
}

export function warningInput(days: number): TaskInput {
  return { type: type('warning'), valueInteger: days };
}

/** An appeal as the API and CLI show it. */
export interface AppealView {
  readonly id: string;
  readonly level: AppealLevel;
  readonly outcome: AppealOutcome;
  readonly status: Task['status'];
  readonly claim: string;
  readonly patient?: string;
  readonly workItem: string;
  readonly previousAppeal?: string;
  readonly deadline: string;
  readonly decided?: string;
  readonly denied: number;
  readonly recovered?: number;
  readonly answeredOn?: string;
  readonly warnings: readonly number[];
  readonly rule?: string;
  readonly priority?: Task['priority'];
  readonly owner?: string;
  readonly notes: readonly { readonly time?: string; readonly text: string }[];
}

export function isAppeal(task: Task): boolean {
  return (task.identifier ?? []).some((i) => i.system === ID_APPEAL);
}

export function appealView(task: Task & { id: string }): AppealView | undefined {
  const level = task.code?.coding?.find((c) => c.system === CS_APPEAL_LEVEL)?.code as AppealLevel | undefined;
  const outcome = task.businessStatus?.coding?.find((c) => c.system === CS_APPEAL_OUTCOME)?.code as
    AppealOutcome | undefined;
  if (!level || !outcome || !isAppeal(task)) {
    return undefined;
  }
  const input = (code: string): TaskInput | undefined => (task.input ?? []).find((i) => codeOf(i) === code);
  const output = (code: string): TaskOutput | undefined =>
    (task.output ?? []).find((o) => codeOf(o) === code);
  const refs = (task.basedOn ?? []).map((b) => (b.reference ?? '').replace(/^Task\//, ''));
  const decided = input('decided')?.valueDate;
  const recovered = output('recovered')?.valueMoney?.value;
  const answeredOn = output('decided')?.valueDate;
  const rule = input('rule')?.valueString;
  const owner = task.owner?.display;
  return {
    id: task.id,
    level,
    outcome,
    status: task.status,
    claim: (task.focus?.reference ?? '').replace(/^Claim\//, ''),
    ...(task.for?.reference ? { patient: task.for.reference } : {}),
    workItem: refs[0] ?? '',
    ...(refs[1] ? { previousAppeal: refs[1] } : {}),
    deadline: task.restriction?.period?.end ?? '',
    ...(decided ? { decided } : {}),
    denied: input('denied')?.valueMoney?.value ?? 0,
    ...(recovered !== undefined ? { recovered } : {}),
    ...(answeredOn ? { answeredOn } : {}),
    warnings: (task.input ?? []).filter((i) => codeOf(i) === 'warning').map((i) => i.valueInteger ?? 0),
    ...(rule ? { rule } : {}),
    ...(task.priority ? { priority: task.priority } : {}),
    ...(owner ? { owner } : {}),
    notes: (task.note ?? []).map((n) => ({ ...(n.time ? { time: n.time } : {}), text: n.text })),
  };
}
