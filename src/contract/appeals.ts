/**
 * The contract of appeals and patient statements (issue 15): an appeal is a FHIR Task whose focus
 * is the denied or underpaid Claim and whose basedOn is the remittance work item it came from; a
 * patient's balance is an Account and each statement an Invoice. Analytics counts appeals and
 * recovered dollars from these Tasks, so both sides read the codes from here.
 *
 * Appeal Task: code = CS_APPEAL_LEVEL (redetermination | reconsideration | first-level |
 * second-level), businessStatus = CS_APPEAL_OUTCOME (open | overturned | partly-overturned |
 * upheld | missed), restriction.period.end = the filing deadline, output of type
 * CS_APPEAL_OUTPUT `recovered` (valueMoney) once the outcome is known.
 */
import { define } from './registry.ts';

export const CS_APPEAL_LEVEL = define(
  'code-system',
  'appeal-level',
  'Task.code of an appeal: its level (redetermination, reconsideration, first-level, second-level)',
);
export const CS_APPEAL_OUTCOME = define(
  'code-system',
  'appeal-outcome',
  'Task.businessStatus of an appeal: open, overturned, partly-overturned, upheld, missed',
);
export const CS_APPEAL_OUTPUT = define(
  'code-system',
  'appeal-output',
  'Task.input/output types of an appeal (recovered amount, packet, denied amount)',
);
export const ID_APPEAL = define(
  'identifier-system',
  'appeal',
  'Task.identifier of an appeal: tenant-unique, so opening the same appeal twice finds the first',
);
export const CS_STATEMENT_LINE = define(
  'code-system',
  'statement-line',
  'Invoice.lineItem.priceComponent codes of a patient statement (billed, insurance-paid, adjustment, patient-owes)',
);
export const ID_STATEMENT = define(
  'identifier-system',
  'statement',
  'Invoice.identifier of a patient statement: tenant, account and cycle, so a cycle run twice finds the first',
);
export const EXT_COLLECTIONS_STATUS = define(
  'extension',
  'collections-status',
  'Account: where a patient balance stands in the dunning schedule (current, reminder, final-notice, hold, refund-due)',
);
export const ID_PATIENT_PAYMENT = define(
  'identifier-system',
  'patient-payment',
  'PaymentNotice.identifier of a patient payment or adjustment: the caller’s idempotency key, so a retried request records it once',
);
export const CS_PATIENT_CREDIT = define(
  'code-system',
  'patient-credit',
  'PaymentNotice.paymentStatus of a patient credit: payment (money from the patient) or adjustment (taken off the balance)',
);
