/**
 * HCPCS billing units from the CMS "HCPCS Code Dosage" strings (ASP pricing file and NDC–HCPCS
 * crosswalk) and, for codes outside the ASP file, from the end of the HCPCS long descriptor. A unit
 * on a claim is one multiple of the amount in the long descriptor (coding-rules R9.1, HCPRO-0636).
 *
 * Forms found in the January 2026 files and how each reads (see the import test for every one):
 * - an amount: "20 MG", "1MG", "1.125 GM", "500 MCG", "1 ML", "1000 CC", "150 IU", "1000 UNITS",
 *   "5 Unit", "1 USP UNIT", "2 MEQ", "1 microCurie", "1 SQ CM", "1 million PFU",
 *   "1 I.U. VWF:RCO", "PER FACTOR VIII IU" → that amount in UCUM (mg, g, ug, mL, [iU], U, meq, uCi,
 *   cm2, 10*6.[PFU]; mCi for descriptors in millicuries);
 * - "UP TO 50 MG" → 50 mg (a dose below it is still one unit, R9.2);
 * - an amount with its equivalent, "300 MCG (1500 IU)" → 300 ug, and 1500 [iU] for doses in IU;
 * - a combination, "10 MG/3MG", "4 MG-4 MG-2 MG", "3 MG & 3 MG", "0.25 MG - 5 MG" → the first-named
 *   component (doses are read as that ingredient's amount; the engine says so on the line);
 *   "75mg (50mg cft/25mg taz)" → the stated total, 75 mg;
 * - "Per 3.2 mg single-use applicator" → 3.2 mg;
 * - per package: "PER VIAL", "1 EA", "1 EACH" → units = packages used;
 * - per administration: "per dose", "1 DOSE", "PER THERAPEUTIC DOSE", "PER IMPLANT",
 *   "Per infusion (minimum 50 million cells)", "UP TO 200 MILLION CAR T CELLS" (and the other CAR-T
 *   cell counts), "Less than or equal to 7 days of therapy", "Greater than 7 days and up to 28 days
 *   of therapy" → one unit per administration;
 * - a dose range, "Less than or equal to 100 MG", "Greater than 100 MG" → one unit per
 *   administration whose dose is in the range (outside it, the code is wrong: the engine says so).
 */

export interface Amount {
  readonly value: number;
  /** UCUM unit. */
  readonly unit: string;
}

export interface DoseBound extends Amount {
  readonly inclusive: boolean;
}

export type BillingUnit =
  | {
      readonly kind: 'amount';
      readonly value: number;
      readonly unit: string;
      /** "UP TO n": same arithmetic, said on the line. */
      readonly upTo?: true;
      /** "300 MCG (1500 IU)": the same unit expressed in another measure, for doses documented in it. */
      readonly alt?: Amount;
      /** A combination product: every component; `value`/`unit` is the first one or the stated total. */
      readonly components?: readonly Amount[];
      /** `value` is the total the descriptor states for the components together. */
      readonly total?: true;
    }
  | {
      readonly kind: 'per-administration';
      /** What one unit is: "dose", "therapeutic dose", "implant", "infusion", "7 days of therapy"... */
      readonly per: string;
      readonly max?: DoseBound;
      readonly min?: DoseBound;
    }
  | { readonly kind: 'per-package'; readonly per: string };

/** CMS unit words → UCUM. */
const UNIT_WORDS: readonly (readonly [RegExp, string])[] = [
  [/^(MG|MGS|MILLIGRAMS?)$/, 'mg'],
  [/^(GM|GMS|G|GRAMS?)$/, 'g'],
  [/^(MCG|MICROGRAMS?|UG)$/, 'ug'],
  [/^(ML|CC|MILLILITERS?)$/, 'mL'],
  [/^(IU|I\.U\.|INTERNATIONAL UNITS?)( VWF:RCO)?$/, '[iU]'],
  [/^(UNITS?|USP UNITS?)$/, 'U'],
  [/^(MEQ)$/, 'meq'],
  [/^(MICROCURIES?|UCI)$/, 'uCi'],
  [/^(MILLICURIES?|MCI)$/, 'mCi'],
  [/^(SQ CM|CM2)$/, 'cm2'],
  [/^(MILLION PFU)$/, '10*6.[PFU]'],
];

