/**
 * Short labels of the administration codes (CPT 96360–96417): Dripline's own words, never the
 * AMA's descriptors (CPT descriptors are AMA copyright). The loaded code table's label wins; these
 * are the fallback when the table lacks a code.
 */
import type { CodingTables } from '../tables/types.ts';

/** Dripline's own short labels (fallback when the code table lacks the code). */
const LABELS: Readonly<Record<string, string>> = {
  '96360': 'Hydration IV, initial',
  '96361': 'Hydration IV, add-on hour',
  '96365': 'IV infusion, initial',
  '96366': 'IV infusion, add-on hour',
  '96367': 'IV infusion, sequential new drug',
  '96368': 'IV infusion, concurrent',
  '96372': 'Injection SC/IM',
  '96374': 'IV push, initial',
  '96375': 'IV push, new drug add-on',
  '96376': 'IV push, same drug add-on (facility)',
  '96401': 'Chemo injection SC/IM, non-hormonal',
  '96402': 'Chemo injection SC/IM, hormonal',
  '96409': 'Chemo IV push, initial',
  '96411': 'Chemo IV push, new drug add-on',
  '96413': 'Chemo IV infusion, initial',
  '96415': 'Chemo IV infusion, add-on hour',
  '96416': 'Chemo prolonged pump infusion',
  '96417': 'Chemo IV infusion, sequential new drug',
};

/** Administration code labels by code, indexed once per loaded tables. */
const labelIndexes = new WeakMap<CodingTables, ReadonlyMap<string, string>>();

export function codeLabel(tables: CodingTables, code: string): string {
  let labels = labelIndexes.get(tables);
  if (!labels) {
    // The first row of a code wins, as a find() over the list did.
    labels = new Map([...tables.administrationCodes.codes].reverse().map((c) => [c.code, c.label]));
    labelIndexes.set(tables, labels);
  }
  return labels.get(code) ?? LABELS[code] ?? code;
}
