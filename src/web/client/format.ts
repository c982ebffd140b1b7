/** How amounts, dates and states read in the app. */
import type { BillHoldView } from '../view-types.ts';

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

export const dollars = (value: number): string => money.format(value);

export function dateTime(iso: string | undefined): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * An instant as a local time in `timeZone` (the tenant's, not the browser's: a biller working from
 * another zone reads the clinic's time), with the zone's abbreviation: "Dec 8, 2026, 9:30 AM EST".
 */
export function zonedDateTime(iso: string, timeZone: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString('en-US', {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZone,
        timeZoneName: 'short',
      });
}

/** A bill hold in words (the encounter view and the ledger say it alike). */
export const heldWords = (hold: BillHoldView): string =>
  `held until ${zonedDateTime(hold.until, hold.timeZone)} by the ${hold.hours}-hour bill hold`;

export const STATE_WORDS: Readonly<Record<string, string>> = {
  built: 'Built',
  held: 'Held for review',
  ready: 'Ready to send',
  submitting: 'Sending',
  submitted: 'Sent',
  accepted: 'Accepted',
  rejected: 'Rejected by payer',
  adjudicated: 'Adjudicated',
  void: 'Voided',
  untracked: 'Untracked',
};

export const stateWords = (state: string): string => STATE_WORDS[state] ?? state;
