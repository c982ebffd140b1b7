/**
 * Drug names as match keys, shared by the import (names of each HCPCS code: the drug named in its
 * long descriptor, its brand in parentheses, the crosswalk's drug names) and the engine's
 * lower-confidence fallback that finds a HCPCS code from a Medication's text alone. A key is the
 * name's significant words, lower case, sorted: "Irinotecan HCl" → "irinotecan",
 * "piperacillin sodium/tazobactam sodium" → "piperacillin tazobactam". Salt words are dropped
 * unless nothing else is left ("potassium chloride" stays itself).
 */

/** Words that say nothing about which drug it is. */
const NOISE = new Set([
  'injection',
  'injectable',
  'inj',
  'infusion',
  'intravenous',
  'iv',
  'im',
  'sc',
  'subcutaneous',
  'intramuscular',
  'for',
  'use',
  'and',
  'with',
  'in',
  'of',
  'per',
  'up',
  'to',
  'the',
  'solution',
  'soln',
  'sol',
  'powder',
  'pwd',
  'lyophilized',
  'non',
  'vial',
  'vials',
  'syringe',
  'prefilled',
  'pfs',
  'single',
  'dose',
  'multi',
  'multiple',
  'sdv',
  'mdv',
  'bag',
  'premix',
  'premixed',
  'kit',
  'nos',
  'usp',
  'excludes',
  'excl',
  'biosimilar',
  'not',
  'otherwise',
  'specified',
  'mg',
  'mcg',
  'ug',
  'g',
  'gm',
  'gram',
  'grams',
  'ml',
  'l',
  'cc',
  'units',
  'unit',
  'u',
  'iu',
  'meq',
  'mmol',
  'each',
  'ea',
  'therapeutic',
  'liquid',
  'human',
  'recombinant',
  'e',
  'g.',
  'x',
]);

/** Salt and ester words: dropped when another word names the drug. */
const SALTS = new Set([
  'hcl',
  'hydrochloride',
  'dihydrochloride',
  'sodium',
  'disodium',
  'potassium',
  'calcium',
  'magnesium',
  'acetate',
  'sulfate',
  'phosphate',
  'citrate',
  'mesylate',
  'maleate',
  'tartrate',
  'bitartrate',
  'succinate',
  'bromide',
  'chloride',
  'besylate',
  'fumarate',
  'lactate',
  'gluconate',
  'pamoate',
  'dipropionate',
  'propionate',
  'valerate',
  'cypionate',
  'enanthate',
  'decanoate',
  'monohydrate',
  'dihydrate',
  'trihydrate',
  'anhydrous',
  'base',
  'free',
]);

/** The words of a drug name or a documented text, lower case, without numbers and noise. */
export function nameWords(text: string): string[] {
  const words = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter((w) => w.length > 1 && !/^\d/.test(w) && !NOISE.has(w));
  const significant = words.filter((w) => !SALTS.has(w));
  return [...new Set(significant.length > 0 ? significant : words)];
}

/** A name's match key ("" when it has no significant word). */
export function nameKey(name: string): string {
  return nameWords(name).sort().join(' ');
}

/**
 * Names a HCPCS long descriptor gives: the drug after "Injection," up to the next comma, and each
 * parenthesised word that is not a remark ("(inflectra)", not "(for esrd on dialysis)").
 */
export function descriptorNames(longDescriptor: string): string[] {
  const s = longDescriptor.replace(/[\s\u00a0]+/g, ' ').trim();
  const body = s.replace(/^(injection|inj|infusion)\b[,.]?\s*/i, '');
  const first = body.split(',')[0] ?? '';
  const names = [first.replace(/\([^)]*\)/g, ' ')];
  for (const m of s.matchAll(/\(([^()]{3,40})\)/g)) {
    const inner = m[1] ?? '';
    if (
      !/\b(for|use|code|used|see|e\.g|includes?|excludes?|not|per|any|each|other|than|dialysis|esrd)\b|\d/i.test(
        inner,
      )
    ) {
      names.push(inner);
    }
  }
  return names;
}
