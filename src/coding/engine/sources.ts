/**
 * Rule ids → source keys of ../shared/research/coding-rules.md, and the rationale builder every
 * line goes through (so no line leaves the engine without a rule and its sources).
 */
import type { LineRationale } from '../types.ts';
import { WASTE_INSIDE_UNIT_SOURCE } from './waste-modifiers.ts';

export const RULE_SOURCES: Readonly<Record<string, readonly string[]>> = {
  'R1.2': ['NOR-JF-CHEMO', 'NOR-JF-COMPLEX', 'AMERIHEALTH-CX', 'JANSSEN-REMI'],
  'R1.3': ['AAPC-SEQ', 'CC-NONCHEMO'],
  'R1.4': ['AAPC-SEQ', 'UWHC'],
  'R1.5': ['SELECT-HYD', 'AAPC-SEQ'],
  'R2.1': ['NCCI-XI', 'AAPC-2TRIPS', 'CMS-RAC-0071'],
  'R2.2': ['CMS-RAC-0071', 'NCCI-IND'],
  'R2.3': ['CH4-230.2'],
  'R2.4': ['AAPC-2TRIPS'],
  'R3.1': ['NOR-JF-CHEMO', 'CH12-30.5', 'CC-NONCHEMO', 'MPS-HYD'],
  'R3.2': ['CC-NONCHEMO', 'MPS-HYD'],
  'R3.3': ['JANSSEN-REMI', 'UWHC', 'CC-NONCHEMO'],
  'R3.4': ['AAPC-F-HYD', 'MPS-HYD', 'CA-96361'],
  'R3.5': ['NOR-HYD', 'UWHC', 'CH12-30.5'],
  'R3.6': ['SELECT-HYD', 'CA-96361', 'CC-NONCHEMO'],
  'R3.7': ['CH4-230.2', 'AAPC-F-HYD'],
  'R4.1': ['CC-NONCHEMO'],
  'R4.2': ['CC-NONCHEMO', 'OBC-MIAMI'],
  'R4.4': ['NCCI-XI', 'AAPC-NS-CHEMO', 'SELECT-HYD', 'CA-96361'],
  'R4.5': ['NCCI-XI', 'AAPC-NS-CHEMO', 'CA-96361', 'SELECT-HYD'],
  'R5.1': ['AAPC-96376', 'OBC-MIAMI', 'CC-NONCHEMO'],
  'R5.2': ['AAPC-96376', 'AAPC-F-PUSH'],
  'R5.3': ['AAPC-F-PUSH', 'CC-NONCHEMO'],
  'R6.1': ['AMERIHEALTH-CX'],
  'R7.1': ['CA-96416', 'CCE-96417', 'AAPC-SEQ'],
  'R7.2': ['CA-96416'],
  'R7.3': ['NOR-JF-CHEMO'],
  'R7.4': ['CC-NONCHEMO'],
  'R9.1': ['HCPRO-0636'],
  'R9.2': ['FAC-JW', 'MEDLEARN-JW'],
  'R10.1': ['RPM-JW', 'NOR-JWJZ', 'FCSO-JW'],
  'R10.2': ['CGS-JZ', 'NOR-JWJZ', 'NOR-JWJZ-FAQ'],
  'R10.3': ['NOR-JWJZ', 'PH-JWJZ', 'FCSO-JW'],
  // The line's JZ: the CMS FAQ example as Noridian JD DME restates it (src/coding/engine/waste-modifiers.ts).
  'R10.4': ['MEDLEARN-JW', 'FAC-JW', WASTE_INSIDE_UNIT_SOURCE],
  'R10.5': ['PH-JWJZ'],
  'R11.1': ['ANTHEM-NDC'],
  'R11.4': ['RESDAC-UOM', 'CMS-HPT-144'],
  'R11.5': ['MEDSTAR-NDC'],
  'R12.1': ['EH-340B'],
  'R14.2': ['HCPRO-0636', 'TMHP-REV'],
  'R15.1': ['BPM-320', 'CFR-414.1550', 'DME-HIT-FAQ'],
  'R15.2': ['NHIA', 'BCBSND-HIT', 'HCPCS-S', 'MCD-99601'],
};

/** Merged sources by rule list: the same few lists recur on every line, and the arrays are read-only. */
const merged = new Map<string, readonly string[]>();

function sourcesOf(ids: readonly string[]): readonly string[] {
  const key = ids.join('|');
  let sources = merged.get(key);
  if (!sources) {
    sources = [...new Set(ids.flatMap((r) => RULE_SOURCES[r] ?? []))];
    merged.set(key, sources);
  }
  return sources;
}

/** Builds a rationale; the sources of every rule id named are merged (first rule is the deciding one). */
export function rationale(
  rules: string | readonly string[],
  text: string,
  extra?: { minutes?: number; amounts?: Record<string, number> },
): LineRationale {
  const ids = typeof rules === 'string' ? [rules] : rules;
  return {
    rule: ids[0] ?? 'R0',
    sources: sourcesOf(ids),
    text,
    ...(extra?.minutes !== undefined ? { minutes: extra.minutes } : {}),
    ...(extra?.amounts !== undefined ? { amounts: extra.amounts } : {}),
  };
}

/**
 * The rationale with more sources joined (the family decision's, category.ts: every step of R1.2 is
 * cited on the administration lines). Lists are joined once per pair of shared, read-only arrays.
 */
export function withSources(r: LineRationale, more: readonly (readonly string[])[]): LineRationale {
  let sources = r.sources;
  for (const extra of more) {
    sources = joinedSources(sources, extra);
  }
  return sources === r.sources ? r : { ...r, sources };
}

const joined = new WeakMap<readonly string[], WeakMap<readonly string[], readonly string[]>>();

function joinedSources(a: readonly string[], b: readonly string[]): readonly string[] {
  if (b.length === 0) {
    return a;
  }
  let byB = joined.get(a);
  if (!byB) {
    byB = new WeakMap();
    joined.set(a, byB);
  }
  let both = byB.get(b);
  if (!both) {
    both = [...new Set([...a, ...b])];
    byB.set(b, both);
  }
  return both;
}
