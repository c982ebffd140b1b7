/**
 * The authorization ledger (src/coverage/ledger-report.ts) with each charge that no claim bills yet
 * saying why when its visit waits inside the tenant's bill hold (`billHold`: until when, by how
 * many hours, in the tenant's zone), so a person who finds a use or an infusion without a claim
 * knows it is held, not lost. The hold is the one the encounter view reports (./bill-hold-status.ts,
 * the sweep's rule). The ledger sits in src/coverage, below claims (the scrubber reads it), so it
 * cannot ask this itself: every view of it adds it from here — the app's patient page, the bearer
 * API `GET /api/coverage/authorizations` (handed in by the server: CoverageRoutesDeps.billHolds)
 * and the CLI's `authorizations`.
 */
import type { Encounter } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import type { LedgerCharge } from '../../coverage/ledger.ts';
import type { LedgerReport } from '../../coverage/ledger-report.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import type { BillHoldStatus } from './bill-hold-status.ts';
import { billHoldStatus } from './bill-hold-status.ts';
import { billHoldMsOf } from './bill-hold.ts';

/** A charge's `Encounter/{id}` whose id a read can take (the ledger's references are the charges' own). */
const ENCOUNTER_RE = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/;

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
  ].filter((charge) => charge.claim === undefined && ENCOUNTER_RE.test(charge.encounter ?? ''));
  const encounters = [...new Set(unclaimed.map((c) => c.encounter ?? ''))];
  if (billHoldMsOf(config) === 0 || encounters.length === 0) {
    return { report, read: [] };
  }
  const holds = new Map<string, BillHoldStatus>();
  const read: string[] = [];
  for (const reference of encounters) {
    const id = ENCOUNTER_RE.exec(reference)?.[1] ?? '';
    const encounter = await readOptional<Encounter>(store, tenant, 'Encounter', id);
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
