/**
 * What one posted claim payment does to the work queues, as the writes to make. Pure: the stored
 * work items of the claim's chain, the contract evaluation and the triage facts are passed in.
 *
 * - Each denial group (./../triage/denials.ts) becomes a work item in its queue — one per claim and
 *   queue — with the dollars at stake, the payer's appeal deadline, the assignee of the queue and
 *   the recommended fix with its evidence. Patient-responsibility adjustments are not denials.
 * - Underpaid lines (../contracts/variance.ts) become one underpayment work item per claim with each
 *   line's variance, the contract term used and the evidence.
 * - An open item of the claim's chain (a corrected claim answers for the claim it replaced, or a
 *   resubmitted claim answers again) follows the answer: paid → resolved; denied again in its
 *   queue → denied-again (back to be worked); an underpayment paid as expected → recovered.
 * - A reversal (CLP02 = 22) of a claim Dripline has replaced (a corrected or void claim: its
 *   replaced-by link) takes back the payment its items came from: the open items whose chain ends
 *   with it (no correction of theirs is out) close as `superseded`, naming the reversal and the
 *   replacing claim, whose answer (and its own items) is the one counted — underpaid dollars are
 *   not counted twice after a correction (005010X221A1 §1.10.2.8: a reversal and the correction
 *   that follows it are two claim payments). An item whose corrected claim is out is left to that
 *   claim's answer; a reversal of a claim not replaced (the payer reprocessing it) leaves the items
 *   to the claim's next payment.
 * - Idempotent: a payment an item already records as a source changes nothing, so the same
 *   remittance posted twice (or the same answer read from two places) writes nothing new.
 */
import { createHash } from 'node:crypto';
import type { Task, TaskInput } from '@medplum/fhirtypes';
import { buildAuditEvent } from '../../fhir/audit.ts';
import type { BatchOperation, StoredResource } from '../../store/port.ts';
import { sumOf } from '../amounts.ts';
import type { LineVariance, PaymentEvaluation } from '../contracts/variance.ts';
import type { PostedClaimPayment } from '../posted.ts';
import { appealDeadline, daysLeft } from '../triage/deadlines.ts';
import type { DenialGroup, DeniedLine } from '../triage/denials.ts';
import { denialsOf } from '../triage/denials.ts';
import type { TriageFacts } from '../triage/fixes.ts';
import { recommendedFix } from '../triage/fixes.ts';
import type { WorkItemKind, WorkItemState, WorkQueue } from './items.ts';
import {
  chainOf,
  dateInput,
  fixInputs,
  isOpen,
  kindOf,
  moneyInput,
  newWorkItem,
  queueOf,
  reasonCodeOf,
  referenceInput,
  sourcesOf,
  stateOf,
  stringInput,
  withState,
} from './items.ts';
import { versionCheckedUpdate } from './task-writes.ts';

export const REMITTANCE_AGENT = 'dripline/remittance';

export function workItemId(kind: WorkItemKind, claim: string, queue: WorkQueue): string {
  return `wi-${createHash('sha256').update(`${kind}|Claim/${claim}|${queue}`).digest('hex').slice(0, 32)}`;
}

export interface PlanInput {
  readonly payment: PostedClaimPayment;
  /** The payer's decision date, YYYY-MM-DD in the tenant's zone. */
  readonly decided: string;
  /** The tenant's calendar day now (YYYY-MM-DD). */
  readonly today: string;
  readonly patient?: string;
  readonly payer: { readonly kind: 'medicare' | 'medicaid' | 'commercial'; readonly appealDays?: number };
  /** Assignee per queue (`default` for the rest): config `workQueues.assignees`. */
  readonly assignees?: Readonly<Record<string, string>>;
  /** The payment against the contract; undefined when the tenant has no contracts. */
  readonly evaluation?: PaymentEvaluation;
  readonly facts?: TriageFacts;
  /** The claim that replaced this one (its replaced-by link), named when a reversal supersedes its items. */
  readonly replacedBy?: string;
  /** Stored work items whose chain names this claim or a claim it corrects. */
  readonly existing: readonly (Task & StoredResource)[];
  readonly now: Date;
  readonly publicUrl: string;
}

export interface Plan {
  readonly writes: BatchOperation[];
  /** Ids of items created, and of items changed, with their new state. */
  readonly created: readonly { readonly id: string; readonly queue: WorkQueue }[];
  readonly changed: readonly { readonly id: string; readonly state: WorkItemState }[];
}

