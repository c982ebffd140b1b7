/**
 * Canonical URLs the remittance work queues define (kept in this one module until the project's
 * contract module, src/contract/, gathers them). Work items are Tasks coded with the work-item code
 * system charges already uses (src/charges/reconcile.ts TASK_CODE_SYSTEM).
 */

/** Task.code: the queue a work item is in (a denial category, or `underpayment`). */
export const WORK_QUEUE_SYSTEM = 'https://dripline.dev/fhir/CodeSystem/work-queue';
/** Task.businessStatus: where a work item is (open, fix-available, correction-sent, resolved…). */
export const WORK_ITEM_STATE_SYSTEM = 'https://dripline.dev/fhir/CodeSystem/work-item-state';
/** Task.input / Task.output types of a work item (denied-line, recommended-fix, corrected-claim…). */
export const WORK_ITEM_INPUT_SYSTEM = 'https://dripline.dev/fhir/CodeSystem/work-item-input';
/** Task.identifier: each claim of a work item's chain (the denied claim and its corrections). */
export const WORK_ITEM_CLAIM_SYSTEM = 'https://dripline.dev/fhir/sid/work-item-claim';
/** The fields of a work item input (a line's codes and amounts, a fix's rule and action), as sub-extensions. */
export const EXT_WORK_ITEM_DETAIL = 'https://dripline.dev/fhir/StructureDefinition/work-item-detail';
/** Who acted on a work item (AuditEvent subtype code system, like the claims' operations). */
export const OPERATION_SYSTEM = 'https://dripline.dev/fhir/CodeSystem/operation';
