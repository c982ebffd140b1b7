/**
 * The seed's building blocks: its PRNG, its clock (wall-clock minutes of the day → instants with
 * the centre's offset), and the small FHIR values (Quantity, CodeableConcept, Reference, NPI) every
 * part of the day is made of. Pure and deterministic.
 */
import type { CodeableConcept, Quantity, Reference, Resource } from '@medplum/fhirtypes';
import { mulberry32 } from '../../random.ts';
import { zonedIso } from '../../../time/zone.ts';
import type { Rng } from './model.ts';
import { SYSTEMS } from './systems.ts';

/** mulberry32: a tiny deterministic PRNG. */
export function makeRng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => nth(items, int(0, items.length - 1));
  const shuffle = <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i);
      [out[i], out[j]] = [nth(out, j), nth(out, i)];
    }
    return out;
  };
  return { next, int, pick, shuffle };
}

export function nth<T>(items: readonly T[], i: number): T {
  const v = items[i];
  if (v === undefined) {
    throw new Error(`index ${i} out of range`);
  }
  return v;
}

export const pad = (n: number, width = 3): string => String(n).padStart(width, '0');

/** A checksum-valid NPI from a 9-digit base (Luhn over the 80840 prefix, as CMS defines it). */
export function npi(base9: string): string {
  const digits = `80840${base9}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = nth(digits, i);
    if (double) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  return `${base9}${(10 - (sum % 10)) % 10}`;
}

export const qty = (value: number, code: string, unit = code === 'ug' ? 'mcg' : code): Quantity => ({
  value,
  unit,
  system: SYSTEMS.ucum,
  code,
});
export const coding = (system: string, code: string, display?: string): CodeableConcept => ({
  coding: [{ system, code, ...(display ? { display } : {}) }],
  ...(display ? { text: display } : {}),
});
export const ref = <T extends Resource>(
  type: T['resourceType'],
  id: string,
  display?: string,
): Reference<T> => ({
  reference: `${type}/${id}`,
  ...(display ? { display } : {}),
});

/**
 * Local wall-clock minutes on `date` (may exceed 1440: the next day) → ISO instant written with the
 * centre's offset at that instant (DST-aware for an IANA zone).
 */
export function makeClock(date: string, timeZone: string): (minutes: number) => string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new Error('date must be YYYY-MM-DD');
  }
  zonedIso(date, 0, timeZone); // throws on a zone Intl does not know
  return (minutes) => zonedIso(date, minutes, timeZone);
}
