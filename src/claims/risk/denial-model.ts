/**
 * Denial forecasting (pure): how likely a claim is to be denied, from the tenant's own history of
 * first adjudications, counted line by line as payer × code × modifiers → denied or not, with the
 * CARCs the payer gave. No black box: every probability is a smoothed rate of counts the answer
 * shows.
 *
 * Smoothing (stated so it can be checked by hand), with m = `priorWeight` (default 5 lines):
 *   p(all)                 = (denied + 1) / (lines + 2)                      (Laplace)
 *   p(payer)               = (denied + m·p(all))   / (lines + m)
 *   p(payer, code)         = (denied + m·p(payer)) / (lines + m)
 *   p(payer, code, mods)   = (denied + m·p(payer, code)) / (lines + m)
 * so a combination seen rarely leans on the wider rate, and one seen often speaks for itself.
 * A claim is denied when any of its lines is (lines taken as independent):
 *   risk = 1 − Π (1 − p(line)).
 * Reasons: each CARC's expected share of the denials, Σ over lines of p(line) × the CARC's share
 * of that line's denied history (at the most specific level that has a denial).
 *
 * The analytics capability builds the history from posted payments (src/analytics/denial-history.ts);
 * the scrubber reads the score (./findings.ts) and the API serves it (/api/analytics/denial-risk).
 */

/** One adjudicated claim line: the first answer its claim had (reversals and voids excluded). */
export interface LineOutcome {
  readonly payer: string;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly denied: boolean;
  /** The CARCs of a denied line (not patient responsibility). */
  readonly carcs: readonly string[];
}

export interface OutcomeCounts {
  readonly lines: number;
  readonly denied: number;
  /** Denied lines per CARC (a line with two CARCs counts for both). */
  readonly carcs: ReadonlyMap<string, number>;
}

export interface DenialModel {
  readonly priorWeight: number;
  readonly all: OutcomeCounts;
  readonly byPayer: ReadonlyMap<string, OutcomeCounts>;
  readonly byCode: ReadonlyMap<string, OutcomeCounts>;
  readonly byKey: ReadonlyMap<string, OutcomeCounts>;
}

export const DEFAULT_PRIOR_WEIGHT = 5;

type Mutable = { lines: number; denied: number; carcs: Map<string, number> };

const modifierKey = (modifiers: readonly string[]): string => [...modifiers].sort().join(',');
const codeKey = (payer: string, code: string): string => `${payer}|${code}`;
const fullKey = (payer: string, code: string, modifiers: readonly string[]): string =>
  `${payer}|${code}|${modifierKey(modifiers)}`;

function count(into: Map<string, Mutable>, key: string, outcome: LineOutcome): void {
  let c = into.get(key);
  if (!c) {
    c = { lines: 0, denied: 0, carcs: new Map() };
    into.set(key, c);
  }
  add(c, outcome);
}

function add(c: Mutable, outcome: LineOutcome): void {
  c.lines += 1;
  if (outcome.denied) {
    c.denied += 1;
    for (const carc of new Set(outcome.carcs)) {
      c.carcs.set(carc, (c.carcs.get(carc) ?? 0) + 1);
    }
  }
}

export function buildDenialModel(
  outcomes: Iterable<LineOutcome>,
  options: { priorWeight?: number } = {},
): DenialModel {
  const all: Mutable = { lines: 0, denied: 0, carcs: new Map() };
  const byPayer = new Map<string, Mutable>();
  const byCode = new Map<string, Mutable>();
  const byKey = new Map<string, Mutable>();
  for (const o of outcomes) {
    add(all, o);
    count(byPayer, o.payer, o);
    count(byCode, codeKey(o.payer, o.code), o);
    count(byKey, fullKey(o.payer, o.code, o.modifiers), o);
  }
  return { priorWeight: options.priorWeight ?? DEFAULT_PRIOR_WEIGHT, all, byPayer, byCode, byKey };
}

