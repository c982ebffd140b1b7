/**
 * The authorization ledger as the app shows it, with each charge that no claim bills yet saying why
 * when its visit waits inside the tenant's bill hold (`billHold`: until when, by how many hours, in
 * the tenant's zone), so a biller who finds a use or an infusion without a claim knows it is held,
 * not lost. The hold is the one the encounter view reports (src/claims/workflow/bill-hold-status.ts);
 * the ledger itself (src/coverage, below claims) cannot ask it, so the app adds it here.
 */
import type { Encounter } from '@medplum/fhirtypes';
import type { BillHoldStatus } from '../../claims/workflow/bill-hold-status.ts';
import { billHoldStatus } from '../../claims/workflow/bill-hold-status.ts';
import { billHoldMsOf } from '../../claims/workflow/bill-hold.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { LedgerCharge } from '../../coverage/ledger.ts';
import type { LedgerReport } from '../../coverage/ledger-report.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { readOrUndefined } from './lookup.ts';

type Held<T> = T & { readonly billHold?: BillHoldStatus };

/** The report with `billHold` on each charge without a claim whose visit is held; the encounters read for it. */
export async function withBillHolds(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  config: Pick<TenantConfig, 'billHold' | 'timeZone' | 'coding'>,
  report: LedgerReport,
  now: Date,
): Promise<{ report: LedgerReport; read: readonly string[] }> {
  const unclaimed = [
    ...report.withoutAuthorization,
    ...report.authorizations.flatMap((a) => a.services.flatMap((s) => s.uses)),
  ].filter((charge) => charge.claim === undefined && charge.encounter?.startsWith('Encounter/'));
  const encounters = [...new Set(unclaimed.map((c) => c.encounter ?? ''))];
  if (billHoldMsOf(config) === 0 || encounters.length === 0) {
    return { report, read: [] };
  }
  const holds = new Map<string, BillHoldStatus>();
  const read: string[] = [];
  for (const reference of encounters) {
    const encounter = await readOrUndefined<Encounter>(store, tenant, 'Encounter', reference.slice(10));
    if (!encounter) {
      continue;
    }
    read.push(reference);
    const hold = await billHoldStatus(store, tenant, config, encounter, now);
    if (hold) {
      holds.set(reference, hold);
    }
  }
  const held = <T extends LedgerCharge>(charge: T): Held<T> => {
    const hold = charge.claim === undefined ? holds.get(charge.encounter ?? '') : undefined;
    return hold ? { ...charge, billHold: hold } : charge;
  };
  return {
    report: {
      ...report,
      authorizations: report.authorizations.map((entry) => ({
        ...entry,
        services: entry.services.map((service) => ({ ...service, uses: service.uses.map(held) })),
      })),
      withoutAuthorization: report.withoutAuthorization.map(held),
    },
    read,
  };
}
