/**
 * The sandbox's X12 claims payer, wired to a running Dripline: registered as a SMART Backend
 * Services client of the sandbox tenant (its own key, scopes for the X12 batches and the 835
 * intake), it serves the tenant's X12-channel payers as their clearinghouse
 * (./payer/x12/clearinghouse.ts), a round every second. What it adds to plain answers, so a day's
 * remittances look like a real payer's: on its first remittance, interest (PLB L6) and the first
 * claim it paid reworked (its reversal, then the corrected payment under a new claim number).
 */
import { registerBackendClient } from '../auth/client-registration.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import type { TenantConfig } from '../config/config.ts';
import type { RunningServer } from '../server.ts';
import { X12Adjudicator } from './payer/x12/adjudicator.ts';
import { SandboxClearinghouse } from './payer/x12/clearinghouse.ts';
import { buildPayerTables } from './payer/tables.ts';

/** What the clearinghouse needs to read a batch and send an 835 (src/auth/disclosure.ts OPERATION_NEEDS). */
const SCOPE = [
  'system/Claim.rus',
  'system/DocumentReference.cr',
  'system/ExplanationOfBenefit.c',
  'system/PaymentReconciliation.c',
  ...[
    'Patient',
    'Coverage',
    'Organization',
    'Practitioner',
    'RelatedPerson',
    'Encounter',
    'Condition',
    'ChargeItem',
    'MedicationAdministration',
    'Medication',
    'MedicationRequest',
    'Location',
    'ServiceRequest',
  ].map((t) => `system/${t}.r`),
].join(' ');

export interface SandboxX12Payer {
  readonly clearinghouse: SandboxClearinghouse;
  stop(): Promise<void>;
}

export async function startSandboxX12Payer(input: {
  readonly server: RunningServer;
  readonly publicUrl: string;
  readonly tenant: TenantConfig;
  readonly now: () => Date;
  readonly timeZone: string;
  /** The payer's processing time before its 835, ms. */
  readonly delayMs: number;
  readonly roundMs?: number;
  readonly log?: (obj: object, msg: string) => void;
}): Promise<SandboxX12Payer | undefined> {
  const payers = input.tenant.payers.filter((p: PayerEndpoint) => p.channel === 'x12');
  if (payers.length === 0 || !input.tenant.billing) {
    return undefined;
  }
  const client = await registerBackendClient(input.server.store.auth, {
    tenant: input.tenant.id,
    name: 'Sandbox X12 payer (clearinghouse)',
    scope: SCOPE,
    now: input.now(),
    publicUrl: input.publicUrl,
  });
  let remittances = 0;
  const clearinghouse = new SandboxClearinghouse({
    driplineUrl: input.publicUrl,
    client,
    payers: payers.map((p) => ({ slug: p.id, payerId: p.payerId, name: p.name })),
    adjudicator: new X12Adjudicator({
      tables: buildPayerTables(),
      payerIds: Object.fromEntries(payers.map((p) => [p.payerId, p.kind])),
      claimNumberPrefix: 'SBXR',
    }),
    payee: { name: input.tenant.billing.name, npi: input.tenant.billing.npi },
    now: input.now,
    timeZone: input.timeZone,
    delayMs: input.delayMs,
    extras: (payments) => {
      remittances += 1;
      if (remittances !== 1) {
        return {};
      }
      const firstPaid = payments.find((p) => p.status === '1' && p.paid > 0)?.payerClaimNumber;
      return {
        ...(firstPaid ? { reprocess: [firstPaid] } : {}),
        providerAdjustments: [{ reason: 'L6', amount: -1.25, reference: firstPaid ?? 'INTEREST' }],
      };
    },
    ...(input.log ? { log: input.log } : {}),
  });
  clearinghouse.start(input.roundMs ?? 1000);
  return {
    clearinghouse,
    stop: () => clearinghouse.stop(),
  };
}
