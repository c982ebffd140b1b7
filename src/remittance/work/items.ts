/**
 * Work items as FHIR Tasks: a denial (one per claim and queue) or an underpayment (one per claim),
 * written and read back. Pure.
 *
 * - `code`: work-item `denial` | `underpayment`, and the queue (CS_WORK_QUEUE: the denial
 *   category, or `underpayment`);
 * - `status` ready (to work) / in-progress (a corrected claim is out) / completed, with
 *   `businessStatus` saying where the item is (CS_WORK_ITEM_STATE);
 * - `focus` the claim the payer denied or underpaid, `for` the patient, `identifier` every claim of
 *   the chain (the denied claim and each corrected claim sent for it), `output` the corrected claims;
 * - `owner` the person or team the queue is assigned to; `restriction.period.end` the payer's appeal
 *   deadline; `reasonCode` the CARCs and RARCs; `reasonReference` the posted payment it came from;
 * - `input`: the payer, its claim number, the decision date, the dollars at stake, the recommended
 *   fix and its evidence, each denied or underpaid line (codes and amounts in EXT_WORK_ITEM_DETAIL
 *   sub-extensions), and every posted payment that has updated it (`source`).
 */
import type { Extension, Task, TaskInput, TaskOutput } from '@medplum/fhirtypes';
import { CS_WORK_ITEM } from '../../contract/canonical.ts';
import type { DenialCategory } from '../codes.ts';
import { carcInfo, DENIAL_CATEGORIES, rarcInfo } from '../codes.ts';
import { CARC_SYSTEM, RARC_SYSTEM } from '../sources/claim-response.ts';
import type { RecommendedFix } from '../triage/fixes.ts';
import {
  CS_WORK_ITEM_INPUT,
  CS_WORK_ITEM_STATE,
  CS_WORK_QUEUE,
  EXT_WORK_ITEM_DETAIL,
  ID_WORK_ITEM_CLAIM,
} from '../../contract/recovery.ts';

export type WorkItemKind = 'denial' | 'underpayment';
export type WorkQueue = Exclude<DenialCategory, 'patient-responsibility'> | 'underpayment';

/**
 * open: to be worked; fix-available: the cause looks fixed, a corrected claim can go; correction-sent:
 * a corrected claim is out; denied-again: the corrected claim was denied too; resolved-paid: paid;
 * upheld: the denial stands (closed by a person); recovered / accepted / written-off: an
 * underpayment's end; superseded: the payer reversed the payment the item came from (CLP02 = 22),
 * so the claim that replaced it (its own answer, its own items) is the one that counts — closed by
 * the reversal, never by a person, and left out of the totals.
 */
export type WorkItemState =
  | 'open'
  | 'fix-available'
  | 'correction-sent'
  | 'denied-again'
  | 'resolved-paid'
  | 'upheld'
  | 'recovered'
  | 'accepted'
  | 'written-off'
  | 'superseded';

export const CLOSED_STATES: readonly WorkItemState[] = [
  'resolved-paid',
  'upheld',
  'recovered',
  'accepted',
  'written-off',
  'superseded',
];

/** Whether an item counts in the dollars found (every item but one whose payment was reversed). */
export function countsInTotals(state: string | undefined): boolean {
  return state !== 'superseded';
}

const STATE_TEXT: Readonly<Record<WorkItemState, string>> = {
  open: 'to be worked',
  'fix-available': 'the cause looks fixed: a corrected claim can be sent',
  'correction-sent': 'corrected claim sent, waiting for the payer',
  'denied-again': 'the corrected claim was denied too',
  'resolved-paid': 'resolved: paid',
  upheld: 'closed: the denial stands',
  recovered: 'closed: the underpaid amount was recovered',
  accepted: 'closed: the payment was accepted as is',
  'written-off': 'closed: written off',
  superseded: 'closed: the payer reversed the payment it came from; the replacing claim counts',
};

export function taskStatusOf(state: WorkItemState): Task['status'] {
  return CLOSED_STATES.includes(state) ? 'completed' : state === 'correction-sent' ? 'in-progress' : 'ready';
}

