/**
 * The denial forecast model (src/claims/risk/denial-model.ts) on a hand-counted history, every
 * expected figure worked out by hand from the smoothing the module states (m = 5):
 *
 * History: payer acme billed J1745 10 times (4 denied: 3 × CARC 197, 1 × CARC 50) and 96365 10
 * times (none denied); payer other billed J1745 5 times (none denied). 25 lines, 4 denied.
 *   p(all)              = (4 + 1) / (25 + 2)            = 5/27
 *   p(acme)             = (4 + 5·5/27) / (20 + 5)       = 133/675
 *   p(acme, J1745)      = (4 + 5·133/675) / (10 + 5)    = 673/2025
 *   p(acme, J1745, –)   = (4 + 5·673/2025) / (10 + 5)   = 2293/6075 ≈ 0.3774
 *   p(acme, 96365)      = (0 + 5·133/675) / (10 + 5)    = 133/2025
 *   p(acme, 96365, –)   = (0 + 5·133/2025) / (10 + 5)   = 133/6075 ≈ 0.0219
 *   p(acme, J1745, JW)  = (0 + 5·673/2025) / (0 + 5)    = 673/2025 ≈ 0.3323 (never seen: the code's rate)
 * A claim of J1745 + 96365: risk = 1 − (1 − 2293/6075)(1 − 133/6075) ≈ 0.3911.
 * Reasons: CARC 197 = ¾ of each line's denials (J1745: its own history; 96365: acme's) →
 * 0.75 × (0.37745 + 0.02189) ≈ 0.2995; CARC 50 = ¼ → ≈ 0.0998.
 */
import { describe, expect, test } from '@jest/globals';
import type { LineOutcome } from '../../src/claims/risk/denial-model.ts';
import { buildDenialModel, scoreClaim } from '../../src/claims/risk/denial-model.ts';
import { denialRiskFindings } from '../../src/claims/risk/findings.ts';

function lines(
  n: number,
  line: Omit<LineOutcome, 'denied' | 'carcs'>,
  denied: string[][] = [],
): LineOutcome[] {
  return Array.from({ length: n }, (_, i) => ({
    ...line,
    denied: i < denied.length,
    carcs: denied[i] ?? [],
  }));
}

const HISTORY: LineOutcome[] = [
  ...lines(10, { payer: 'acme', code: 'J1745', modifiers: [] }, [['197'], ['197'], ['197'], ['50']]),
  ...lines(10, { payer: 'acme', code: '96365', modifiers: [] }),
  ...lines(5, { payer: 'other', code: 'J1745', modifiers: [] }),
];

describe('denial forecast model', () => {
  const model = buildDenialModel(HISTORY);

  test('a line probability is the smoothed rate at each level, widest first', () => {
    const risk = scoreClaim(model, {
      payer: 'acme',
      lines: [{ sequence: 1, code: 'J1745', modifiers: [] }],
    });
    expect(risk?.lines[0]?.basis).toEqual([
      { level: 'all', lines: 25, denied: 4, probability: 0.1852 },
      { level: 'payer', lines: 20, denied: 4, probability: 0.197 },
      { level: 'payer-code', lines: 10, denied: 4, probability: 0.3323 },
      { level: 'payer-code-modifiers', lines: 10, denied: 4, probability: 0.3774 },
    ]);
    expect(risk?.risk).toBe(0.3774);
  });

  test('a claim is denied when any line is: 1 − Π(1 − p), with the CARCs weighted by each line', () => {
    const risk = scoreClaim(model, {
      payer: 'acme',
      lines: [
        { sequence: 1, code: 'J1745', modifiers: [] },
        { sequence: 2, code: '96365', modifiers: [] },
      ],
    });
    expect(risk?.lines.map((l) => l.probability)).toEqual([0.3774, 0.0219]);
    expect(risk?.risk).toBe(0.3911);
    expect(risk?.reasons).toEqual([
      { carc: '197', weight: 0.2995, lines: [1, 2] },
      { carc: '50', weight: 0.0998, lines: [1, 2] },
    ]);
    expect(risk?.historyLines).toBe(25);
    expect(risk?.priorWeight).toBe(5);
  });

  test('modifiers never seen fall back to the code rate; another payer has its own history', () => {
    const jw = scoreClaim(model, {
      payer: 'acme',
      lines: [{ sequence: 1, code: 'J1745', modifiers: ['JW'] }],
    });
    expect(jw?.risk).toBe(0.3323);
    // other: p(other) = (0 + 5·5/27)/(5 + 5) = 5/54; p(other, J1745) = (0 + 5·5/54)/10 = 5/108;
    // p(other, J1745, –) = (0 + 5·5/108)/10 = 5/216 ≈ 0.0231.
    const other = scoreClaim(model, {
      payer: 'other',
      lines: [{ sequence: 1, code: 'J1745', modifiers: [] }],
    });
    expect(other?.risk).toBe(0.0231);
  });

  test('modifier order does not matter', () => {
    const m = buildDenialModel(lines(3, { payer: 'acme', code: 'J9035', modifiers: ['JZ', 'GA'] }, [['16']]));
    const a = scoreClaim(m, {
      payer: 'acme',
      lines: [{ sequence: 1, code: 'J9035', modifiers: ['GA', 'JZ'] }],
    });
    expect(a?.lines[0]?.basis.at(-1)).toMatchObject({ lines: 3, denied: 1 });
  });

  test('no history: no score, no finding', () => {
    const empty = buildDenialModel([]);
    expect(scoreClaim(empty, { payer: 'acme', lines: [{ sequence: 1, code: 'J1745', modifiers: [] }] })).toBe(
      undefined,
    );
    expect(denialRiskFindings(undefined, 0.2)).toEqual([]);
  });

  test('the scrubber finding: information by default, an overridable error above the threshold', () => {
    const risk = scoreClaim(model, { payer: 'acme', lines: [{ sequence: 1, code: 'J1745', modifiers: [] }] });
    const info = denialRiskFindings(risk, undefined);
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({ ruleId: 'denial-risk', severity: 'information' });
    expect(info[0]?.message).toContain('37.7 %');
    expect(info[0]?.message).toContain('CARC 197');
    expect(denialRiskFindings(risk, 0.5)[0]).toMatchObject({
      ruleId: 'denial-risk',
      severity: 'information',
    });
    const held = denialRiskFindings(risk, 0.3);
    expect(held[0]).toMatchObject({ ruleId: 'denial-risk-hold', severity: 'error', overridable: true });
    expect(held[0]?.message).toContain('30.0 %');
  });
});
