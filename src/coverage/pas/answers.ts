/**
 * What Dripline does with a payer's answer to one of its PAS requests — from `$submit`, a
 * subscription notification or `$inquire` — in one store transaction with the message kept as
 * received and an AuditEvent:
 * - a conforming decision: the case's ClaimResponse gets a new version (src/claims/authorizations.ts
 *   reads its numbers, periods and units), the submission's state becomes the decision, earlier
 *   submissions are superseded; a denial or a request for more information becomes the case's work
 *   item, a later decision closes it; a pend is followed up (subscription, and `$inquire` on the slow schedule); any
 *   readable answer, one that changes nothing included, closes a work item about the exchange
 *   itself (the payer unavailable, an unreadable answer);
 * - a refusal (HTTP 4xx with its OperationOutcome) or a business error (`ClaimResponse.error`):
 *   the submission is `rejected` / `error` and a person is asked to fix and resend;
 * - an answer that is not a valid PAS response: kept with the OperationOutcome saying why, a work
 *   item, and nothing else changes.
 */
import type { Claim, ClaimResponse, OperationOutcome, Task } from '@medplum/fhirtypes';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { MessageKind, PasState } from './records.ts';
import {
  auditWrite,
  EXCHANGE_WORK,
  messageDocument,
  responseCopy,
  stateOf,
  submissionsOf,
  taskDone,
  taskWrite,
  withState,
} from './records.ts';
import type { PasReading } from './response.ts';
import { readPasResponse } from './response.ts';
import { readOptional } from '../../store/read-optional.ts';

export interface AnswerContext {
  readonly store: Pick<Store, 'resources'>;
  readonly tenant: TenantId;
  readonly publicUrl: string;
  readonly now: Date;
  readonly newId: () => string;
}

export interface ReceivedAnswer {
  readonly kind: MessageKind;
  readonly text: string;
  readonly status?: number;
  readonly contentType?: string;
  /** The body already parsed (else parsed from text). */
  readonly body?: unknown;
  /** Already read (an `$inquire` answer holds several): else read from the body. */
  readonly reading?: PasReading;
}

export type AnswerOutcome = {
  readonly state: PasState | 'unchanged';
  readonly reading: PasReading;
  readonly followUp: boolean;
};

const outcomeText = (outcome: OperationOutcome | undefined): string =>
  (outcome?.issue ?? [])
    .map(
      (i) =>
        `${i.details?.text ?? i.diagnostics ?? i.code}${i.expression?.[0] ? ` (${i.expression[0]})` : ''}`,
    )
    .join('; ')
    .slice(0, 2000);

/** n of a submission id `{case}-{n}`. */
const sequenceOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));

function parse(answer: ReceivedAnswer): unknown {
  if (answer.body !== undefined) {
    return answer.body;
  }
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    return undefined;
  }
}

/** The reading of an answer, an HTTP refusal without an OperationOutcome included. */
export function readAnswer(answer: ReceivedAnswer): PasReading {
  if (answer.reading) {
    return answer.reading;
  }
  const body = parse(answer);
  if (answer.status !== undefined && answer.status >= 400) {
    const refusal = readPasResponse(body);
    return refusal.status === 'rejected'
      ? refusal
      : readPasResponse({
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'error',
              code: 'processing',
              details: { text: `HTTP ${answer.status} without an OperationOutcome` },
            },
          ],
        });
  }
  return readPasResponse(body);
}

