/**
 * Reading the elements of one 835 segment: amounts (X12 R, at most two decimals for money),
 * numbers, dates (D8, a real calendar day), codes from a list, composites. What cannot be read is
 * reported (a Finding835 naming the segment, its position and the element) and reads as undefined,
 * so the reader goes on and reports everything wrong with a transaction set at once. Pure.
 *
 * X12 005010 TR3 Appendix B (B.1.1.3.1 data element types: R decimal, N0 implied decimal, DT date
 * CCYYMMDD, ID code, AN string); amounts in the 835 are R with an optional leading minus.
 */
import type { X12Segment } from '../parse.ts';
import type { Finding835 } from './types.ts';

/** Where findings go (the reader keeps the first few hundred and counts the rest). */
export interface FindingSink {
  add(finding: Finding835): void;
}

/** Whole cents of an amount read by `amount` (exact: such amounts have at most two decimals). */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/**
 * "12.3" → 1230 cents, or undefined when the text is not an X12 decimal (an optional minus, digits
 * with an optional point) with at most two decimals and at most 18 digits. One pass over the
 * characters: this runs for every amount of every segment of a remittance.
 */
export function parseCents(text: string): number | undefined {
  const length = text.length;
  let i = text.charCodeAt(0) === 0x2d ? 1 : 0;
  const negative = i === 1;
  let whole = 0;
  let wholeDigits = 0;
  for (; i < length; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) {
      break;
    }
    whole = whole * 10 + c;
    wholeDigits++;
  }
  let fraction = 0;
  let fractionDigits = 0;
  if (i < length) {
    if (text.charCodeAt(i) !== 0x2e) {
      return undefined;
    }
    for (i++; i < length; i++) {
      const c = text.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) {
        return undefined;
      }
      fraction = fraction * 10 + c;
      fractionDigits++;
    }
    if (wholeDigits === 0 && fractionDigits === 0) {
      return undefined;
    }
  } else if (wholeDigits === 0) {
    return undefined;
  }
  if (fractionDigits > 2 || wholeDigits + fractionDigits > 18) {
    return undefined;
  }
  if (wholeDigits > 15) {
    // Past 2^53 digit by digit may round differently from Number(): read the digits as Number does.
    whole = Number(text.slice(negative ? 1 : 0, (negative ? 1 : 0) + wholeDigits));
  }
  const cents = whole * 100 + (fractionDigits === 1 ? fraction * 10 : fraction);
  return negative ? -cents : cents;
}

/** Whether the text is an X12 decimal (R): an optional minus, digits with an optional point. */
function isDecimal(text: string): boolean {
  const length = text.length;
  let i = text.charCodeAt(0) === 0x2d ? 1 : 0;
  let digits = 0;
  let points = 0;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (++points > 1) {
        return false;
      }
    } else if (c >= 0x30 && c <= 0x39) {
      digits++;
    } else {
      return false;
    }
  }
  return digits > 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** The last D8 read and its reading: a remittance repeats the same few dates on every claim. */
let lastD8: { text: string; date: string | undefined } = { text: '', date: undefined };

/**
 * A D8 date (CCYYMMDD) that exists, as YYYY-MM-DD; undefined otherwise (years before 0100 too,
 * as JavaScript dates read them as 19xx).
 */
export function parseD8(text: string): string | undefined {
  if (text === lastD8.text) {
    return lastD8.date;
  }
  const date = readD8(text);
  lastD8 = { text, date };
  return date;
}

function readD8(text: string): string | undefined {
  if (text.length !== 8) {
    return undefined;
  }
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) {
      return undefined;
    }
    value = value * 10 + c;
  }
  const y = Math.floor(value / 10_000);
  const mo = Math.floor(value / 100) % 100;
  const d = value % 100;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && leap ? 29 : (DAYS_IN_MONTH[mo - 1] ?? 0))) {
    return undefined;
  }
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/** The elements of one segment, read with findings. */
export class Elements {
  readonly #s: X12Segment;
  readonly #sink: FindingSink;