function ucum(word: string): string | undefined {
  const w = word.trim().toUpperCase();
  return UNIT_WORDS.find(([re]) => re.test(w))?.[1];
}

const NUMBER = '(\\d+(?:,\\d{3})*(?:\\.\\d+)?|\\.\\d+)';

function num(s: string): number {
  return Number(s.replace(/,/g, ''));
}

/** "20 MG", "1MG", "1.125 GM" → amount; undefined otherwise. */
function amountOf(s: string): Amount | undefined {
  const m = new RegExp(`^${NUMBER}\\s*(.+)$`).exec(s.trim());
  if (!m?.[1] || !m[2]) {
    return undefined;
  }
  const unit = ucum(m[2]);
  const value = num(m[1]);
  return unit && value > 0 ? { value, unit } : undefined;
}

/** Parses a CMS "HCPCS Code Dosage" string; undefined when it is not one of the known forms. */
export function parseHcpcsDosage(raw: string): BillingUnit | undefined {
  const s = raw
    .replace(/[\s\u00a0]+/g, ' ')
    .trim()
    .toUpperCase();
  if (s === '') {
    return undefined;
  }
  // Per administration.
  if (/^(PER )?(THERAPEUTIC )?DOSE$/.test(s) || /^1 DOSE$/.test(s)) {
    return { kind: 'per-administration', per: s.includes('THERAPEUTIC') ? 'therapeutic dose' : 'dose' };
  }
  if (/^PER IMPLANT$/.test(s)) {
    return { kind: 'per-administration', per: 'implant' };
  }
  if (/^PER INFUSION\b/.test(s)) {
    return { kind: 'per-administration', per: 'infusion' };
  }
  if (/\bT CELLS\b|\bCAR[- ]/.test(s)) {
    return { kind: 'per-administration', per: 'therapeutic dose (CAR-T cells)' };
  }
  const days = /DAYS OF THERAPY$/.test(s);
  if (days) {
    return { kind: 'per-administration', per: s.toLowerCase() };
  }
  const bound = new RegExp(`^(LESS THAN OR EQUAL TO|GREATER THAN) (.+)$`).exec(s);
  if (bound?.[1] && bound[2]) {
    const a = amountOf(bound[2]);
    if (a) {
      return bound[1] === 'GREATER THAN'
        ? { kind: 'per-administration', per: 'administration', min: { ...a, inclusive: false } }
        : { kind: 'per-administration', per: 'administration', max: { ...a, inclusive: true } };
    }
    return undefined;
  }
  // Per package.
  if (s === 'PER VIAL') {
    return { kind: 'per-package', per: 'vial' };
  }
  if (s === '1 EA' || s === '1 EACH') {
    return { kind: 'per-package', per: 'each' };
  }
  if (s === 'PER FACTOR VIII IU') {
    return { kind: 'amount', value: 1, unit: '[iU]' };
  }
  const applicator = new RegExp(`^PER ${NUMBER} ?(\\S+) SINGLE-USE APPLICATOR$`).exec(s);
  if (applicator?.[1] && applicator[2]) {
    const amount = amountOf(`${applicator[1]} ${applicator[2]}`);
    return amount ? { kind: 'amount', ...amount } : undefined;
  }
  // "UP TO n unit" / "PER n unit".
  const prefixed = /^(UP TO|PER) (.+)$/.exec(s);
  if (prefixed?.[2]) {
    const inner = parseHcpcsDosage(prefixed[2]);
    if (inner?.kind === 'amount' && !inner.components) {
      return prefixed[1] === 'UP TO' ? { ...inner, upTo: true } : inner;
    }
    return undefined;
  }
  // "75MG (50MG CFT/25MG TAZ)" (a stated total) or "300 MCG (1500 IU)" (an equivalent).
  const paren = /^([^()]+)\((.+)\)$/.exec(s);
  if (paren?.[1] && paren[2]) {
    const main = amountOf(paren[1]);
    if (!main) {
      return undefined;
    }
    const inner = paren[2].trim();
    const alt = amountOf(inner);
    if (alt) {
      return alt.unit === main.unit ? { kind: 'amount', ...main } : { kind: 'amount', ...main, alt };
    }
    const parts = inner.split('/').map((p) => amountOf(p.replace(/[A-Z]+$/, '').trim()));
    if (parts.length > 1 && parts.every((p) => p !== undefined)) {
      return { kind: 'amount', ...main, components: parts, total: true };
    }
    return undefined;
  }
  const simple = amountOf(s);
  if (simple) {
    return { kind: 'amount', ...simple };
  }
  // Combinations: "10 MG/3MG", "4 MG-4 MG-2 MG", "3 MG & 3 MG", "0.25 MG - 5 MG".
  const parts = s.split(/\s*(?:\/|&|\s-\s|(?<=[A-Z])-(?=\s*\d))\s*/);
  if (parts.length > 1) {
    const amounts = parts.map(amountOf);
    if (amounts.every((a) => a !== undefined)) {
      const first = amounts[0] as Amount;
      return { kind: 'amount', ...first, components: amounts };
    }
  }
  return undefined;
}

