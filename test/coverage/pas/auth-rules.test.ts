/** Payer rules for prior authorization: per payer kind and per payer, by effective date; one table for the trigger and the scrubber. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import {
  authorizationRuleFor,
  loadPriorAuthTable,
  parsePriorAuthTable,
  requiresAuthorization,
} from '../../../src/coverage/pas/auth-rules.ts';
import { scrubClaim } from '../../../src/claims/scrub.ts';
import { loadClaimRules } from '../../../src/claims/scrub/rules.ts';
import { loadCodingTables } from '../../../src/coding/tables/load.ts';
import { contextOf, DOS, fixture } from '../../claims/fixtures.ts';

const base = {
  effective: '2025-01-01',
  payers: {
    medicare: { therapyClasses: [], hcpcs: [], exempt: [], verification: 'UNVERIFIED' },
    medicaid: { therapyClasses: ['biologic'], hcpcs: [], exempt: [], verification: 'UNVERIFIED' },
    commercial: {
      therapyClasses: ['biologic'],
      hcpcs: ['J2505'],
      exempt: ['J1745'],
      verification: 'UNVERIFIED',
    },
  },
  byPayer: [
    {
      payerId: '15202',
      effective: '2025-03-01',
      hcpcs: ['J1745'],
      therapyClasses: [],
      verification: 'V',
      source: 'MA plan bulletin',
    },
    {
      payerId: '15202',
      effective: '2025-06-01',
      until: '2025-06-30',
      hcpcs: [],
      therapyClasses: [],
      verification: 'V',
    },
  ],
};

describe('authorizationRuleFor', () => {
  const table = parsePriorAuthTable(base);
  const medicare = { payerId: '15202', kind: 'medicare' as const };

  test('a payer entry replaces its kind from its effective date, and only while in force', () => {
    expect(
      requiresAuthorization(authorizationRuleFor(table, medicare, '2025-02-28'), 'J1745', 'biologic'),
    ).toBe(false);
    const march = authorizationRuleFor(table, medicare, '2025-03-01');
    expect(requiresAuthorization(march, 'J1745', 'biologic')).toBe(true);
    expect(march.source).toBe('prior-auth.json 15202 from 2025-03-01 (MA plan bulletin) [V]');
    // June: a later entry (nothing required) wins; July: back to the March entry.
    expect(
      requiresAuthorization(authorizationRuleFor(table, medicare, '2025-06-15'), 'J1745', undefined),
    ).toBe(false);
    expect(
      requiresAuthorization(authorizationRuleFor(table, medicare, '2025-07-01'), 'J1745', undefined),
    ).toBe(true);
  });

  test('kind defaults: therapy class or code, exempt codes, nothing before the table is in force', () => {
    const commercial = { payerId: 'ANY', kind: 'commercial' as const };
    const rule = authorizationRuleFor(table, commercial, '2025-05-01');
    expect(requiresAuthorization(rule, 'j2505', undefined)).toBe(true);
    expect(requiresAuthorization(rule, 'J0135', 'biologic')).toBe(true);
    expect(requiresAuthorization(rule, 'J1745', 'biologic')).toBe(false);
    expect(requiresAuthorization(rule, 'J3370', 'anti-infective')).toBe(false);
    expect(rule.source).toBe('prior-auth.json commercial [UNVERIFIED]');
    expect(
      requiresAuthorization(authorizationRuleFor(table, commercial, '2024-12-31'), 'J2505', undefined),
    ).toBe(false);
  });

  test('a malformed table is refused naming the field', () => {
    expect(() => parsePriorAuthTable({ ...base, effective: 'soon' })).toThrow(/effective/);
    expect(() => parsePriorAuthTable({ ...base, byPayer: [{ effective: '2025-01-01' }] })).toThrow(
      /byPayer\[0\]\.payerId/,
    );
    expect(() =>
      parsePriorAuthTable({
        ...base,
        payers: { medicare: base.payers.medicare, medicaid: base.payers.medicaid },
      }),
    ).toThrow(/commercial is missing/);
  });

  test('the shipped table loads', () => {
    const shipped = loadPriorAuthTable();
    expect(shipped.payers.commercial.therapyClasses).toContain('biologic');
  });
});

describe('the scrubber reads the same rule', () => {
  const tables = loadCodingTables();
  test("one table, coverage's: the scrubber's prior authorization rule is the table coverage loads", () => {
    // The table lives in src/coverage/rules/; claims reads it through coverage's module, not by path.
    expect(loadClaimRules().priorAuth).toBe(loadPriorAuthTable());
    expect(
      existsSync(fileURLToPath(new URL('../../../src/coverage/rules/prior-auth.json', import.meta.url))),
    ).toBe(true);
    expect(
      existsSync(fileURLToPath(new URL('../../../src/claims/rules/prior-auth.json', import.meta.url))),
    ).toBe(false);
  });

  test('a per-payer entry in force on the date of service makes the claim need an authorization', () => {
    const rules = loadClaimRules();
    const f = fixture('medicare');
    f.input.preAuthRefs = [];
    const ctx = contextOf(f);
    const withEntry = {
      ...rules,
      priorAuth: parsePriorAuthTable({ ...base, byPayer: [{ ...base.byPayer[0], effective: DOS }] }),
    };
    const later = {
      ...rules,
      priorAuth: parsePriorAuthTable({ ...base, byPayer: [{ ...base.byPayer[0], effective: '2025-03-11' }] }),
    };
    const priorAuth = (r: typeof rules): string[] =>
      scrubClaim(ctx, tables, r)
        .filter((x) => x.ruleId === 'prior-auth')
        .map((x) => x.source);
    const found = priorAuth(withEntry);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`prior-auth.json 15202 from ${DOS} (MA plan bulletin) [V]`);
    expect(priorAuth(later)).toEqual([]);
  });

  test('a prior authorization request (use preauthorization) asking for the same drug on the same day is no duplicate of the claim', () => {
    const ctx = contextOf(fixture());
    const request = { ...structuredClone(ctx.claim), id: 'pas-x-1', use: 'preauthorization' as const };
    const duplicates = scrubClaim({ ...ctx, otherClaims: [request] }, tables).filter(
      (x) => x.ruleId === 'duplicate-claim',
    );
    expect(duplicates).toEqual([]);
  });
});
