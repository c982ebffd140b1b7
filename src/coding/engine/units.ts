/**
 * Dose unit conversion for drug units (R9.1–R9.2): mass (kg/g/mg/mcg/ng), volume (L/mL/uL),
 * activity units ([iU], U, units — international and USP units are one measure for billing),
 * milliequivalents, radioactivity (Ci, Bq), area (cm²), plaque-forming units, and counts (vials,
 * doses, packages). mL ↔ mass only through a known concentration. "mg/kg" or "mg/m2" is a dose
 * rate, not an amount given: it converts to nothing.
 */

type Dimension = 'mass' | 'volume' | 'unit' | 'equivalent' | 'radioactivity' | 'area' | 'pfu' | 'count';

interface UnitDef {
  readonly dimension: Dimension;
  /** Factor to the dimension's base (mg, mL, unit). */
  readonly factor: number;
}

const UNITS: Readonly<Record<string, UnitDef>> = {
  kg: { dimension: 'mass', factor: 1e6 },
  g: { dimension: 'mass', factor: 1000 },
  gm: { dimension: 'mass', factor: 1000 },
  gram: { dimension: 'mass', factor: 1000 },
  grams: { dimension: 'mass', factor: 1000 },
  mg: { dimension: 'mass', factor: 1 },
  milligram: { dimension: 'mass', factor: 1 },
  milligrams: { dimension: 'mass', factor: 1 },
  microgram: { dimension: 'mass', factor: 1e-3 },
  micrograms: { dimension: 'mass', factor: 1e-3 },
  milliliter: { dimension: 'volume', factor: 1 },
  milliliters: { dimension: 'volume', factor: 1 },
  millilitre: { dimension: 'volume', factor: 1 },
  mcg: { dimension: 'mass', factor: 1e-3 },
  ug: { dimension: 'mass', factor: 1e-3 },
  µg: { dimension: 'mass', factor: 1e-3 },
  ng: { dimension: 'mass', factor: 1e-6 },
  l: { dimension: 'volume', factor: 1000 },
  dl: { dimension: 'volume', factor: 100 },
  ml: { dimension: 'volume', factor: 1 },
  cc: { dimension: 'volume', factor: 1 },
  ul: { dimension: 'volume', factor: 1e-3 },
  '[iu]': { dimension: 'unit', factor: 1 },
  iu: { dimension: 'unit', factor: 1 },
  u: { dimension: 'unit', factor: 1 },
  unit: { dimension: 'unit', factor: 1 },
  units: { dimension: 'unit', factor: 1 },
  '[u]': { dimension: 'unit', factor: 1 },
  'k[iu]': { dimension: 'unit', factor: 1000 },
  ku: { dimension: 'unit', factor: 1000 },
  '10*3.[iu]': { dimension: 'unit', factor: 1000 },
  '10*6.[iu]': { dimension: 'unit', factor: 1e6 },
  "[usp'u]": { dimension: 'unit', factor: 1 },
  meq: { dimension: 'equivalent', factor: 1 },
  eq: { dimension: 'equivalent', factor: 1000 },
  uci: { dimension: 'radioactivity', factor: 1 },
  µci: { dimension: 'radioactivity', factor: 1 },
  mci: { dimension: 'radioactivity', factor: 1000 },
  ci: { dimension: 'radioactivity', factor: 1e6 },
  bq: { dimension: 'radioactivity', factor: 1 / 37_000 },
  kbq: { dimension: 'radioactivity', factor: 1 / 37 },
  mbq: { dimension: 'radioactivity', factor: 1000 / 37 },
  cm2: { dimension: 'area', factor: 1 },
  'cm^2': { dimension: 'area', factor: 1 },
  '[pfu]': { dimension: 'pfu', factor: 1 },
  '10*6.[pfu]': { dimension: 'pfu', factor: 1e6 },
  '10*8.[pfu]': { dimension: 'pfu', factor: 1e8 },
  '1': { dimension: 'count', factor: 1 },
  '{vial}': { dimension: 'count', factor: 1 },
  vial: { dimension: 'count', factor: 1 },
  vials: { dimension: 'count', factor: 1 },
  '{package}': { dimension: 'count', factor: 1 },
  '{each}': { dimension: 'count', factor: 1 },
  each: { dimension: 'count', factor: 1 },
  ea: { dimension: 'count', factor: 1 },
  '{dose}': { dimension: 'count', factor: 1 },
  dose: { dimension: 'count', factor: 1 },
  '{syringe}': { dimension: 'count', factor: 1 },
  '{kit}': { dimension: 'count', factor: 1 },
  '{implant}': { dimension: 'count', factor: 1 },
};

/** Definitions by unit as written: every dose and package asks, and a day writes a handful of units. */
const unitDefs = new Map<string, UnitDef | undefined>();

export function unitDef(unit: string): UnitDef | undefined {
  if (unitDefs.has(unit)) {
    return unitDefs.get(unit);
  }
  const name = unit.trim().toLowerCase();
  // Own names only: UNITS is a plain object, and `constructor` or `__proto__` are names on every one.
  const def = Object.hasOwn(UNITS, name) ? UNITS[name] : undefined;
  if (unitDefs.size < 10_000) {
    unitDefs.set(unit, def);
  }
  return def;
}

export interface Amount {
  readonly value: number;
  readonly unit: string;
}

/** A package's concentration: `contains` per `volume` mL, used to convert mL ↔ mass/units. */
export interface Concentration {
  readonly contains: Amount;
  readonly volumeMl: number;
}

/**
 * Converts `amount` into `target`'s unit, or undefined when the dimensions differ and no
 * concentration bridges them.
 */
export function convert(
  amount: Amount,
  targetUnit: string,
  concentration?: Concentration,
): number | undefined {
  const from = unitDef(amount.unit);
  const to = unitDef(targetUnit);
  if (!from || !to || !Number.isFinite(amount.value)) {
    return undefined;
  }
  if (from.dimension === to.dimension) {
    return (amount.value * from.factor) / to.factor;
  }
  if (!concentration || concentration.volumeMl <= 0) {
    return undefined;
  }
  const c = unitDef(concentration.contains.unit);
  if (!c) {
    return undefined;
  }
  // Amount per mL in the concentration's own dimension.
  const perMl = (concentration.contains.value * c.factor) / concentration.volumeMl;
  if (from.dimension === 'volume' && to.dimension === c.dimension) {
    return (amount.value * from.factor * perMl) / to.factor;
  }
  if (from.dimension === c.dimension && to.dimension === 'volume') {
    return (amount.value * from.factor) / perMl / to.factor;
  }
  return undefined;
}

/** ceil that forgives floating-point noise (3.0000000001 → 3). */
export function ceilUnits(x: number): number {
  return Math.ceil(x - 1e-9);
}

/** Rounds to 3 decimals (NDC quantities). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