  constructor(segment: X12Segment, sink: FindingSink) {
    this.#s = segment;
    this.#sink = sink;
  }

  get segment(): X12Segment {
    return this.#s;
  }

  /** XXnn as written ('' when absent). */
  raw(n: number): string {
    return this.#s.elements[n - 1] ?? '';
  }

  /** The element's name, e.g. CLP04. */
  name(n: number): string {
    return `${this.#s.id}${String(n).padStart(2, '0')}`;
  }

  fault(
    rule: string,
    message: string,
    extra: { element?: string; severity?: 'error' | 'warning'; amounts?: Record<string, number> } = {},
  ): void {
    this.#sink.add({
      severity: extra.severity ?? 'error',
      rule,
      message,
      segment: this.#s.position,
      segmentId: this.#s.id,
      ...(extra.element ? { element: extra.element } : {}),
      ...(extra.amounts ? { amounts: extra.amounts } : {}),
    });
  }

  /** A required element that is present (its text), or undefined with a finding. */
  required(n: number, what: string): string | undefined {
    const value = this.raw(n);
    if (value === '') {
      this.fault('required', `${this.name(n)} (${what}) is required`, { element: this.name(n) });
      return undefined;
    }
    return value;
  }

  /** Optional text: undefined when absent. */
  text(n: number): string | undefined {
    const value = this.raw(n);
    return value === '' ? undefined : value;
  }

  /** A money amount in dollars; undefined (with a finding) when it is not one, or absent and required. */
  amount(n: number, what: string, required: boolean): number | undefined {
    const value = this.raw(n);
    if (value === '') {
      if (required) {
        this.fault('required', `${this.name(n)} (${what}) is required`, { element: this.name(n) });
      }
      return undefined;
    }
    const cents = parseCents(value);
    if (cents === undefined) {
      this.fault(
        'amount',
        `${this.name(n)} (${what}) "${value.slice(0, 30)}" is not an amount (digits, an optional minus and at most two decimals)`,
        {
          element: this.name(n),
        },
      );
      return undefined;
    }
    return cents / 100;
  }

  /** A number (quantities, units, rates): X12 R of any precision. */
  number(n: number, what: string, required = false): number | undefined {
    const value = this.raw(n);
    if (value === '') {
      if (required) {
        this.fault('required', `${this.name(n)} (${what}) is required`, { element: this.name(n) });
      }
      return undefined;
    }
    if (!isDecimal(value)) {
      this.fault('number', `${this.name(n)} (${what}) "${value.slice(0, 30)}" is not a number`, {
        element: this.name(n),
      });
      return undefined;
    }
    return Number(value);
  }

  /** A D8 date, as YYYY-MM-DD. */
  date(n: number, what: string, required: boolean): string | undefined {
    const value = this.raw(n);
    if (value === '') {
      if (required) {
        this.fault('required', `${this.name(n)} (${what}) is required`, { element: this.name(n) });
      }
      return undefined;
    }
    const date = parseD8(value);
    if (date === undefined) {
      this.fault('date', `${this.name(n)} (${what}) "${value.slice(0, 30)}" is not a date (CCYYMMDD)`, {
        element: this.name(n),
      });
    }
    return date;
  }

  /** A code from `allowed`; a finding (and the code as written) when it is not one of them. */
  code(n: number, what: string, allowed: ReadonlySet<string>, required = true): string | undefined {
    const value = this.raw(n);
    if (value === '') {
      if (required) {
        this.fault('required', `${this.name(n)} (${what}) is required`, { element: this.name(n) });
      }
      return undefined;
    }
    if (!allowed.has(value)) {
      this.fault(
        'code',
        `${this.name(n)} (${what}) "${value.slice(0, 30)}" is not one of ${[...allowed].join(', ')}`,
        {
          element: this.name(n),
        },
      );
    }
    return value;
  }

  /** The components of a composite element (split on the interchange's component separator). */
  components(n: number): string[] {
    const value = this.raw(n);
    return value === '' ? [] : value.split(this.#s.delimiters.component);
  }
}
