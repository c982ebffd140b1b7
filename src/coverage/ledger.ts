/**
 * The authorization ledger: per patient, payer and authorization, what was authorized (codes, units
 * or visits, the period), what was used — every billable ChargeItem of the patient as charge capture
 * writes it, whether its claim is not built yet, held, sent or adjudicated — what remains, and when
 * it expires. One pure function, read by everything that asks: the claim builder (which numbers a
 * claim carries), the claim scrubber (which lines go beyond an authorization), the API and CLI view,
 * and the work items (./ledger-alerts.ts). The store reads are ./ledger-store.ts's.
 *
 * How charges are counted against authorizations (the allocation):
 * - in date-of-service order (then encounter, then charge id), so what goes beyond an authorization
 *   is the latest use, whatever order claims are built or rebuilt in;
 * - a charge can use a service of an authorization when the code is the service's (an authorization
 *   that lists no services covers every code), its date of service is inside the service's period
 *   (nothing outside the period counts against it) and the payer is the authorization's (the payer
 *   of the claim that bills the charge, else the patient's primary payer; an authorization that
 *   names no payer is any payer's);
 * - of those, the first by: a number the charge's claim already sent to the payer carries (the payer
 *   counts it there), a service that names the code before an authorization that names none, room
 *   for the whole charge, the earliest last day, the earliest first day, the number;
 * - a service authorized in visits counts each encounter once; one in units counts the charge's units.
 *
 * Sources: Da Vinci PAS 2.2.1 (../shared/research/pas.md §1.5, §2: numbers, periods, authorized
 * quantities); CARC 198 "authorization exceeded" and 197/15 (../shared/research/market.md §2) are what
 * a claim beyond or without an authorization gets from the payer.
 */
import type { ChargeItem, Claim, Reference } from '@medplum/fhirtypes';
import { isBeingReplaced } from '../charges/claim-hold.ts';
import { EXT_CLAIM_FREQUENCY, EXT_CLAIM_STATE } from '../contract/canonical.ts';
import { daysBetween } from '../time/zone.ts';
import type { Authorization, AuthorizedService } from './authorizations.ts';
import { withinDates } from './authorizations.ts';

/** Where the claim that bills a charge is: none yet, built (held or ready), sent, or adjudicated. */
export type BillingStatus = 'unbilled' | 'on-claim' | 'sent' | 'adjudicated';

export interface LedgerInputs {
  readonly authorizations: readonly Authorization[];
  /** The patient's ChargeItems; only billable ones count. */
  readonly charges: readonly ChargeItem[];
  /** The patient's claims: which one bills a charge, what it carries, where it is. Others than billing claims are ignored. */
  readonly claims: readonly Claim[];
  /** The payer (payer id) of charges no claim bills yet: the patient's primary payer, when known. */
  readonly defaultPayerId?: string;
  /** Today in the tenant's zone (YYYY-MM-DD). */
  readonly today: string;
}

/** One billable charge as the ledger sees it. */
export interface LedgerCharge {
  /** "ChargeItem/{id}". */
  readonly chargeItem: string;
  readonly encounter?: string;
  readonly code: string;
  /** Date of service (YYYY-MM-DD). */
  readonly date: string;
  readonly units: number;
  /** The payer it is billed (or will be billed) to, when known. */
  readonly payerId?: string;
  /** "Claim/{id}" that bills it, when one stands. */
  readonly claim?: string;
  readonly claimState?: string;
  readonly billing: BillingStatus;
}

/** A charge counted against a service. */
export interface LedgerUse extends LedgerCharge {
  /** What it used: its units, or on a visits service 1 for an encounter's first charge (0 after). */
  readonly used: number;
  /** How much of `used` is beyond what was authorized (0: within). */
  readonly beyond: number;
}

export interface LedgerService {
  readonly code: string;
  readonly measure: 'units' | 'visits';
  /** Units or visits authorized; absent = not limited. */
  readonly authorized?: number;
  readonly start?: string;
  readonly end?: string;
  readonly used: number;
  /** What is left (never below 0); absent when not limited. */
  readonly remaining?: number;
  /** Used beyond what was authorized. */
  readonly beyond: number;
  readonly uses: readonly LedgerUse[];
}

export type LedgerStatus = 'active' | 'not-started' | 'expired' | 'used-up';

export interface LedgerEntry {
  readonly number: string;
  /** "ClaimResponse/{id}". */
  readonly source: string;
  readonly payerId?: string;
  readonly patient?: string;
  readonly start?: string;
  readonly end?: string;
  readonly status: LedgerStatus;
  /** Calendar days from today to its last day (0: expires today; negative: expired), when it has one. */
  readonly daysLeft?: number;
  /** It lists no services: it covers any service in its dates (its services are what was used). */
  readonly anyService: boolean;
  readonly services: readonly LedgerService[];
}

/** Where one charge was counted. */
export interface Allocation {
  readonly entry: LedgerEntry;
  readonly service: LedgerService;
  readonly use: LedgerUse;
}

