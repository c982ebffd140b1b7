/**
 * The bill hold ("charge lag"): how long after an encounter ends its claim waits before it is
 * built. Billing offices hold charges a few days after the date of service so that late
 * documentation, late orders and pharmacy waste records land on the first claim rather than on a
 * corrected or voided one after the payer has adjudicated it.
 *
 * The hold is elapsed time from the encounter's end (`period.end`), not calendar days: a visit that
 * ends at 23:50 with a 24 h hold is released at 23:50 the next day (23:50 or 00:50 local across a
 * DST change: 24 h is 24 h). Pure; the sweep (./sweep.ts) and the encounter view read it.
 */
import type { Encounter } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { tenantBillHoldMs } from '../../config/config.ts';

/**
 * The hold a tenant's encounters wait (ms): the tenant's `billHold` when it sets one — it wins —
 * else the worker's `holdMs` (a tuning knob of tests and the sandbox day), else 0.
 */
export function billHoldMsOf(tenant: Pick<TenantConfig, 'billHold'>, workerHoldMs?: number): number {
  return tenantBillHoldMs(tenant) ?? workerHoldMs ?? 0;
}

/**
 * When an encounter's hold is over (epoch ms): its end, or its last update when the EHR wrote no
 * end, plus the hold; NaN when neither is a date.
 */
export function holdEndsAt(
  encounter: Pick<Encounter, 'period'> & { meta?: { lastUpdated?: string } },
  holdMs: number,
): number {
  return Date.parse(encounter.period?.end ?? encounter.meta?.lastUpdated ?? '') + holdMs;
}
