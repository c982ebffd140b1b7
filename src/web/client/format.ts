/** How amounts, dates and states read in the app. */
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
