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

const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)$/;
const D8 = /^(\d{4})(\d{2})(\d{2})$/;

/** Whole cents of an amount read by `amount` (exact: such amounts have at most two decimals). */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/** "12.3" → 1230 cents, or undefined when the text is not an X12 decimal with at most two decimals. */
export function parseCents(text: string): number | undefined {
  if (!DECIMAL.test(text) || text.replace(/[-.]/g, '').length > 18) {
    return undefined;
  }
  const negative = text.startsWith('-');
  const [whole = '', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > 2) {
    return undefined;
  }
  const cents = Number(whole || '0') * 100 + Number(fraction.padEnd(2, '0') || '0');
  return negative ? -cents : cents;
}

/** A D8 date (CCYYMMDD) that exists, as YYYY-MM-DD; undefined otherwise. */
export function parseD8(text: string): string | undefined {
  const m = D8.exec(text);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    date.getUTCFullYear() !== Number(y) ||
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d)
  ) {
    return undefined;
  }
  return `${y}-${mo}-${d}`;
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
    if (!DECIMAL.test(value)) {
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
