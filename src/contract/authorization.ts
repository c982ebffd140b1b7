/**
 * The authorization ledger's part of the FHIR contract (src/coverage/ledger*.ts). It defines no
 * canonical URL of its own: authorization numbers, periods and authorized quantities are read from
 * Da Vinci PAS's and HL7's extensions, and its work items are Tasks coded in the shared work-item
 * code system CS_TASK_CODE (./canonical.ts) with the codes below.
 */

/** Task.code values (system CS_TASK_CODE) of the ledger's work items, one Task per alert. */
export const LEDGER_TASK_KINDS = [
  /** The units or visits left run out within the next booked visits. */
  'authorization-running-out',
  /** The authorization ends within the tenant's expiring window (14 days by default). */
  'authorization-expiring',
  /** An infusion of a code the payer requires authorization for was given on a date none covers. */
  'authorization-missing',
] as const;

export type LedgerTaskKind = (typeof LEDGER_TASK_KINDS)[number];