/** Applies an answer to the submission it answers (the case's latest, or the one the answer names). */
export async function applyAnswer(
  ctx: AnswerContext,
  target: {
    readonly caseId: string;
    readonly submission: Claim & StoredResource;
    readonly payer: PayerEndpoint;
  },
  answer: ReceivedAnswer,
): Promise<AnswerOutcome> {
  const { store, tenant, now } = ctx;
  const { caseId, submission, payer } = target;
  const reading = readAnswer(answer);
  const patient = submission.patient.reference ?? '';
  const document = messageDocument({
    kind: answer.kind,
    text: answer.text,
    ...(answer.contentType ? { contentType: answer.contentType } : {}),
    ...(answer.status !== undefined ? { status: answer.status } : {}),
    claim: `Claim/${submission.id}`,
    patient,
    now,
  });
  const taskId = `${caseId}-work`;
  const task = await readOptional<Task>(store, tenant, 'Task', taskId);
  const operations: BatchOperation[] = [];
  const keep = async (): Promise<void> => {
    if (!(await readOptional(store, tenant, 'DocumentReference', document.id))) {
      operations.push({ op: 'create', resource: document, options: { id: document.id } });
    }
  };
  const work = (code: Parameters<typeof taskWrite>[0]['code'], note: string): void => {
    operations.push(
      taskWrite({
        id: taskId,
        code,
        note,
        focus: `Claim/${submission.id}`,
        patient,
        ...(task ? { existing: task } : {}),
        now,
      }),
    );
  };
  const claimState = (claim: Claim & StoredResource, state: PasState): void => {
    operations.push({
      op: 'update',
      resource: withState(claim, state),
      options: { ifMatchVersion: claim.meta.versionId, upsert: false },
    });
  };
  /** Closes an open work item about the exchange itself: the payer has answered. */
  const exchangeDone = (): void => {
    if (task && task.status === 'requested' && EXCHANGE_WORK.has(task.code?.coding?.[0]?.code ?? '')) {
      const said =
        reading.status !== 'pended'
          ? `decided ${submission.id}: ${reading.status}.`
          : answer.kind === 'inquiry-answer'
            ? `answered an inquiry about ${submission.id}: still pended for review (Dripline keeps inquiring on the payer's schedule).`
            : `received ${submission.id} and answered it: pended for review.`;
      operations.push(taskDone(task, `${payer.name} ${said}`, now));
    }
  };
  await keep();
  let state: PasState | 'unchanged' = 'unchanged';
  let followUp = false;
  if (reading.status === 'rejected') {
    state = 'rejected';
    claimState(submission, state);
    work(
      'payer-refused',
      `${payer.name} refused ${submission.id}: ${outcomeText(reading.outcome)}. Fix the request and send it again.`,
    );
  } else if (reading.nonconformance) {
    // Nothing changes but the record and the work item: an answer Dripline cannot trust decides nothing.
    if (stateOf(submission) === 'prepared') {
      state = 'unanswered';
      claimState(submission, state);
    }
    work(
      'invalid-answer',
      `${payer.name}'s ${answer.kind} for ${submission.id} is not a valid PAS response (DocumentReference/${document.id}): ${outcomeText(reading.nonconformance)}`,
    );
  } else if (reading.status === 'error') {
    state = 'error';
    claimState(submission, state);
    const errors = reading.errors
      .map((e) => [e.code, e.element, e.path].filter(Boolean).join(' at '))
      .join('; ');
    work(
      'payer-error',
      `${payer.name} could not process ${submission.id} (X12 901: ${errors || 'no code'}). Correct the request and send it again.`,
    );
  } else if (reading.claimResponse) {
    state = reading.status;
    const copy = responseCopy({
      caseId,
      payerResponse: reading.claimResponse,
      submission: submission.id,
      patient,
      payer,
      cancelled: reading.status === 'cancelled',
    });
    const existing = await readOptional<ClaimResponse>(store, tenant, 'ClaimResponse', caseId);
    const { meta: _stored, ...before } = existing ?? { meta: undefined };
    const { meta: _new, ...after } = copy;
    // The same answer again (a notification delivered twice, an inquiry that learns nothing new) changes nothing.
    const responseChanged = !existing || canonical({ ...before, id: caseId }) !== canonical(after);
    if (responseChanged) {
      operations.push(
        existing
          ? {
              op: 'update',
              resource: copy,
              options: { ifMatchVersion: existing.meta.versionId, upsert: false },
            }
          : { op: 'create', resource: copy, options: { id: caseId } },
      );
    }
    const stateChanged = stateOf(submission) !== state;
    if (stateChanged) {
      claimState(submission, state);
    }
    if (!responseChanged && !stateChanged) {
      // Nothing new: no state change (the message itself is kept once, by its bytes); but the payer
      // answered, so a work item about reaching it is done (an inquiry after one died, say).
      exchangeDone();
      return finish();
    }
    for (const earlier of await submissionsOf(store, tenant, caseId)) {
      if (sequenceOf(earlier.id) < sequenceOf(submission.id) && stateOf(earlier) !== 'superseded') {
        claimState(earlier, 'superseded');
      }
    }
    const reasons = reading.items.flatMap((i) => [...i.notes, ...i.reasons.map((r) => `X12 886 ${r}`)]);
    if (reading.status === 'denied' || reading.items.some((i) => i.status === 'denied')) {
      work(
        'denied',
        `${payer.name} did not certify ${submission.id}: ${reasons.join('; ') || 'no reason given'}.`,
      );
    } else if (reading.moreInformation.length > 0) {
      const needs = reading.moreInformation.flatMap((r) =>
        r.resourceType === 'CommunicationRequest'
          ? (r.payload ?? []).map((p) => p.contentString ?? p.contentAttachment?.title ?? 'an attachment')
          : [r.code?.text ?? r.description ?? 'documentation (CDex)'],
      );
      work(
        'more-information',
        `${payer.name} needs more information for ${submission.id}: ${needs.join('; ')}.`,
      );
    } else if (task && task.status === 'requested' && reading.status !== 'pended') {
      operations.push(taskDone(task, `${payer.name} decided ${submission.id}: ${reading.status}.`, now));
    } else {
      exchangeDone();
    }
    followUp = reading.status === 'pended';
  }
  return finish();

  async function finish(): Promise<AnswerOutcome> {
    if (operations.length === 0) {
      return { state: 'unchanged', reading, followUp: false };
    }
    operations.push(
      auditWrite({
        id: ctx.newId(),
        now,
        payer: payer.id,
        created: true,
        resources: operations.flatMap((o) => ('resource' in o ? [o.resource] : [])),
        publicUrl: ctx.publicUrl,
      }),
    );
    await store.resources.writeBatch(tenant, operations);
    return { state, reading, followUp };
  }
}

/** JSON with object keys sorted: two resources with the same content give the same text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