export type RiskLevel = 'all' | 'payer' | 'payer-code' | 'payer-code-modifiers';

export interface RiskBasis {
  readonly level: RiskLevel;
  readonly lines: number;
  readonly denied: number;
  /** The smoothed probability at this level. */
  readonly probability: number;
}

export interface LineRisk {
  readonly sequence: number;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly probability: number;
  /** From the widest level to the narrowest: the counts each step used. */
  readonly basis: readonly RiskBasis[];
}

export interface RiskReason {
  readonly carc: string;
  /** Expected share of a denial this CARC explains (Σ p(line) × share). */
  readonly weight: number;
  readonly lines: readonly number[];
}

export interface DenialRisk {
  readonly payer: string;
  readonly risk: number;
  readonly lines: readonly LineRisk[];
  /** Highest weight first (at most three). */
  readonly reasons: readonly RiskReason[];
  /** Adjudicated lines of the tenant's history the model counted. */
  readonly historyLines: number;
  readonly priorWeight: number;
}

export interface ScoredLine {
  readonly sequence: number;
  readonly code: string;
  readonly modifiers: readonly string[];
}

const EMPTY: OutcomeCounts = { lines: 0, denied: 0, carcs: new Map() };
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** The line's probability of denial and the counts behind it. */
export function lineDenialProbability(
  model: DenialModel,
  payer: string,
  line: ScoredLine,
): { probability: number; basis: RiskBasis[]; carcs: ReadonlyMap<string, number>; denied: number } {
  const m = model.priorWeight;
  const levels: [RiskLevel, OutcomeCounts][] = [
    ['payer', model.byPayer.get(payer) ?? EMPTY],
    ['payer-code', model.byCode.get(codeKey(payer, line.code)) ?? EMPTY],
    ['payer-code-modifiers', model.byKey.get(fullKey(payer, line.code, line.modifiers)) ?? EMPTY],
  ];
  let p = (model.all.denied + 1) / (model.all.lines + 2);
  const basis: RiskBasis[] = [
    { level: 'all', lines: model.all.lines, denied: model.all.denied, probability: round4(p) },
  ];
  // The CARC mix of the narrowest level that saw a denial.
  let carcs: OutcomeCounts = model.all;
  for (const [level, c] of levels) {
    p = (c.denied + m * p) / (c.lines + m);
    basis.push({ level, lines: c.lines, denied: c.denied, probability: round4(p) });
    if (c.denied > 0) {
      carcs = c;
    }
  }
  return { probability: p, basis, carcs: carcs.carcs, denied: carcs.denied };
}

/** A claim's denial risk; undefined when the tenant has no adjudicated history yet. */
export function scoreClaim(
  model: DenialModel,
  claim: { readonly payer: string; readonly lines: readonly ScoredLine[] },
): DenialRisk | undefined {
  if (model.all.lines === 0) {
    return undefined;
  }
  let paid = 1;
  const reasons = new Map<string, { weight: number; lines: number[] }>();
  const lines = claim.lines.map((line): LineRisk => {
    const { probability, basis, carcs, denied } = lineDenialProbability(model, claim.payer, line);
    paid *= 1 - probability;
    for (const [carc, n] of carcs) {
      const r = reasons.get(carc) ?? { weight: 0, lines: [] };
      r.weight += (probability * n) / Math.max(denied, 1);
      r.lines.push(line.sequence);
      reasons.set(carc, r);
    }
    return {
      sequence: line.sequence,
      code: line.code,
      modifiers: [...line.modifiers],
      probability: round4(probability),
      basis,
    };
  });
  return {
    payer: claim.payer,
    risk: round4(1 - paid),
    lines,
    reasons: [...reasons.entries()]
      .map(([carc, r]) => ({ carc, weight: round4(r.weight), lines: r.lines }))
      .sort((a, b) => b.weight - a.weight || a.carc.localeCompare(b.carc))
      .slice(0, 3),
    historyLines: model.all.lines,
    priorWeight: model.priorWeight,
  };
}
