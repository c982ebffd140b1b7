/**
 * The contract of denial triage, underpayments and correct-and-resubmit (issue 14, items 5–7): the
 * work items (Tasks) the remittance engines create, and the claim line's modifier override a
 * person sets when correcting a denial. Work items reuse CS_WORK_ITEM (Task.code `denial`,
 * `underpayment`) and CS_OPERATION (actions people take) from ./canonical.ts.
 */
import { define } from './registry.ts';

export const EXT_MODIFIER_OVERRIDE = define(
  'extension',
  'modifier-override',
  "Claim.item: a person set the line's modifiers instead of the coding rule's (valueString = the reason)",
);
export const EXT_WORK_ITEM_DETAIL = define(
  'extension',
  'work-item-detail',
  "Task.input of a remittance work item: a line's codes and amounts or a fix's rule, as sub-extensions",
);
export const CS_WORK_QUEUE = define(
  'code-system',
  'work-queue',
  'Task.code: the queue of a remittance work item (a denial category, or underpayment)',
);
export const CS_WORK_ITEM_STATE = define(
  'code-system',
  'work-item-state',
  'Task.businessStatus of a remittance work item (open, fix-available, correction-sent, resolved-paid, upheld…)',
);
export const CS_WORK_ITEM_INPUT = define(
  'code-system',
  'work-item-input',
  'Task.input/output types of a remittance work item (denied-line, recommended-fix, corrected-claim…)',
);
export const ID_WORK_ITEM_CLAIM = define(
  'identifier-system',
  'work-item-claim',
  "Task.identifier: each claim of a work item's chain (the denied claim, then each correction sent for it)",
);