/**
 * The billing unit at the end of a HCPCS long descriptor ("Injection, vancomycin hcl, 500 mg",
 * "…, per 1 mg", "…, up to 50 mg", "…, 1 microgram", "…, per i.u.", "…, per therapeutic dose"),
 * for codes the ASP file does not list. Trailing parentheticals ("(for esrd on dialysis)", "(code may
 * be used for medicare when …)") are ignored. Undefined when the descriptor ends otherwise.
 */
export function parseDescriptorUnit(longDescriptor: string): BillingUnit | undefined {
  let s = longDescriptor.replace(/[\s\u00a0]+/g, ' ').trim();
  // "…, per study dose, up to 5 millicuries": the unit is the dose; the amount is its ceiling.
  const perDose = /\bper (study|therapeutic) dose\b/i.exec(s);
  if (perDose?.[1]) {
    return { kind: 'per-administration', per: `${perDose[1].toLowerCase()} dose` };
  }
  // Drop trailing parentheticals, one at a time.
  for (let i = 0; i < 3; i++) {
    const next = s.replace(/\s*\([^()]*\)\s*$/, '').trim();
    if (next === s) {
      break;
    }
    s = next;
  }
  const last = s.split(',').pop()?.trim() ?? '';
  const direct = parseHcpcsDosage(last);
  if (direct) {
    return direct;
  }
  // "per i.u." (of factor activity) is one IU; "per gm" is one gram.
  const normalized = /^(per|up to)\s+i\.u\.$/i.test(last)
    ? '1 IU'
    : last.replace(/^per\s+(?=[a-z])/i, 'PER 1 ');
  // Anything else ("…, 10 mg/ml", "…, 4 ml vial") is not a billing unit Dripline can trust.
  return parseHcpcsDosage(normalized);
}

/** A billing unit in words, for rationale text: "20 mg", "up to 50 mg", "1 per vial". */
export function describeBillingUnit(unit: BillingUnit): string {
  switch (unit.kind) {
    case 'amount':
      return `${unit.upTo ? 'up to ' : ''}${unit.value} ${unit.unit}${unit.alt ? ` (${unit.alt.value} ${unit.alt.unit})` : ''}`;
    case 'per-administration':
      return `1 per ${unit.per}${unit.max ? ` (≤ ${unit.max.value} ${unit.max.unit})` : ''}${unit.min ? ` (> ${unit.min.value} ${unit.min.unit})` : ''}`;
    case 'per-package':
      return `1 per ${unit.per === 'each' ? 'package (each)' : unit.per}`;
  }
}
