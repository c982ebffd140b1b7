/**
 * A documented dose in billing units of its HCPCS code (R9.1): the dose converted to the billing
 * unit's measure (g ↔ mg ↔ mcg; mL for volume-billed drugs, or mass ↔ mL through the product's
 * strength; units for biologics billed per unit; mEq, microcuries, cm², PFU) and divided by the
 * unit's amount — left fractional here, rounded up per line (R9.2). Per-administration codes count
 * one unit each; per-package codes count the packages used. A dose that cannot be expressed in the
 * billing unit is a hold with the reason, never a guess.
 */
import type { BillingUnit } from '../cms/dosage.ts';
import { describeBillingUnit } from '../cms/dosage.ts';
import type { Classified } from './classify.ts';
import { convert, unitDef } from './units.ts';
import type { Amount, Concentration } from './units.ts';

export type DoseInBillingUnits =
  | {
      readonly ok: true;
      /** Billing units, fractional (rounded up per line). */
      readonly units: number;
      /** How the dose was read, for the rationale ("1 per dose", "first-named ingredient"). */
      readonly note?: string;
      /** Set for per-administration and per-package codes: the waste rules (R10) read nothing more. */
      readonly counted?: 'administration' | 'package';
      /** A finding to raise without holding the line. */
      readonly warning?: { readonly code: string; readonly message: string };
    }
  | { readonly ok: false; readonly code: string; readonly reason: string };

function inBound(
  dose: Amount | undefined,
  bound: { value: number; unit: string; inclusive: boolean },
  upper: boolean,
): boolean | undefined {
  if (!dose) {
    return undefined;
  }
  const v = convert(dose, bound.unit);
  if (v === undefined) {
    return undefined;
  }
  if (upper) {
    return bound.inclusive ? v <= bound.value + 1e-9 : v < bound.value;
  }
  return bound.inclusive ? v >= bound.value - 1e-9 : v > bound.value + 1e-9;
}

function why(dose: Amount, target: string, concentration: Concentration | undefined): string {
  const unit = dose.unit.trim();
  if (/\/(kg|m2|m\^2|\[m2\])$/i.test(unit) || /\/kg|\/m2/i.test(unit)) {
    return `${dose.value} ${unit} is a dose per body weight or area, not the amount given: document the amount (dosage.dose)`;
  }
  const from = unitDef(unit);
  const to = unitDef(target);
  if (!from) {
    return `the dose unit "${unit}" is not a unit Dripline can convert (UCUM mg, g, ug, mL, [iU], U, meq…)`;
  }
  if (to && (from.dimension === 'volume' || to.dimension === 'volume') && !concentration) {
    return `a dose in ${unit} converts to ${target} only through the product's strength: document Medication.ingredient.strength (amount per mL) or the NDC of the package used`;
  }
  return `${unit} cannot be converted to ${target}`;
}

/** The documented dose of one administration in billing units of `billing`. */
export function doseInBillingUnits(
  item: Classified,
  billing: BillingUnit | undefined,
  concentration: Concentration | undefined,
  container: Amount | undefined,
): DoseInBillingUnits {
  const { adm } = item;
  const code = item.hcpcs ?? '';
  if (!billing) {
    return {
      ok: false,
      code: 'billing-unit-unknown',
      reason: item.cms
        ? `the billing unit of ${code} ("${item.cms.dosage}" in the CMS ${item.quarter.id} table) is not one Dripline understands`
        : `${code} is in neither the drug catalog nor the CMS tables (${item.quarter.id}): its billing unit is unknown — check the code`,
    };
  }
  const dose = adm.dose && adm.dose.value > 0 ? adm.dose : undefined;
  switch (billing.kind) {
    case 'per-administration': {
      const over = billing.max ? inBound(dose, billing.max, true) === false : false;
      const under = billing.min ? inBound(dose, billing.min, false) === false : false;
      return {
        ok: true,
        units: 1,
        counted: 'administration',
        note: `billed ${describeBillingUnit(billing)}`,
        ...(over || under
          ? {
              warning: {
                code: 'dose-outside-code-range',
                message: `${code} is for a dose ${describeBillingUnit(billing)}; ${dose?.value ?? ''} ${dose?.unit ?? ''} documented is outside it: check the code`,
              },
            }
          : {}),
      };
    }
    case 'per-package': {
      if (!dose) {
        return {
          ok: false,
          code: 'missing-dose',
          reason: 'no dose documented: the packages used are unknown',
        };
      }
      if (unitDef(dose.unit)?.dimension === 'count') {
        return {
          ok: true,
          units: dose.value,
          counted: 'package',
          note: `billed ${describeBillingUnit(billing)}: ${dose.value} documented`,
        };
      }
      const perPackage = container ? convert(dose, container.unit, concentration) : undefined;
      if (!container || perPackage === undefined || !(container.value > 0)) {
        return {
          ok: false,
          code: 'package-size-unknown',
          reason: `${code} is billed ${describeBillingUnit(billing)}: document the package size (Medication.amount) or the NDC of the package used, or the dose as a count of packages`,
        };
      }
      return {
        ok: true,
        units: perPackage / container.value,
        counted: 'package',
        note: `billed ${describeBillingUnit(billing)}: ${dose.value} ${dose.unit} from packages of ${container.value} ${container.unit}`,
      };
    }
    case 'amount': {
      if (!dose) {
        return { ok: false, code: 'missing-dose', reason: 'no dose documented (R9.1)' };
      }
      const direct = convert(dose, billing.unit, concentration);
      const viaAlt =
        direct === undefined && billing.alt ? convert(dose, billing.alt.unit, concentration) : undefined;
      if (direct === undefined && viaAlt === undefined) {
        return { ok: false, code: 'unconvertible-dose', reason: why(dose, billing.unit, concentration) };
      }
      const units =
        direct !== undefined ? direct / billing.value : (viaAlt as number) / (billing.alt as Amount).value;
      const combination = billing.components && !billing.total;
      return {
        ok: true,
        units,
        ...(combination
          ? {
              note: `combination product billed per ${billing.components.map((c) => `${c.value} ${c.unit}`).join(' / ')}: the dose is read as the first-named ingredient`,
              warning: {
                code: 'combination-dose',
                message: `${code} is billed per ${billing.components.map((c) => `${c.value} ${c.unit}`).join(' / ')}: the documented ${dose.value} ${dose.unit} was read as the first-named ingredient — confirm it is not the total`,
              },
            }
          : {}),
      };
    }
  }
}
