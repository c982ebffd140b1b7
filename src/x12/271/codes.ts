/**
 * Short labels, in Dripline's own words, for the X12 codes of the 270/271 Dripline reads or writes.
 * The code lists are X12's (005010X279A1 TR3: EB01 element 1390, AAA03 901, AAA04 889, EB06 615,
 * EB03/EQ01 1365); their descriptions are X12's copyright and are not reproduced: a code outside
 * these tables is shown as its bare code.
 */

/** EB01 (1390): what an eligibility or benefit entry says. */
export const BENEFIT_CODES: Readonly<Record<string, string>> = {
  '1': 'coverage active',
  '2': 'coverage active (full-risk capitation)',
  '3': 'coverage active (services capitated)',
  '4': 'coverage active (capitated to primary care)',
  '5': 'coverage active, under review',
  '6': 'coverage not active',
  '7': 'coverage not active, update pending',
  '8': 'coverage not active, under review',
  A: 'co-insurance',
  B: 'co-payment',
  C: 'deductible',
  D: 'benefit description',
  E: 'exclusion',
  F: 'limitation',
  G: 'out-of-pocket maximum',
  I: 'not covered',
  R: 'another payer',
  U: 'ask this entity',
  V: 'cannot answer',
};

/** EB01 codes that say the coverage is in force (1–5) or not (6–8). */
export const ACTIVE_CODES: ReadonlySet<string> = new Set(['1', '2', '3', '4', '5']);
export const INACTIVE_CODES: ReadonlySet<string> = new Set(['6', '7', '8']);

/** AAA03 (901): why a request, or a part of it, was not answered. */
export const REJECT_REASONS: Readonly<Record<string, string>> = {
  '15': 'required data missing',
  '33': 'input errors',
  '41': 'not authorized to ask',
  '42': 'cannot answer now',
  '43': 'provider identifier missing or not valid',
  '44': 'provider name missing or not valid',
  '45': 'provider specialty missing or not valid',
  '50': 'provider not allowed to ask',
  '51': 'provider not on file',
  '52': 'dates outside the provider’s enrolment',
  '56': 'date not acceptable',
  '57': 'date of service missing or not valid',
  '58': 'birth date missing or not valid',
  '60': 'birth date after the date of service',
  '61': 'date of death before the date of service',
  '62': 'date of service outside the period that may be asked about',
  '63': 'date of service in the future',
  '64': 'patient id missing or not valid',
  '65': 'patient name missing or not valid',
  '66': 'patient gender missing or not valid',
  '67': 'patient not found',
  '68': 'patient id matches more than one person',
  '71': 'birth date does not match the member’s',
  '72': 'member id missing or not valid',
  '73': 'member name missing or not valid',
  '75': 'member not found',
  '76': 'member id matches more than one person',
  '78': 'member not in the group or plan named',
  '79': 'participant identifier not valid',
  '80': 'no answer received; the request was ended',
  T4: 'payer name or identifier missing',
};

/** AAA04 (889): what the asker should do next. */
export const FOLLOW_UP: Readonly<Record<string, string>> = {
  C: 'correct and send again',
  N: 'do not send again',
  P: 'send the original again',
  R: 'may be sent again',
  S: 'do not send again; the payer asked a third party',
  W: 'wait 30 days, then send again',
  X: 'wait 10 days, then send again',
  Y: 'do not send again; the payer will answer',
};

/** EB06 (615): the period an amount is for. */
export const TIME_PERIODS: Readonly<Record<string, string>> = {
  '6': 'hour',
  '7': 'day',
  '21': 'years',
  '22': 'service year',
  '23': 'calendar year',
  '24': 'year to date',
  '25': 'contract',
  '26': 'episode',
  '27': 'visit',
  '29': 'remaining',
  '32': 'lifetime',
  '33': 'lifetime remaining',
  '34': 'month',
  '35': 'week',
};

/** The EB06 codes whose amount is what is left, not the total. */
export const REMAINING_PERIODS: ReadonlySet<string> = new Set(['29', '33']);

export function label(table: Readonly<Record<string, string>>, code: string | undefined): string {
  return code === undefined ? '' : (table[code] ?? `code ${code}`);
}
