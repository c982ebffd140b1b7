/**
 * The tenant chargemaster: the gross charge (USD) per unit of each CPT/HCPCS code the clinic bills,
 * the same for every payer. Claims carry it as `item.unitPrice`, `item.net` (price × units) and
 * `Claim.total`, which the 837 writer sends in SV102 / SV203 and CLM02.
 *
 * The shipped `./chargemaster.json` holds ILLUSTRATIVE defaults for the codes Dripline emits (the
 * administration codes and the drugs' HCPCS, drugs priced per HCPCS billing unit) and a `default`
 * price for any other code; a clinic replaces it with its own file (`loadChargemaster(path)`).
 *
 * The file format and its validation (JSON Schema, money amounts, duplicate codes) are
 * src/config/chargemaster-file.ts: a tenant's file is validated when the configuration loads, and a
 * bad file throws a `ChargemasterError` naming the file and the JSON path of every problem.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readChargemasterFile } from '../config/chargemaster-file.ts';
import type { ChargemasterFile } from '../config/chargemaster-file.ts';

/** The shipped default chargemaster (beside this module). */
export const DEFAULT_CHARGEMASTER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'chargemaster.json');

export interface Chargemaster {
  readonly file: string;
  readonly data: ChargemasterFile;
  /** Gross charge per unit of `code` (the default price for unknown codes). */
  unitPrice(code: string | undefined): number;
  /** Line charge: unit price × units, rounded to cents. */
  priceOf(code: string | undefined, units: number): number;
}

/** Money: rounded half away from zero to cents, without binary-float drift (1.005 → 1.01). */
export function roundMoney(value: number): number {
  const cents = Math.round(Math.abs(value) * 100 + 1e-7);
  return (Math.sign(value) * cents) / 100 || 0;
}

/** A chargemaster over already-validated data. */
export function createChargemaster(data: ChargemasterFile, file = '(inline)'): Chargemaster {
  const prices = new Map<string, number>(data.charges.map((c) => [c.code, c.price]));
  const unitPrice = (code: string | undefined): number =>
    (code !== undefined ? prices.get(code.toUpperCase()) : undefined) ?? data.default.price;
  return {
    file,
    data,
    unitPrice,
    priceOf(code: string | undefined, units: number): number {
      if (!Number.isFinite(units) || units < 0) {
        throw new RangeError(`units ${units} must be a non-negative number`);
      }
      return roundMoney(unitPrice(code) * units);
    },
  };
}

const cache = new Map<string, Chargemaster>();

/**
 * Reads and validates a chargemaster file (default: the shipped one). Cached per resolved path for
 * the life of the process; throws `ChargemasterError` naming the file and each bad JSON path.
 */
export function loadChargemaster(file: string = DEFAULT_CHARGEMASTER_FILE): Chargemaster {
  const { path, data } = readChargemasterFile(file);
  const cached = cache.get(path);
  if (cached) {
    return cached;
  }
  const chargemaster = createChargemaster(data, path);
  cache.set(path, chargemaster);
  return chargemaster;
}

/** Line charge from the shipped default chargemaster: unit price × units, 2-decimal USD. */
export function priceOf(code: string | undefined, units: number): number {
  return loadChargemaster().priceOf(code, units);
}
