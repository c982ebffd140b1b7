/**
 * What in a patient's authorization ledger needs a person, before a claim is denied for it (CARC 198
 * authorization exceeded, 197/15 none on file: ../shared/research/market.md §2). Pure: the ledger,
 * today and the patient's scheduled visits in; alerts out (./ledger-tasks.ts makes them Tasks).
 *
 * - `authorization-running-out`: a service of an authorization in force whose remaining units or
 *   visits will not cover the patient's next N scheduled visits in its period (N = the tenant's
 *   `authorizations.visitsAhead`), or that was already used beyond what it authorizes. A visit uses
 *   one visit of a visits service; of a units service, the most units one visit has used under it so
 *   far (no visit yet: nothing is predicted, only an authorization already used up is reported).
 *   Scheduled visits are the patient's Encounters the EHR sent as `planned` or `arrived` that start
 *   today or later in the tenant's zone (Dripline stores no Appointments; an order's remaining
 *   repeats have no dates, and a standing order overstates what is booked).
 * - `authorization-expiring`: an authorization in force whose last day is within the tenant's
 *   `authorizations.expiringDays` (14 by default), with what is left and what is booked after it.
 * - `authorization-missing`: an infusion given (a billable charge) of a code the payer requires
 *   authorization for, on a date no authorization on file covers; one alert per code.
 */
import type { LedgerTaskKind } from '../contract/authorization.ts';
import { addDays } from '../time/zone.ts';
import type { AuthorizationLedger, LedgerCharge, LedgerEntry, LedgerService } from './ledger.ts';

export type LedgerAlertKind = LedgerTaskKind;

/** A visit the EHR has booked for the patient. */
export interface ScheduledVisit {
  /** "Encounter/{id}". */
  readonly encounter: string;
  /** Its date in the tenant's zone (YYYY-MM-DD). */
  readonly date: string;
}

/** Whether a code needs authorization for a payer on a date: the rule's source when it does. */
export type AuthorizationRequirement = (input: {
  readonly code: string;
  readonly date: string;
  readonly payerId?: string;
}) => string | undefined;

export interface AlertOptions {
  readonly patient: string;
  readonly scheduled: readonly ScheduledVisit[];
  /** How many scheduled visits ahead an authorization must cover (N). */
  readonly visitsAhead: number;
  /** How many days before its last day an authorization is reported expiring. */
  readonly expiringDays: number;
  readonly requirement: AuthorizationRequirement;
}

export interface LedgerAlert {
  readonly kind: LedgerAlertKind;
  /** Stable identity (patient, kind, number, code): one work item per key. */
  readonly key: string;
  readonly patient: string;
  /** What it is about: "ClaimResponse/{id}" (an authorization) or "ChargeItem/{id}" (the first charge without one). */
  readonly focus: string;
  readonly number?: string;
  readonly code?: string;
  /** One paragraph a person can act on: the number, code, units, dates. */
  readonly text: string;
  /** The figures behind the text (name → value), for the work item's inputs. */
  readonly figures: Readonly<Record<string, string | number>>;
}

const inForce = (entry: LedgerEntry): boolean => entry.status === 'active' || entry.status === 'used-up';
const measureOf = (service: LedgerService): string => (service.measure === 'visits' ? 'visit(s)' : 'unit(s)');

/** The most a single visit (encounter) has used of a service so far, or undefined before the first. */
function perVisit(service: LedgerService): number | undefined {
  if (service.measure === 'visits') {
    return 1;
  }
  const byEncounter = new Map<string, number>();
  for (const use of service.uses) {
    const key = use.encounter ?? use.chargeItem;
    byEncounter.set(key, (byEncounter.get(key) ?? 0) + use.used);
  }
  const most = Math.max(0, ...byEncounter.values());
  return most > 0 ? most : undefined;
}

function upcoming(
  scheduled: readonly ScheduledVisit[],
  today: string,
  range: { start?: string; end?: string },
): ScheduledVisit[] {
  return [...scheduled]
    .filter(
      (v) =>
        v.date >= today && (!range.start || v.date >= range.start) && (!range.end || v.date <= range.end),
    )
    .sort((a, b) => a.date.localeCompare(b.date) || a.encounter.localeCompare(b.encounter));
}

const period = (x: { start?: string; end?: string }): string => `${x.start ?? '…'} to ${x.end ?? '…'}`;

