/**
 * The work item of a payment that matched no claim (posting, ./post-claim-payment.ts): the payment
 * as received rides in the Task, so a person's manual match (./manual-match.ts) posts exactly what
 * a matched payment would have.
 */
import type { ExplanationOfBenefit, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../config/billing.ts';
import { CS_WORK_ITEM as WORK_ITEM_SYSTEM } from '../contract/canonical.ts';
import type { ClaimPaymentDraft } from './claim-payment.ts';
import { shortHash } from './identity.ts';
import { UNMATCHED_TASK } from './jobs.ts';

/** Task.input type of an unmatched payment: the payment as received, for a person to match later. */
export const UNMATCHED_PAYMENT_INPUT = 'claim payment as received';

export function unmatchedTask(
  eob: ExplanationOfBenefit & { id: string },
  draft: ClaimPaymentDraft,
  reason: string,
  payer: PayerEndpoint,
  now: Date,
): Task & { id: string } {
  return {
    resourceType: 'Task',
    id: `task-${shortHash(`${UNMATCHED_TASK.code}|${eob.id}`)}`,
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: WORK_ITEM_SYSTEM, code: UNMATCHED_TASK.code }], text: UNMATCHED_TASK.text },
    businessStatus: { text: reason },
    description: `${payer.name} paid ${draft.paid.toFixed(2)} on patient control number ${draft.patientControlNumber}${draft.payerClaimNumber ? ` (payer claim number ${draft.payerClaimNumber})` : ''}: ${reason}. Match it to a claim: POST /api/remittance/unmatched/{task id}/match.`,
    focus: { reference: `ExplanationOfBenefit/${eob.id}` },
    authoredOn: now.toISOString(),
    lastModified: now.toISOString(),
    input: [
      { type: { text: 'patient control number' }, valueString: draft.patientControlNumber },
      ...(draft.payerClaimNumber
        ? [{ type: { text: 'payer claim number' }, valueString: draft.payerClaimNumber }]
        : []),
      { type: { text: 'payer' }, valueString: payer.id },
      { type: { text: 'paid' }, valueMoney: { value: draft.paid, currency: 'USD' } },
      // Everything the payer said, so a manual match posts exactly what a matched payment would
      // have (the EOB does not keep the billed code and units, nor whether allowed was reported).
      {
        type: { text: UNMATCHED_PAYMENT_INPUT },
        valueAttachment: {
          contentType: 'application/json',
          data: Buffer.from(JSON.stringify(draft), 'utf8').toString('base64'),
        },
      },
    ],
  };
}
