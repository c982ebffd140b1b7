/**
 * The terms ../seed-data/regimens.ts and ../seed-data/plan.ts are written in: a push, an infusion
 * or an injection of a product (an `AdminSpec`, timed in minutes from the chair start), a dose
 * rounded to a step, and the waste documented when a dose is drawn from single-dose packages.
 */
import type { Quantity } from '@medplum/fhirtypes';
import { therapy } from './medications.ts';
import type { AdminSpec, SiteKey, Technique } from './model.ts';
import { qty } from './values.ts';

export const round = (v: number, step: number): number => Math.round(v / step) * step;

/** Doses drawn from single-dose packages: the documented waste is the rest of the last package. */
export function fromVials(product: string, dose: number): Quantity | undefined {
  const t = therapy(product);
  if (!t.singleDose) {
    return undefined;
  }
  const size = t.packageAmount.value;
  const waste = Math.ceil(dose / size - 1e-9) * size - dose;
  return waste > 1e-9 ? qty(Number(waste.toFixed(3)), t.packageAmount.code) : undefined;
}

/** One administration of `product` under its own order (the order key is the product). */
const given = (
  product: string,
  technique: Technique,
  start: number,
  minutes: number,
  dose: Quantity,
  orderText: string,
): AdminSpec => ({ product, order: product, start, minutes, dose, technique, orderText });

/** An IV push (default 3 minutes). */
export const push = (
  product: string,
  start: number,
  dose: Quantity,
  orderText: string,
  minutes = 3,
): AdminSpec => given(product, 'push', start, minutes, dose, orderText);

/** A timed infusion; `extra` adds a rate, documented waste or a messy case. */
export const infusion = (
  product: string,
  start: number,
  minutes: number,
  dose: Quantity,
  orderText: string,
  extra: Partial<AdminSpec> = {},
): AdminSpec => ({ ...given(product, 'infusion', start, minutes, dose, orderText), ...extra });

/** An SC or IM injection at a site (no duration). */
export const injection = (
  product: string,
  start: number,
  dose: Quantity,
  site: SiteKey,
  orderText: string,
): AdminSpec => ({ ...given(product, 'injection', start, 0, dose, orderText), site });