const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function lineName(line: {
  position: number;
  itemSequence?: number;
  code: string;
  modifiers: readonly string[];
  units: number;
}): string {
  if (line.position === 0) {
    return 'Claim';
  }
  const code = `${line.code}${line.modifiers.length > 0 ? `-${line.modifiers.join('-')}` : ''}`;
  return `Line ${line.itemSequence ?? line.position} ${code} ×${line.units}`;
}

function deniedLineInput(line: DeniedLine): TaskInput {
  const reasons = line.adjustments
    .map((a) => `${a.group}-${a.carc}${a.amount ? ` ${usd(a.amount)}` : ''}`)
    .join(', ');
  return stringInput(
    'denied-line',
    `${lineName(line)}${line.serviceDate ? ` (${line.serviceDate})` : ''}: ${reasons}${
      line.remarks.length > 0 ? ` [${line.remarks.join(', ')}]` : ''
    }; ${usd(line.denied)} at stake`,
    {
      position: line.position,
      itemSequence: line.itemSequence,
      code: line.code,
      modifiers: line.modifiers.join(','),
      units: line.units,
      serviceDate: line.serviceDate,
      submitted: line.submitted,
      paid: line.paid,
      denied: line.denied,
      adjustments: line.adjustments.map((a) => `${a.group}-${a.carc}:${a.amount}`).join(','),
      remarks: line.remarks.join(','),
    },
  );
}

function underpaidLineInput(line: LineVariance): TaskInput {
  const expected = line.expected;
  return stringInput(
    'underpaid-line',
    `${lineName({ position: line.sequence ?? 0, code: line.code, modifiers: line.modifiers, units: line.units, ...(line.sequence !== undefined ? { itemSequence: line.sequence } : {}) })}: paid ${usd(line.paid)}, expected ${usd(line.expectedPayment ?? 0)} (allowed ${usd(line.actualAllowed)} against ${usd(expected?.amount ?? 0)}: ${expected?.term.description ?? '?'}, contract "${expected?.contract.id ?? '?'}"); ${usd(line.variance ?? 0)} short`,
    {
      itemSequence: line.sequence,
      code: line.code,
      modifiers: line.modifiers.join(','),
      units: line.units,
      serviceDate: line.serviceDate,
      submitted: line.submitted,
      paid: line.paid,
      allowed: line.actualAllowed,
      expectedAllowed: expected?.amount,
      expectedPayment: line.expectedPayment,
      variance: line.variance,
      patientResponsibility: line.patientResponsibility,
      sequestration: line.sequestration.taken,
      contract: expected?.contract.id,
      term: expected?.term.id,
      termDescription: expected?.term.description,
      basis: expected?.basis,
      unverified: expected?.unverified,
    },
  );
}

/** The denial lines of an item as recorded (code and amount), to tell a re-read answer from a new one. */
function recordedLines(task: Task): string {
  return (task.input ?? [])
    .filter((i) => i.type.coding?.some((c) => c.code === 'denied-line'))
    .map((i) => i.valueString ?? '')
    .sort()
    .join('\n');
}

function linesKey(group: DenialGroup): string {
  return group.lines
    .map((l) => deniedLineInput(l).valueString ?? '')
    .sort()
    .join('\n');
}

/**
 * A reversal's effect on a replaced claim: its open items (chain ending with it) superseded. When
 * the reversal names the payment it takes back, only the items that payment fed are.
 */
function supersedeReversed(
  input: PlanInput,
  sourceRef: string,
  at: string,
  update: (stored: Task & StoredResource, next: Task & { id: string }, state: WorkItemState) => void,
): void {
  const { payment, replacedBy } = input;
  if (!replacedBy) {
    return;
  }
  const reversed = payment.reverses
    ? payment.reverses.includes('/')
      ? payment.reverses
      : `ExplanationOfBenefit/${payment.reverses}`
    : undefined;
  for (const item of input.existing) {
    const sources = sourcesOf(item);
    if (
      !isOpen(item) ||
      chainOf(item).at(-1) !== payment.claim ||
      sources.includes(sourceRef) ||
      (reversed !== undefined && !sources.includes(reversed))
    ) {
      continue;
    }
    update(
      item,
      withState(item, 'superseded', {
        now: at,
        note: `The payer reversed the payment of Claim/${payment.claim}${reversed ? ` (${reversed})` : ''} in ${sourceRef}; Claim/${replacedBy} replaces it, and its answer counts: superseded.`,
        inputs: [referenceInput('source', sourceRef)],
      }),
      'superseded',
    );
  }
}

