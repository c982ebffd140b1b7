/**
 * The sandbox centre's contracts with the sandbox payers and its work queues, as its billing office
 * would have them configured (`tenants[].contracts`, `tenants[].workQueues`): one contract per
 * seeded payer pricing the administration and access codes at the rates the payers agreed
 * (./payer/tables.ts CONTRACTED_ADMINISTRATION_RATES; drugs are not priced by it). The payers' claim
 * systems pay two of those codes at last year's rate, so the day's remittances find underpayments.
 * The file is written into the data directory, beside the sandbox parties' state.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PayerEndpoint } from '../config/billing.ts';
import type { TenantConfig } from '../config/config.ts';
import { CONTRACTED_ADMINISTRATION_RATES } from './payer/tables.ts';

/** Who works each queue at the sandbox centre (the rest: the billing office). */
export const SANDBOX_WORK_QUEUES: NonNullable<TenantConfig['workQueues']> = {
  assignees: {
    default: 'billing-office',
    authorization: 'authorization-team',
    eligibility: 'front-desk',
    underpayment: 'contracts-team',
  },
};

/** Writes the contracts file for these payers into `dir` and returns the tenant's `contracts`. */
export function writeSandboxContracts(
  dir: string,
  payers: readonly Pick<PayerEndpoint, 'id' | 'name'>[],
): NonNullable<TenantConfig['contracts']> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'contracts.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        title: 'Sandbox infusion centre: payer contracts',
        notes:
          'SANDBOX: made-up agreements. Administration and access codes at the contracted rates; drugs are not priced here.',
        contracts: payers.map((p) => ({
          id: `${p.id}-agreement`,
          payer: p.id,
          name: `${p.name} agreement`,
          effective: '2020-01-01',
          source: `SANDBOX: ${p.name} provider agreement, exhibit A (administration fee schedule)`,
          terms: [
            {
              id: 'administration',
              kind: 'fee-schedule',
              note: 'administration fee schedule (exhibit A)',
              rates: CONTRACTED_ADMINISTRATION_RATES,
            },
          ],
        })),
      },
      null,
      2,
    )}\n`,
  );
  return { file, underpaymentTolerance: { amount: 1, percent: 1 } };
}
