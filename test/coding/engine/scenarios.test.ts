/**
 * Scenario table (scenario-table.ts) run through the engine: expected lines (code × units ×
 * modifiers), one rule id per test name. Real tables (src/coding/tables).
 */
import { describe, expect, test } from '@jest/globals';
import { codeEncounters } from '../../../src/coding/engine/index.ts';
import { SCENARIOS as S } from './scenario-table.ts';
import { show, TABLES } from './helpers.ts';

describe('coding engine scenarios', () => {
  test('the table is large enough', () => {
    expect(S.length).toBeGreaterThanOrEqual(100);
  });

  test.each(S.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const result = codeEncounters(s.input, s.tables ?? TABLES);
    const sorted = (xs: readonly string[]) => [...xs].sort();
    const pick = (kinds: readonly string[] | undefined) =>
      result.lines.filter((l) => !kinds || kinds.includes(l.kind)).map((l) => show(l, s.withDates));
    if (s.all) {
      expect(sorted(pick(undefined))).toEqual(sorted(s.all));
    }
    if (s.admin) {
      expect(sorted(pick(['administration']))).toEqual(sorted(s.admin));
    }
    if (s.drugs) {
      expect(sorted(pick(['drug', 'drug-waste']))).toEqual(sorted(s.drugs));
    }
    for (const code of s.issues ?? []) {
      expect(result.issues.map((i) => i.code)).toContain(code);
    }
    if (s.held) {
      expect([...result.held].sort()).toEqual([...s.held].sort());
    }
    for (const line of result.lines) {
      expect(line.rationale.rule).toMatch(/^R\d/);
      expect(line.rationale.sources.length).toBeGreaterThan(0);
      // Units are whole and at least 1, except on a held line (units unknown: 0, with its reason).
      expect(
        Number.isInteger(line.units) && (line.units > 0 || (line.units === 0 && line.hold !== undefined)),
      ).toBe(true);
    }
  });
});