export function queueLabel(queue: WorkQueue): string {
  return queue === 'underpayment'
    ? 'Underpayments'
    : (DENIAL_CATEGORIES.find((c) => c.id === queue)?.label ?? queue);
}

export type Detail = Readonly<Record<string, string | number | boolean | undefined>>;

/** A record as sub-extensions of EXT_WORK_ITEM_DETAIL (strings, decimals, integers, booleans). */
export function detailExtension(detail: Detail): Extension {
  return {
    url: EXT_WORK_ITEM_DETAIL,
    extension: Object.entries(detail).flatMap(([url, value]): Extension[] =>
      value === undefined
        ? []
        : typeof value === 'string'
          ? [{ url, valueString: value }]
          : typeof value === 'boolean'
            ? [{ url, valueBoolean: value }]
            : Number.isInteger(value)
              ? [{ url, valueInteger: value }]
              : [{ url, valueDecimal: value }],
    ),
  };
}

export function readDetail(
  extensions: readonly Extension[] | undefined,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const e of extensions?.find((x) => x.url === EXT_WORK_ITEM_DETAIL)?.extension ?? []) {
    const value = e.valueString ?? e.valueInteger ?? e.valueDecimal ?? e.valueBoolean;
    if (value !== undefined) {
      out[e.url] = value;
    }
  }
  return out;
}

const type = (code: string): TaskInput['type'] => ({
  coding: [{ system: CS_WORK_ITEM_INPUT, code }],
  text: code,
});
export const inputCode = (input: TaskInput | TaskOutput): string | undefined =>
  input.type.coding?.find((c) => c.system === CS_WORK_ITEM_INPUT)?.code;

export function stringInput(code: string, value: string, detail?: Detail): TaskInput {
  return {
    type: type(code),
    valueString: value,
    ...(detail ? { extension: [detailExtension(detail)] } : {}),
  };
}
export function moneyInput(code: string, value: number): TaskInput {
  return { type: type(code), valueMoney: { value, currency: 'USD' } };
}
export function referenceInput(code: string, reference: string): TaskInput {
  return { type: type(code), valueReference: { reference } };
}
export function dateInput(code: string, value: string): TaskInput {
  return { type: type(code), valueDate: value };
}
export function correctedClaimOutput(claim: string): TaskOutput {
  return { type: type('corrected-claim'), valueReference: { reference: `Claim/${claim}` } };
}

/** The CARCs and RARCs of an item as a CodeableConcept with our labels. */
export function reasonCodeOf(
  carcs: readonly { group: string; carc: string }[],
  rarcs: readonly string[],
): Task['reasonCode'] {
  const seen = new Set<string>();
  const codings = [
    ...carcs.flatMap(({ carc }) => {
      if (seen.has(carc)) {
        return [];
      }
      seen.add(carc);
      return [{ system: CARC_SYSTEM, code: carc, display: carcInfo(carc).label }];
    }),
    ...rarcs.map((code) => {
      const label = rarcInfo(code).label;
      return { system: RARC_SYSTEM, code, ...(label ? { display: label } : {}) };
    }),
  ];
  const groups = [...new Set(carcs.map((c) => `${c.group}-${c.carc}`))];
  return { coding: codings, text: [...groups, ...rarcs].join(', ') };
}

export interface WorkItemHeader {
  readonly id: string;
  readonly kind: WorkItemKind;
  readonly queue: WorkQueue;
  readonly state: WorkItemState;
  /** Every claim of the chain, the denied (or underpaid) one first. */
  readonly claims: readonly string[];
  readonly patient?: string;
  readonly assignee?: string;
  readonly deadline: string;
  readonly priority: Task['priority'];
  readonly source: string;
  readonly description: string;
  readonly reasonCode: Task['reasonCode'];
  readonly now: string;
}

