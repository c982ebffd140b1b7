/**
 * The formulary as FHIR: one Medication per therapy product (NDC, package size, container,
 * ingredient strength), how an administration or order names its drug (a Medication reference, or
 * the NDC inline for the products charted that way), and the lookups the rest of the seed uses.
 */
import type { CodeableConcept, Medication, Reference } from '@medplum/fhirtypes';
import { THERAPIES } from '../seed-data/therapies.ts';
import type { TherapyProduct } from './model.ts';
import { SYSTEMS } from './systems.ts';
import { qty, ref } from './values.ts';

export function therapy(key: string): TherapyProduct {
  const t = THERAPIES.find((x) => x.key === key);
  if (!t) {
    throw new Error(`unknown therapy ${key}`);
  }
  return t;
}

/** 5-4-2 with hyphens, padding whichever segment of a 10-digit NDC is short (coding-rules R11.1). */
export function ndcTo11(ndc: string): string {
  const [a = '', b = '', c = ''] = ndc.split('-');
  return `${a.padStart(5, '0')}-${b.padStart(4, '0')}-${c.padStart(2, '0')}`;
}

/** One Medication per product, with the id `med-{key}` that orders and administrations reference. */
export function medications(): Medication[] {
  return THERAPIES.map((t): Medication => {
    const perMl = t.packageVolumeMl && t.packageAmount.code !== 'mL';
    return {
      resourceType: 'Medication',
      id: `med-${t.key}`,
      status: 'active',
      code: { coding: [{ system: SYSTEMS.ndc, code: t.ndc, display: t.name }], text: t.name },
      form: { text: `${t.form} (${t.container})` },
      // Package size; the denominator names the container, so single- vs multiple-dose is explicit.
      amount: {
        numerator: qty(t.packageAmount.value, t.packageAmount.code),
        denominator: { value: 1, unit: t.container, system: SYSTEMS.ucum, code: '{package}' },
      },
      ingredient: [
        {
          itemCodeableConcept: t.rxnormIngredient
            ? { coding: [{ system: SYSTEMS.rxnorm, code: t.rxnormIngredient }], text: ingredientName(t) }
            : { text: ingredientName(t) },
          isActive: true,
          strength:
            perMl && t.packageVolumeMl
              ? {
                  numerator: qty(t.packageAmount.value / t.packageVolumeMl, t.packageAmount.code),
                  denominator: qty(1, 'mL'),
                }
              : {
                  numerator: qty(t.packageAmount.value, t.packageAmount.code),
                  denominator: { value: 1, unit: t.container, system: SYSTEMS.ucum, code: '{package}' },
                },
        },
      ],
    };
  });
}

/** The active ingredient's name as a nurse would chart it (the name in parentheses, else the first word). */
export function ingredientName(t: TherapyProduct): string {
  const m = /\(([^)]+)\)/.exec(t.name);
  return (
    m?.[1] ??
    t.name
      .split(' ')
      .slice(0, t.name.startsWith('sodium chloride') ? 3 : 1)
      .join(' ')
  );
}

/** How an order or administration names its drug: inline NDC for `inlineCode` products, else a reference. */
export function medicationOf(
  t: TherapyProduct,
): { medicationReference: Reference<Medication> } | { medicationCodeableConcept: CodeableConcept } {
  return t.inlineCode
    ? {
        medicationCodeableConcept: {
          coding: [{ system: SYSTEMS.ndc, code: t.ndc, display: t.name }],
          text: t.name,
        },
      }
    : { medicationReference: ref<Medication>('Medication', `med-${t.key}`, t.name) };
}