function runningOut(
  ledger: AuthorizationLedger,
  entry: LedgerEntry,
  service: LedgerService,
  options: AlertOptions,
): LedgerAlert | undefined {
  if (service.authorized === undefined) {
    return undefined;
  }
  const next = upcoming(options.scheduled, ledger.today, service).slice(0, options.visitsAhead);
  const remaining = service.remaining ?? 0;
  const each = perVisit(service);
  const head = `Authorization ${entry.number} (${entry.source}) for ${service.code}, ${period(service)}: ${service.used} of ${service.authorized} ${measureOf(service)} used`;
  const booked =
    next.length > 0
      ? `${next.length} visit(s) booked next (${next.map((v) => v.date).join(', ')})`
      : 'no visit booked';
  let text: string | undefined;
  if (service.beyond > 0) {
    text = `${head}, ${service.beyond} beyond what it authorizes; the claims that carry them are held. ${booked}. Ask the payer for more ${measureOf(service)} or a new authorization.`;
  } else if (next.length > 0 && remaining <= 0) {
    text = `${head}: none left, ${booked}. Ask the payer for more ${measureOf(service)} before the visit of ${next[0]?.date ?? ''}.`;
  } else if (next.length > 0 && each !== undefined && remaining < each * next.length) {
    const runsOutAt = next[Math.floor(remaining / each)];
    text = `${head}: ${remaining} left, about ${each} per visit; ${booked}. It runs out at the visit of ${runsOutAt?.date ?? ''}: ask the payer for more ${measureOf(service)}.`;
  }
  if (!text) {
    return undefined;
  }
  return {
    kind: 'authorization-running-out',
    key: `${options.patient}|authorization-running-out|${entry.number}|${service.code}`,
    patient: options.patient,
    focus: entry.source,
    number: entry.number,
    code: service.code,
    text,
    figures: {
      authorized: service.authorized,
      used: service.used,
      remaining,
      beyond: service.beyond,
      measure: service.measure,
      ...(each !== undefined ? { perVisit: each } : {}),
      visitsBooked: next.length,
      ...(next[0] ? { nextVisit: next[0].date } : {}),
    },
  };
}

function expiring(entry: LedgerEntry, options: AlertOptions): LedgerAlert | undefined {
  if (
    entry.daysLeft === undefined ||
    entry.daysLeft < 0 ||
    entry.daysLeft > options.expiringDays ||
    !entry.end
  ) {
    return undefined;
  }
  const left = entry.services
    .filter((s) => s.remaining !== undefined)
    .map((s) => `${s.code} ${s.remaining ?? 0} ${measureOf(s)} left`);
  const after = upcoming(options.scheduled, addDays(entry.end, 1), {});
  const when = entry.daysLeft === 0 ? 'today' : `in ${entry.daysLeft} day(s)`;
  return {
    kind: 'authorization-expiring',
    key: `${options.patient}|authorization-expiring|${entry.number}`,
    patient: options.patient,
    focus: entry.source,
    number: entry.number,
    text: `Authorization ${entry.number} (${entry.source}) ends on ${entry.end}, ${when}${left.length > 0 ? ` (${left.join('; ')})` : ''}; ${after.length > 0 ? `${after.length} visit(s) booked after it (${after.map((v) => v.date).join(', ')})` : 'no visit booked after it'}. Ask the payer to extend it or for a new one if treatment continues.`,
    figures: {
      end: entry.end,
      daysLeft: entry.daysLeft,
      visitsBookedAfter: after.length,
    },
  };
}

function missing(ledger: AuthorizationLedger, options: AlertOptions): LedgerAlert[] {
  const byCode = new Map<string, { charges: LedgerCharge[]; rule: string }>();
  for (const charge of ledger.uncovered) {
    const rule = options.requirement({
      code: charge.code,
      date: charge.date,
      ...(charge.payerId ? { payerId: charge.payerId } : {}),
    });
    if (rule) {
      const group = byCode.get(charge.code) ?? { charges: [], rule };
      group.charges.push(charge);
      byCode.set(charge.code, group);
    }
  }
  return [...byCode].map(([code, { charges, rule }]) => {
    const dates = [...new Set(charges.map((c) => c.date))];
    const units = charges.reduce((sum, c) => sum + c.units, 0);
    const payers = [...new Set(charges.map((c) => c.payerId ?? 'the payer'))].join(', ');
    const first = charges[0];
    return {
      kind: 'authorization-missing' as const,
      key: `${options.patient}|authorization-missing|${code}`,
      patient: options.patient,
      focus: first?.chargeItem ?? options.patient,
      code,
      text: `${code} was given on ${dates.join(', ')} (${units} unit(s)) with no authorization on file covering it for ${payers} (${rule}). Get the authorization (a retro-authorization if the payer grants them) and record it; the claim waits for its number.`,
      figures: { dates: dates.join(', '), units, administrations: charges.length, rule },
    };
  });
}

/** Everything in a patient's ledger that needs a person now. */
export function ledgerAlerts(ledger: AuthorizationLedger, options: AlertOptions): LedgerAlert[] {
  const alerts: LedgerAlert[] = [];
  for (const entry of ledger.entries.filter(inForce)) {
    for (const service of entry.services) {
      const alert = runningOut(ledger, entry, service, options);
      if (alert) {
        alerts.push(alert);
      }
    }
    const soon = expiring(entry, options);
    if (soon) {
      alerts.push(soon);
    }
  }
  alerts.push(...missing(ledger, options));
  return alerts;
}
