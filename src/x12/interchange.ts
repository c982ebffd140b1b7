/**
 * The interchange settings of the X12 files Dripline writes: usage and control numbers.
 *
 * - ISA15 usage (P production, T test) is a property of the payer connection (config
 *   `payers[].usage`). It is required for X12-channel payers, so a production clearinghouse never
 *   gets a test file by default, nor a test endpoint a production one; other payers' claims (a
 *   `$x12` rendering of a FHIR-channel claim) default to P; the in-process sandbox payers are T.
 * - ISA13 (9 digits) comes from a durable store sequence per (tenant, sender, receiver): X12
 *   asks for interchange control numbers unique per sender/receiver pair. GS06 comes from one per
 *   (tenant, sender): group control numbers unique per application sender (GS02). Both are
 *   1..999,999,999, wrapping to 1. ST02 numbers the transactions 0001, 0002… within each group
 *   (./837/write837.ts), unique within the group as the implementation guides ask.
 *
 * The sequences are the store's (port SequenceStore): monotonic, never the same number twice for
 * concurrent callers or several processes, and durable across restarts — unlike the time-derived
 * numbers they replace, which repeated every ~11.6 days and collided within a millisecond.
 */
import type { SequenceStore, TenantId } from '../store/port.ts';
import type { IsaParty } from './envelope.ts';

export type InterchangeUsage = 'P' | 'T';

/** The media type of X12 interchanges (RFC 1767), in files Dripline keeps and on the wire. */
export const EDI_X12 = 'application/edi-x12';

/** What ISA15 reads of a configured payer (config `payers[]`): its slug and usage. */
export interface UsagePayer {
  readonly id: string;
  readonly usage?: InterchangeUsage;
}

/** The payers of an export disagree on ISA15: the caller must name one. */
export class UsageAmbiguousError extends Error {}

const MAX_CONTROL = 999_999_999;

/** The n-th number of a sequence (1, 2, …) as an ISA13/GS06 control number, wrapping after 999,999,999. */
export function controlNumberOf(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`sequence value ${n} is not a positive integer`);
  }
  return ((n - 1) % MAX_CONTROL) + 1;
}

function usageOf(payer: UsagePayer): InterchangeUsage {
  return payer.usage ?? 'P';
}

/**
 * ISA15 for an interchange of `payerId`'s claims, or — without a payer — the usage every payer
 * of the tenant shares (P when it has none); UsageAmbiguousError when they differ.
 */
export function interchangeUsage(payers: readonly UsagePayer[], payerId?: string): InterchangeUsage {
  if (payerId !== undefined) {
    const payer = payers.find((p) => p.id === payerId);
    return payer ? usageOf(payer) : 'P';
  }
  const usages = new Set(payers.map(usageOf));
  if (usages.size > 1) {
    throw new UsageAmbiguousError(
      "The tenant's payers differ in interchange usage (ISA15 P/T): name the payer (payer=…) of the export",
    );
  }
  return [...usages][0] ?? 'P';
}

function partyKey(party: IsaParty): string {
  return `${party.qualifier ?? 'ZZ'}:${party.id}`;
}

/** The next ISA13 (per sender and receiver) and GS06 (per sender) of the tenant. */
export async function nextControlNumbers(
  sequences: SequenceStore,
  tenant: TenantId,
  sender: IsaParty,
  receiver: IsaParty,
): Promise<{ isa: number; gs: number }> {
  const isa = await sequences.next(tenant, `x12-isa13|${partyKey(sender)}|${partyKey(receiver)}`);
  const gs = await sequences.next(tenant, `x12-gs06|${partyKey(sender)}`);
  return { isa: controlNumberOf(isa), gs: controlNumberOf(gs) };
}
