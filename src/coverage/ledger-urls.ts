/**
 * Dripline's own names the authorization ledger writes (to move into the contract module,
 * src/contract/, when it lands on main).
 */

/** Work item kinds (Task.code); the same code system the claim workflow's Tasks use. */
export const TASK_CODE_SYSTEM = 'https://dripline.dev/fhir/CodeSystem/task-code';

/** Who the ledger's writes are audited as. */
export const LEDGER_CLIENT = 'dripline/authorization-ledger';