export function planWorkItems(input: PlanInput): Plan {
  const { payment, now } = input;
  const at = now.toISOString();
  const writes: BatchOperation[] = [];
  const created: { id: string; queue: WorkQueue }[] = [];
  const changed: { id: string; state: WorkItemState }[] = [];
  const deadline = appealDeadline(input.decided, input.payer);
  const priority: Task['priority'] = daysLeft(deadline.date, input.today) <= 14 ? 'urgent' : 'routine';
  const assigneeOf = (queue: WorkQueue): string | undefined =>
    input.assignees?.[queue] ?? input.assignees?.['default'];
  const audit = (task: Task & { id: string }, interaction: 'create' | 'update'): BatchOperation => {
    const event = buildAuditEvent({
      id: `audit-${createHash('sha256').update(`${task.id}|${payment.id}|${interaction}|${at}`).digest('hex').slice(0, 32)}`,
      now,
      interaction,
      outcome: '0',
      clientId: REMITTANCE_AGENT,
      resources: [
        `Task/${task.id}`,
        payment.id.includes('/') ? payment.id : `ExplanationOfBenefit/${payment.id}`,
      ],
      patients: task.for?.reference ? [task.for.reference] : [],
      publicUrl: input.publicUrl,
    });
    return { op: 'create', resource: event, options: { id: event.id } };
  };
  const update = (stored: Task & StoredResource, next: Task & { id: string }, state: WorkItemState): void => {
    writes.push(versionCheckedUpdate(stored, next), audit(next, 'update'));
    changed.push({ id: next.id, state });
  };
  const sourceRef = payment.id.includes('/') ? payment.id : `ExplanationOfBenefit/${payment.id}`;
  if (payment.outcome === 'reversed' || payment.status === '22') {
    supersedeReversed(input, sourceRef, at, update);
    return { writes, created, changed };
  }
  const commonInputs = (): TaskInput[] => [
    stringInput('payer', payment.payer),
    ...(payment.payerClaimNumber ? [stringInput('payer-claim-number', payment.payerClaimNumber)] : []),
    dateInput('decided', input.decided),
  ];

  const denials = denialsOf(payment);
  const consumed = new Set<WorkQueue>();
  const existingById = new Map(input.existing.map((t) => [t.id, t]));

  // Open items of the claim's chain follow this answer.
  for (const item of input.existing) {
    if (!isOpen(item)) {
      continue;
    }
    const queue = queueOf(item);
    const kind = kindOf(item);
    if (!queue || !kind) {
      continue;
    }
    if (sourcesOf(item).includes(sourceRef)) {
      consumed.add(queue); // this answer is already on it
      continue;
    }
    const sameClaimFirstAnswer = chainOf(item)[0] === payment.claim && (item.output ?? []).length === 0;
    if (kind === 'denial') {
      const again = denials.find((d) => d.category === queue);
      if (again && sameClaimFirstAnswer && recordedLines(item) === linesKey(again)) {
        // The same adjudication read from another record (an 835 and a FHIR answer): note it only.
        consumed.add(queue);
        update(
          item,
          withState(item, stateOf(item) ?? 'open', {
            now: at,
            note: `The same denial is also recorded in ${sourceRef}.`,
            inputs: [referenceInput('source', sourceRef)],
          }),
          stateOf(item) ?? 'open',
        );
        continue;
      }
      if (again) {
        consumed.add(queue);
        update(
          item,
          withState(item, 'denied-again', {
            now: at,
            note: `Claim/${payment.claim} was denied again (${again.carcs.join(', ')}; ${usd(again.dollars)}): ${sourceRef}. Work it again, or close it as upheld.`,
            inputs: [referenceInput('source', sourceRef), ...again.lines.map(deniedLineInput)],
          }),
          'denied-again',
        );
        continue;
      }
      const others = denials.filter((d) => !consumed.has(d.category as WorkQueue));
      const paid = payment.paid > 0;
      const state: WorkItemState = paid && others.length === 0 ? 'resolved-paid' : 'denied-again';
      update(
        item,
        withState(item, state, {
          now: at,
          note:
            state === 'resolved-paid'
              ? `Claim/${payment.claim} paid ${usd(payment.paid)} (${sourceRef}): resolved.`
              : `Claim/${payment.claim} answered (${sourceRef}) without this denial, but ${others.length > 0 ? `denied for ${others.map((o) => o.category).join(', ')}` : 'nothing was paid'}.`,
          inputs: [referenceInput('source', sourceRef)],
        }),
        state,
      );
    } else if (kind === 'underpayment' && !sameClaimFirstAnswer) {
      const underpaid = input.evaluation?.lines.filter((l) => l.status === 'underpaid') ?? [];
      if (underpaid.length === 0 && payment.paid > 0) {
        consumed.add('underpayment');
        update(
          item,
          withState(item, 'recovered', {
            now: at,
            note: `Claim/${payment.claim} was paid as the contract expects (${sourceRef}): recovered.`,
            inputs: [referenceInput('source', sourceRef)],
          }),
          'recovered',
        );
      }
    }
  }

  // New denials: one item per queue.
  for (const group of denials) {
    const queue = group.category as WorkQueue;
    if (consumed.has(queue)) {
      continue;
    }
    const id = workItemId('denial', payment.claim, queue);
    const stored = existingById.get(id);
    if (stored && sourcesOf(stored).includes(sourceRef)) {
      continue;
    }
    const fix = recommendedFix(group, input.facts);
    const inputs = [
      ...commonInputs(),
      moneyInput('dollars-at-stake', group.dollars),
      ...fixInputs(fix),
      ...group.lines.map(deniedLineInput),
    ];
    const assignee = assigneeOf(queue);
    const note = `${group.carcs.map((c) => `${group.group}-${c}`).join(', ')} on Claim/${payment.claim}: ${usd(group.dollars)} at stake; appeal by ${deadline.date} (${deadline.days} days after the decision).`;
    if (stored) {
      // A closed item of this claim and queue, denied again: reopened.
      update(
        stored,
        withState(stored, 'denied-again', {
          now: at,
          note,
          inputs: [referenceInput('source', sourceRef), ...group.lines.map(deniedLineInput)],
        }),
        'denied-again',
      );
      continue;
    }
    const task = newWorkItem(
      {
        id,
        kind: 'denial',
        queue,
        state: 'open',
        claims: [payment.claim],
        ...(input.patient ? { patient: input.patient } : {}),
        ...(assignee ? { assignee } : {}),
        deadline: deadline.date,
        priority,
        source: sourceRef,
        description: fix.text,
        reasonCode: reasonCodeOf(
          group.lines.flatMap((l) => l.adjustments),
          group.rarcs,
        ),
        now: at,
      },
      inputs,
      note,
    );
    writes.push({ op: 'create', resource: task, options: { id } }, audit(task, 'create'));
    created.push({ id, queue });
  }

  // Underpaid lines: one item per claim.
  const underpaid = input.evaluation?.lines.filter((l) => l.status === 'underpaid') ?? [];
  if (underpaid.length > 0 && !consumed.has('underpayment')) {
    const id = workItemId('underpayment', payment.claim, 'underpayment');
    const stored = existingById.get(id);
    if (!stored || !sourcesOf(stored).includes(sourceRef)) {
      const dollars = sumOf(underpaid.map((l) => l.variance ?? 0));
      const terms = [...new Set(underpaid.map((l) => l.expected?.contract.source ?? ''))].filter(
        (s) => s !== '',
      );
      const unverified = underpaid.some((l) => l.expected?.unverified);
      const evidence = [
        ...terms.map((s) => `Contract terms: ${s}.`),
        ...underpaid.map((l) => `Line ${l.sequence ?? '?'} ${l.code}: ${l.expected?.basis ?? ''}.`),
        ...(unverified
          ? ['Some expected amounts come from an UNVERIFIED reference table: check them before appealing.']
          : []),
      ];
      const description =
        'Paid below the contract: ask the payer to reprocess the lines at the contracted rate (reconsideration or appeal), with the contract terms as evidence.';
      const note = `${underpaid.length} line(s) paid ${usd(dollars)} below the contract on Claim/${payment.claim} (${sourceRef}); appeal by ${deadline.date}.`;
      if (stored) {
        update(
          stored,
          withState(stored, 'open', { now: at, note, inputs: [referenceInput('source', sourceRef)] }),
          'open',
        );
      } else {
        const assignee = assigneeOf('underpayment');
        const task = newWorkItem(
          {
            id,
            kind: 'underpayment',
            queue: 'underpayment',
            state: 'open',
            claims: [payment.claim],
            ...(input.patient ? { patient: input.patient } : {}),
            ...(assignee ? { assignee } : {}),
            deadline: deadline.date,
            priority,
            source: sourceRef,
            description,
            reasonCode: { text: 'paid below the contract' },
            now: at,
          },
          [
            ...commonInputs(),
            moneyInput('dollars-at-stake', dollars),
            stringInput('recommended-fix', description, {
              rule: 'underpayment',
              action: 'appeal',
              source:
                'the contract (see evidence); ../shared/research/market.md §4 (underpayment = expected allowed − actual allowed)',
            }),
            ...evidence.map((e) => stringInput('evidence', e)),
            ...underpaid.map(underpaidLineInput),
          ],
          note,
        );
        writes.push({ op: 'create', resource: task, options: { id } }, audit(task, 'create'));
        created.push({ id, queue: 'underpayment' });
      }
    }
  }
  return { writes, created, changed };
}
