/**
 * Whether, and until when, the tenant's bill hold keeps an encounter from its claim, as the claim
 * sweep (./sweep.ts) decides it: the one answer every view gives (the encounter in context, the
 * authorization ledger's charges), so a person who finds no claim reads why and until when.
 */
import type { ChargeItem, Claim, Encounter } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone, tenantTimeZone } from '../../config/config.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { billHoldMsOf, holdEndsAt } from './bill-hold.ts';
import { claimGroupOf } from './identity.ts';
import { standingClaims } from './sweep.ts';

/** An encounter held for its claim: when the hold is over, how long the hold is, and the zone to read it in. */
export interface BillHoldStatus {
  /** The instant the claim may be built (its own hold, or a later visit's on the same claim). */
  readonly until: string;
  readonly hours: number;
  /** The tenant's zone (IANA name, or UTC): people read `until` as a local time there. */
  readonly timeZone: string;
}

type HoldConfig = Pick<TenantConfig, 'billHold' | 'timeZone' | 'coding'>;

/** Whether the claim sweep waits to bill this encounter: finished, billable, and no claim stands for it. */
function awaitsClaim(
  encounter: Encounter,
  charges: readonly ChargeItem[],
  claims: readonly (Claim & StoredResource)[],
): boolean {
  return (
    encounter.status === 'finished' &&
    charges.some((charge) => charge.status === 'billable') &&
    !standingClaims(claims).claimed.has(`Encounter/${encounter.id}`)
  );
}

const byEncounter = (id: string) =>
  [{ code: 'encounter', kind: 'reference', values: [`Encounter/${id}`] }] as const;

/**
 * The bill hold of an encounter that awaits its claim, or undefined when nothing holds it (no hold,
 * the hold is over, a claim stands, nothing billable): as the sweep decides, the encounter waits for
 * its own hold and for those of the other visits on its claim (the patient's that day in the
 * setting) that await theirs. `read` passes its charges and claims when the caller has them.
 */
export async function billHoldStatus(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  config: HoldConfig,
  encounter: Encounter & StoredResource,
  now: Date,
  read?: { readonly charges: readonly ChargeItem[]; readonly claims: readonly (Claim & StoredResource)[] },
): Promise<BillHoldStatus | undefined> {
  const holdMs = billHoldMsOf(config);
  if (holdMs === 0) {
    return undefined;
  }
  const [charges, claims] = read
    ? [read.charges, read.claims]
    : await Promise.all([
        searchAll<ChargeItem>(store, tenant, 'ChargeItem', byEncounter(encounter.id)),
        searchAll<Claim>(store, tenant, 'Claim', byEncounter(encounter.id)),
      ]);
  if (!awaitsClaim(encounter, charges, claims)) {
    return undefined;
  }
  const holds = [holdEndsAt(encounter, holdMs)];
  const key = claimGroupOf(encounter, tenantTimeZone(config));
  const patient = encounter.subject?.reference;
  if (key !== undefined && key !== `Encounter/${encounter.id}` && patient) {
    const visits = await searchAll<Encounter>(store, tenant, 'Encounter', [
      { code: 'patient', kind: 'reference', values: [patient] },
      { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
    ]);
    for (const other of visits) {
      if (other.id === encounter.id || claimGroupOf(other, tenantTimeZone(config)) !== key) {
        continue;
      }
      const [theirCharges, theirClaims] = await Promise.all([
        searchAll<ChargeItem>(store, tenant, 'ChargeItem', byEncounter(other.id)),
        searchAll<Claim>(store, tenant, 'Claim', byEncounter(other.id)),
      ]);
      if (awaitsClaim(other, theirCharges, theirClaims)) {
        holds.push(holdEndsAt(other, holdMs));
      }
    }
  }
  const until = Math.max(...holds.filter((at) => at > now.getTime()));
  return Number.isFinite(until)
    ? {
        until: new Date(until).toISOString(),
        hours: holdMs / 3_600_000,
        timeZone: tenantCalendarZone(config),
      }
    : undefined;
}
