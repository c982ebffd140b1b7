/**
 * X12 005010 element encoding: cleaning free text, validating identifiers, number and date formats,
 * composing segments and composites with the delimiters Dripline writes (./delimiters.ts). Pure;
 * nothing here knows about claims.
 *
 * Data never contains a delimiter: free text is upper-cased, transliterated to ASCII and stripped of
 * separators; identifiers that would need a separator are rejected instead (an altered id is worse
 * than none). The patterns below spell the written delimiters ~ * : ^ out.
 */
import { COMPONENT, ELEMENT, SEGMENT } from './delimiters.ts';

/** A claim (or envelope) the writer cannot render validly; nothing of it is written. */
export class X12Error extends Error {
  readonly claimId: string | undefined;
  constructor(message: string, claimId?: string) {
    super(claimId ? `Claim ${claimId}: ${message}` : message);
    this.name = 'X12Error';
    this.claimId = claimId;
  }
}

const SEPARATORS = /[~*:^]/g;
const PLAIN = /^(?:[\x21-\x29\x2b-\x39\x3b-\x5d\x5f-\x7d]| (?! ))*$/;

/**
 * Free text (names, addresses) for an element: NFKD-transliterated to ASCII, upper-cased, separators
 * and control characters replaced by a space, whitespace collapsed, cut to `max` characters.
 */
export function text(value: string | undefined, max: number): string {
  if (value === undefined) {
    return '';
  }
  if (PLAIN.test(value)) {
    // Fast path: printable ASCII without separators or runs of spaces.
    const upper = value.toUpperCase().trim();
    return upper.length <= max ? upper : upper.slice(0, max).trim();
  }
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(SEPARATORS, ' ')
    .toUpperCase()
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max)
    .trim();
}

/**
 * An identifier or code: printable ASCII without separators, 1..max characters after trimming;
 * otherwise an X12Error naming `what`.
 */
export function id(value: string | undefined, what: string, max: number, claimId?: string): string {
  const v = (value ?? '').trim();
  if (v.length === 0) {
    throw new X12Error(`${what} is missing`, claimId);
  }
  if (v.length > max || /[^\x20-\x7e]/.test(v) || /[~*:^]/.test(v)) {
    throw new X12Error(
      `${what} "${v}" is not a valid X12 value (1..${max} printable characters, no ~ * : ^)`,
      claimId,
    );
  }
  return v;
}

/** Digits only, of one of the allowed lengths (hyphens and spaces in the input are dropped). */
export function digits(
  value: string | undefined,
  what: string,
  lengths: readonly number[],
  claimId?: string,
): string {
  const v = (value ?? '').replace(/[\s-]/g, '');
  if (!/^\d+$/.test(v) || !lengths.includes(v.length)) {
    throw new X12Error(`${what} "${value ?? ''}" must be ${lengths.join(' or ')} digits`, claimId);
  }
  return v;
}

/** A 10-digit NPI whose check digit is right (Luhn over the 80840-prefixed number). */
export function npi(value: string | undefined, what: string, claimId?: string): string {
  const v = digits(value, what, [10], claimId);
  const s = `80840${v}`;
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    let d = Number(s[s.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  if (sum % 10 !== 0) {
    throw new X12Error(`${what} ${v} has a wrong check digit`, claimId);
  }
  return v;
}

/**
 * An X12 R (decimal) value: at most `decimals` places, no trailing zeros after the point, no point
 * for integers, no leading zeros ("0" for zero). Negative and non-finite values are rejected.
 */
export function decimal(value: number, what: string, decimals = 2, claimId?: string): string {
  if (!Number.isFinite(value) || value < 0) {
    throw new X12Error(`${what} ${value} is not a non-negative number`, claimId);
  }
  const fixed = value.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** Compose a segment: trailing empty elements are dropped, the terminator appended. */
export function segment(tag: string, ...elements: readonly (string | undefined)[]): string {
  let end = elements.length;
  while (end > 0 && !elements[end - 1]) {
    end--;
  }
  let s = tag;
  for (let i = 0; i < end; i++) {
    s += ELEMENT + (elements[i] ?? '');
  }
  return s + SEGMENT;
}

/** A composite element: trailing empty components dropped. */
export function composite(...components: readonly (string | undefined)[]): string {
  let end = components.length;
  while (end > 0 && !components[end - 1]) {
    end--;
  }
  return components
    .slice(0, end)
    .map((c) => c ?? '')
    .join(COMPONENT);
}

/** CCYYMMDD from an ISO date or dateTime (its calendar date as written, no zone conversion). */
export function d8(value: string | undefined, what: string, claimId?: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value ?? '');
  if (!m) {
    throw new X12Error(`${what} "${value ?? ''}" is not a date`, claimId);
  }
  return `${m[1]}${m[2]}${m[3]}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** UTC CCYYMMDD and HHMM of an instant (envelope dates). */
export function utcStamp(now: Date): { ccyymmdd: string; hhmm: string } {
  return {
    ccyymmdd: `${now.getUTCFullYear()}${pad2(now.getUTCMonth() + 1)}${pad2(now.getUTCDate())}`,
    hhmm: `${pad2(now.getUTCHours())}${pad2(now.getUTCMinutes())}`,
  };
}

/** A control number in range 1..max (integer), else X12Error. */
export function controlNumber(value: number, what: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new X12Error(`${what} ${value} must be an integer in 1..${max}`);
  }
  return value;
}