export interface AuthorizationLedger {
  readonly today: string;
  readonly entries: readonly LedgerEntry[];
  /** Billable charges no authorization covers (code, date or payer), in date order. */
  readonly uncovered: readonly LedgerCharge[];
  /** "ChargeItem/{id}" → where it was counted. */
  readonly allocations: ReadonlyMap<string, Allocation>;
}

const CLAIM_SENT = new Set(['submitting', 'submitted', 'accepted']);

const refOf = (reference: Reference | undefined): string | undefined => reference?.reference;

/** The billing claim that stands for each encounter (not void, not cancelled, not replaced by another). */
function claimsByEncounter(claims: readonly Claim[]): Map<string, Claim> {
  const out = new Map<string, Claim>();
  const standing = claims.filter(
    (c) =>
      c.use === 'claim' &&
      c.status !== 'entered-in-error' &&
      c.status !== 'cancelled' &&
      c.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode !== '8',
  );
  // A claim being replaced by a corrected one gives way to it once the replacement exists.
  const ordered = [...standing].sort((a, b) => Number(isBeingReplaced(a)) - Number(isBeingReplaced(b)));
  for (const claim of ordered) {
    for (const item of claim.item ?? []) {
      for (const encounter of item.encounter ?? []) {
        const ref = refOf(encounter);
        if (ref && !out.has(ref)) {
          out.set(ref, claim);
        }
      }
    }
  }
  return out;
}

function billingOf(state: string | undefined): BillingStatus {
  if (state === 'adjudicated') {
    return 'adjudicated';
  }
  return state !== undefined && CLAIM_SENT.has(state) ? 'sent' : 'on-claim';
}

/** The billable charges of the inputs as the ledger counts them, in date-of-service order. */
export function ledgerCharges(
  inputs: Pick<LedgerInputs, 'charges' | 'claims' | 'defaultPayerId'>,
): LedgerCharge[] {
  const claimOf = claimsByEncounter(inputs.claims);
  const out: LedgerCharge[] = [];
  for (const charge of inputs.charges) {
    const code = charge.code.coding?.find((c) => c.code)?.code?.toUpperCase();
    const date = (charge.occurrenceDateTime ?? charge.occurrencePeriod?.start ?? '').slice(0, 10);
    if (charge.status !== 'billable' || !charge.id || !code || date === '') {
      continue;
    }
    const encounter = refOf(charge.context);
    const claim = encounter ? claimOf.get(encounter) : undefined;
    const claimState = claim?.extension?.find((e) => e.url === EXT_CLAIM_STATE)?.valueCode;
    const payerId = claim?.insurer?.identifier?.value ?? inputs.defaultPayerId;
    out.push({
      chargeItem: `ChargeItem/${charge.id}`,
      ...(encounter ? { encounter } : {}),
      code,
      date,
      units: charge.quantity?.value ?? 0,
      ...(payerId ? { payerId } : {}),
      ...(claim?.id ? { claim: `Claim/${claim.id}` } : {}),
      ...(claimState ? { claimState } : {}),
      billing: claim ? billingOf(claimState) : 'unbilled',
    });
  }
  return out.sort(
    (a, b) =>
      a.date.localeCompare(b.date) ||
      (a.encounter ?? '').localeCompare(b.encounter ?? '') ||
      a.chargeItem.localeCompare(b.chargeItem),
  );
}

/** A service being counted: an authorized service, or one code used under an authorization that lists none. */
interface Slot {
  readonly auth: Authorization;
  readonly declared: boolean;
  readonly code: string;
  readonly measure: 'units' | 'visits';
  readonly authorized?: number;
  readonly start?: string;
  readonly end?: string;
  used: number;
  readonly encounters: Set<string>;
  readonly uses: LedgerUse[];
}

function slotOf(auth: Authorization, service: AuthorizedService | undefined, code: string): Slot {
  const authorized = service?.visits ?? service?.units;
  const start = service?.start ?? auth.start;
  const end = service?.end ?? auth.end;
  return {
    auth,
    declared: service !== undefined,
    code,
    measure: service?.visits !== undefined ? 'visits' : 'units',
    ...(authorized !== undefined ? { authorized } : {}),
    ...(start ? { start } : {}),
    ...(end ? { end } : {}),
    used: 0,
    encounters: new Set(),
    uses: [],
  };
}

const payerMatches = (auth: Authorization, payerId: string | undefined): boolean =>
  auth.payerId === undefined || payerId === undefined || auth.payerId === payerId;

function consumption(slot: Slot, charge: LedgerCharge): number {
  if (slot.measure === 'units') {
    return charge.units;
  }
  return charge.encounter !== undefined && slot.encounters.has(charge.encounter) ? 0 : 1;
}