/** A new work item Task (no outputs yet, one note). */
export function newWorkItem(
  header: WorkItemHeader,
  inputs: readonly TaskInput[],
  note: string,
): Task & { id: string } {
  const label = queueLabel(header.queue);
  return {
    resourceType: 'Task',
    id: header.id,
    identifier: header.claims.map((c) => ({ system: ID_WORK_ITEM_CLAIM, value: c })),
    status: taskStatusOf(header.state),
    businessStatus: stateConcept(header.state),
    intent: 'order',
    priority: header.priority,
    code: {
      coding: [
        { system: CS_WORK_ITEM, code: header.kind },
        { system: CS_WORK_QUEUE, code: header.queue, display: label },
      ],
      text: header.kind === 'denial' ? `Denial: ${label}` : 'Underpayment',
    },
    description: header.description,
    focus: { reference: `Claim/${header.claims[0] ?? ''}` },
    ...(header.patient ? { for: { reference: header.patient } } : {}),
    authoredOn: header.now,
    lastModified: header.now,
    ...(header.assignee ? { owner: { display: header.assignee } } : {}),
    restriction: { period: { end: header.deadline } },
    ...(header.reasonCode ? { reasonCode: header.reasonCode } : {}),
    reasonReference: { reference: header.source },
    input: [...inputs, referenceInput('source', header.source)],
    note: [{ time: header.now, text: note }],
  };
}

export function stateConcept(state: WorkItemState): NonNullable<Task['businessStatus']> {
  return { coding: [{ system: CS_WORK_ITEM_STATE, code: state }], text: STATE_TEXT[state] };
}

/** The item moved to another state, with a note (and more inputs, outputs or identifiers). */
export function withState(
  task: Task & { id: string },
  state: WorkItemState,
  change: {
    readonly now: string;
    readonly note: string;
    readonly inputs?: readonly TaskInput[];
    readonly correctedClaim?: string;
    readonly owner?: Task['owner'];
  },
): Task & { id: string } {
  const identifiers = [...(task.identifier ?? [])];
  if (change.correctedClaim && !identifiers.some((i) => i.value === change.correctedClaim)) {
    identifiers.push({ system: ID_WORK_ITEM_CLAIM, value: change.correctedClaim });
  }
  const outputs = [...(task.output ?? [])];
  if (
    change.correctedClaim &&
    !outputs.some((o) => o.valueReference?.reference === `Claim/${change.correctedClaim ?? ''}`)
  ) {
    outputs.push(correctedClaimOutput(change.correctedClaim));
  }
  const copy: Task & { id: string } = { ...task };
  delete copy.meta;
  return {
    ...copy,
    identifier: identifiers,
    status: taskStatusOf(state),
    businessStatus: stateConcept(state),
    lastModified: change.now,
    ...(change.owner ? { owner: change.owner } : {}),
    ...(outputs.length > 0 ? { output: outputs } : {}),
    input: [...(task.input ?? []), ...(change.inputs ?? [])],
    note: [...(task.note ?? []), { time: change.now, text: change.note }],
  };
}

export function stateOf(task: Task): WorkItemState | undefined {
  return task.businessStatus?.coding?.find((c) => c.system === CS_WORK_ITEM_STATE)?.code as
    WorkItemState | undefined;
}
export function kindOf(task: Task): WorkItemKind | undefined {
  const code = task.code?.coding?.find((c) => c.system === CS_WORK_ITEM)?.code;
  return code === 'denial' || code === 'underpayment' ? code : undefined;
}
export function queueOf(task: Task): WorkQueue | undefined {
  return task.code?.coding?.find((c) => c.system === CS_WORK_QUEUE)?.code as WorkQueue | undefined;
}
export function chainOf(task: Task): string[] {
  return (task.identifier ?? [])
    .filter((i) => i.system === ID_WORK_ITEM_CLAIM && i.value)
    .map((i) => i.value ?? '');
}
export function sourcesOf(task: Task): string[] {
  return (task.input ?? [])
    .filter((i) => inputCode(i) === 'source')
    .map((i) => i.valueReference?.reference ?? '')
    .filter((r) => r !== '');
}
export function isOpen(task: Task): boolean {
  const state = stateOf(task);
  return state !== undefined && !CLOSED_STATES.includes(state);
}