/** The ledger of one patient's authorizations (see the module comment for how charges are counted). */
export function authorizationLedger(inputs: LedgerInputs): AuthorizationLedger {
  const slots: Slot[] = inputs.authorizations.flatMap((auth) =>
    auth.services.map((service) => slotOf(auth, service, service.code.toUpperCase())),
  );
  const open = inputs.authorizations.filter((auth) => auth.services.length === 0);
  const sentNumbers = new Map<string, ReadonlySet<string>>();
  for (const claim of inputs.claims) {
    const refs = (claim.insurance ?? []).find((i) => i.focal)?.preAuthRef ?? [];
    sentNumbers.set(`Claim/${claim.id ?? ''}`, new Set(refs.map((r) => r.trim())));
  }
  const uncovered: LedgerCharge[] = [];
  const placed = new Map<string, { slot: Slot; use: LedgerUse }>();
  for (const charge of ledgerCharges(inputs)) {
    // An authorization of any service counts each code it is used for on a line of its own (made
    // when first used).
    const fresh = open
      .filter((auth) => !slots.some((s) => s.auth === auth && s.code === charge.code))
      .map((auth) => slotOf(auth, undefined, charge.code));
    const candidates = [...slots, ...fresh].filter(
      (s) => s.code === charge.code && withinDates(charge.date, s) && payerMatches(s.auth, charge.payerId),
    );
    if (candidates.length === 0) {
      uncovered.push(charge);
      continue;
    }
    const carried =
      charge.claim && (charge.billing === 'sent' || charge.billing === 'adjudicated')
        ? (sentNumbers.get(charge.claim) ?? new Set<string>())
        : new Set<string>();
    const rank = (s: Slot): (number | string)[] => [
      carried.has(s.auth.number) ? 0 : 1,
      s.declared ? 0 : 1,
      s.authorized === undefined || s.used + consumption(s, charge) <= s.authorized ? 0 : 1,
      s.end ?? '9999-12-31',
      s.start ?? '0000-01-01',
      s.auth.number,
    ];
    const [slot] = [...candidates].sort((a, b) => compareRanks(rank(a), rank(b)));
    if (!slot) {
      continue;
    }
    if (fresh.includes(slot)) {
      slots.push(slot);
    }
    const used = consumption(slot, charge);
    slot.used += used;
    if (charge.encounter) {
      slot.encounters.add(charge.encounter);
    }
    const over = slot.authorized === undefined ? 0 : Math.max(0, Math.min(used, slot.used - slot.authorized));
    const use: LedgerUse = { ...charge, used, beyond: over };
    slot.uses.push(use);
    placed.set(charge.chargeItem, { slot, use });
  }
  const entries: LedgerEntry[] = [];
  const entryOf = new Map<Slot, LedgerEntry>();
  const serviceOf = new Map<Slot, LedgerService>();
  for (const auth of inputs.authorizations) {
    const own = slots.filter((s) => s.auth === auth);
    const services = own.map((slot) => {
      const service: LedgerService = {
        code: slot.code,
        measure: slot.measure,
        ...(slot.authorized !== undefined ? { authorized: slot.authorized } : {}),
        ...(slot.start ? { start: slot.start } : {}),
        ...(slot.end ? { end: slot.end } : {}),
        used: slot.used,
        ...(slot.authorized !== undefined ? { remaining: Math.max(0, slot.authorized - slot.used) } : {}),
        beyond: slot.authorized !== undefined ? Math.max(0, slot.used - slot.authorized) : 0,
        uses: slot.uses,
      };
      serviceOf.set(slot, service);
      return service;
    });
    const entry: LedgerEntry = {
      number: auth.number,
      source: auth.source,
      ...(auth.payerId ? { payerId: auth.payerId } : {}),
      ...(auth.patient ? { patient: auth.patient } : {}),
      ...(auth.start ? { start: auth.start } : {}),
      ...(auth.end ? { end: auth.end } : {}),
      status: statusOf(auth, services, inputs.today),
      ...(auth.end ? { daysLeft: daysBetween(inputs.today, auth.end) } : {}),
      anyService: auth.services.length === 0,
      services,
    };
    entries.push(entry);
    for (const slot of own) {
      entryOf.set(slot, entry);
    }
  }
  const allocations = new Map<string, Allocation>();
  for (const [chargeItem, { slot, use }] of placed) {
    const entry = entryOf.get(slot);
    const service = serviceOf.get(slot);
    if (entry && service) {
      allocations.set(chargeItem, { entry, service, use });
    }
  }
  return { today: inputs.today, entries, uncovered, allocations };
}

function compareRanks(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) {
      continue;
    }
    if (typeof x === 'number' && typeof y === 'number') {
      return x - y;
    }
    return String(x).localeCompare(String(y));
  }
  return 0;
}

function statusOf(auth: Authorization, services: readonly LedgerService[], today: string): LedgerStatus {
  if (auth.end && today > auth.end) {
    return 'expired';
  }
  if (auth.start && today < auth.start) {
    return 'not-started';
  }
  const limited = services.length > 0 && services.every((s) => s.remaining !== undefined);
  return limited && auth.services.length > 0 && services.every((s) => (s.remaining ?? 0) <= 0)
    ? 'used-up'
    : 'active';
}

/** The authorization numbers the charges were counted under (what their claim carries), sorted. */
export function numbersFor(ledger: AuthorizationLedger, chargeItems: readonly string[]): string[] {
  const numbers = new Set<string>();
  for (const ref of chargeItems) {
    const allocation = ledger.allocations.get(ref);
    if (allocation) {
      numbers.add(allocation.entry.number);
    }
  }
  return [...numbers].sort();
}