/** A work item as the API and CLI show it. */
export interface WorkItemView {
  readonly id: string;
  readonly kind: WorkItemKind;
  readonly queue: WorkQueue;
  readonly queueLabel: string;
  readonly state: WorkItemState;
  readonly status: Task['status'];
  readonly claim: string;
  /** Corrected claims sent for it, oldest first. */
  readonly correctedClaims: readonly string[];
  readonly patient?: string;
  readonly payer?: string;
  readonly payerClaimNumber?: string;
  readonly decided?: string;
  readonly dollarsAtStake: number;
  readonly appealDeadline?: string;
  readonly daysLeft?: number;
  readonly assignee?: string;
  readonly reasons: string;
  readonly recommendedFix?: {
    readonly rule: string;
    readonly action: string;
    readonly text: string;
    readonly source: string;
    readonly evidence: readonly string[];
  };
  readonly lines: readonly Record<string, string | number | boolean>[];
  readonly sources: readonly string[];
  readonly notes: readonly { readonly time?: string; readonly text: string }[];
  readonly authoredOn?: string;
  readonly lastModified?: string;
}

export function workItemView(task: Task & { id: string }, today?: string): WorkItemView | undefined {
  const kind = kindOf(task);
  const queue = queueOf(task);
  const state = stateOf(task);
  if (!kind || !queue || !state) {
    return undefined;
  }
  const inputs = task.input ?? [];
  const first = (code: string): TaskInput | undefined => inputs.find((i) => inputCode(i) === code);
  const fixInput = first('recommended-fix');
  const fix = fixInput ? readDetail(fixInput.extension) : undefined;
  const deadline = task.restriction?.period?.end;
  const patient = task.for?.reference;
  const payer = first('payer')?.valueString;
  const payerClaimNumber = first('payer-claim-number')?.valueString;
  const decided = first('decided')?.valueDate;
  const assignee = task.owner?.display ?? task.owner?.reference;
  return {
    id: task.id,
    kind,
    queue,
    queueLabel: queueLabel(queue),
    state,
    status: task.status,
    claim: chainOf(task)[0] ?? (task.focus?.reference ?? '').replace(/^Claim\//, ''),
    correctedClaims: (task.output ?? [])
      .map((o) => o.valueReference?.reference ?? '')
      .filter((r) => r.startsWith('Claim/'))
      .map((r) => r.slice('Claim/'.length)),
    ...(patient ? { patient } : {}),
    ...(payer ? { payer } : {}),
    ...(payerClaimNumber ? { payerClaimNumber } : {}),
    ...(decided ? { decided } : {}),
    dollarsAtStake: first('dollars-at-stake')?.valueMoney?.value ?? 0,
    ...(deadline ? { appealDeadline: deadline.slice(0, 10) } : {}),
    ...(deadline && today
      ? { daysLeft: Math.round((Date.parse(deadline.slice(0, 10)) - Date.parse(today)) / 86_400_000) }
      : {}),
    ...(assignee ? { assignee } : {}),
    reasons: task.reasonCode?.text ?? '',
    ...(fixInput && fix
      ? {
          recommendedFix: {
            rule: String(fix['rule'] ?? ''),
            action: String(fix['action'] ?? ''),
            text: fixInput.valueString ?? '',
            source: String(fix['source'] ?? ''),
            evidence: inputs.filter((i) => inputCode(i) === 'evidence').map((i) => i.valueString ?? ''),
          },
        }
      : {}),
    lines: inputs
      .filter((i) => inputCode(i) === 'denied-line' || inputCode(i) === 'underpaid-line')
      .map((i) => ({ summary: i.valueString ?? '', ...readDetail(i.extension) })),
    sources: sourcesOf(task),
    notes: (task.note ?? []).map((n) => ({ ...(n.time ? { time: n.time } : {}), text: n.text })),
    ...(task.authoredOn ? { authoredOn: task.authoredOn } : {}),
    ...(task.lastModified ? { lastModified: task.lastModified } : {}),
  };
}

/** The fix as a work item input (text, with rule, action and source as detail). */
export function fixInputs(fix: RecommendedFix): TaskInput[] {
  return [
    stringInput('recommended-fix', fix.text, { rule: fix.rule, action: fix.action, source: fix.source }),
    ...fix.evidence.map((e) => stringInput('evidence', e)),
  ];
}
