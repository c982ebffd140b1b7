/**
 * The compiled fast check (src/fhir/fast-conformance.ts) in front of @medplum/core's validator: a
 * conforming claim takes it, every kind of violation it handles is still reported (by the full
 * validator it defers to), and it never says "conforms" where @medplum/core finds an error.
 */
import { describe, expect, test } from '@jest/globals';
import {
  evalFhirPathTyped,
  normalizeErrorString,
  parseFhirPath,
  validateResource,
  validateTypedValue,
} from '@medplum/core';
import type { Claim, ElementDefinition, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import {
  compiledProfileType,
  conformsFastToProfiles,
  getOwnProfile,
  loadFhirDefinitions,
  validateAgainstProfile,
  validateR4,
} from '../../src/fhir/definitions.ts';
import { conformsFast, fastCovers } from '../../src/fhir/fast-conformance.ts';
import { NATIVE_INVARIANTS } from '../../src/fhir/fast-invariants.ts';
import { PROFILE_CLAIM } from '../../src/contract/canonical.ts';
import { contextOf, fixture } from '../claims/fixtures.ts';

loadFhirDefinitions();
const tables = loadCodingTables();
const claimProfile = getOwnProfile(PROFILE_CLAIM) as StructureDefinition;

function builtClaim(kind: 'commercial' | 'medicare' = 'commercial'): Claim {
  return buildClaim(fixture(kind).input);
}

/** What @medplum/core's validator says of the value as the type: undefined, or its error. */
function medplumError(value: Resource, type: string): string | undefined {
  try {
    validateTypedValue({ type, value });
    return undefined;
  } catch (err) {
    return normalizeErrorString(err);
  }
}

/**
 * A test profile on Claim from dripline-claim's snapshot with one constraint of each kind the fast
 * check compiles: cardinality, a fixed value, a pattern, and FHIRPath invariants on the root and an
 * element (the primitive types' formats come with the base elements).
 */
function testProfile(): StructureDefinition {
  const sd = structuredClone(claimProfile);
  sd.url = `${claimProfile.url}-fast-conformance-test`;
  sd.id = 'fast-conformance-test';
  sd.name = 'FastConformanceTest';
  const edit = (id: string, change: (e: ElementDefinition) => void): void => {
    const element = sd.snapshot?.element.find((e) => e.id === id);
    if (!element) {
      throw new Error(`no element ${id}`);
    }
    change(element);
  };
  edit('Claim.item', (e) => {
    e.max = String(builtClaim().item?.length ?? 0);
    e.constraint = [
      ...(e.constraint ?? []),
      {
        key: 'test-item',
        severity: 'error',
        human: 'A line bills a positive quantity',
        expression: 'quantity.value > 0',
      },
    ];
  });
  edit('Claim.use', (e) => {
    e.fixedCode = 'claim';
  });
  edit('Claim.type', (e) => {
    e.patternCodeableConcept = {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
    };
  });
  edit('Claim', (e) => {
    e.constraint = [
      ...(e.constraint ?? []),
      {
        key: 'test-root',
        severity: 'error',
        human: 'At most two diagnoses',
        expression: 'diagnosis.count() <= 2',
      },
    ];
  });
  return sd;
}

describe('a conforming claim takes the fast path', () => {
  test('a built claim conforms as R4 and as dripline-claim, and the profile covers the base pass', () => {
    const claim = builtClaim();
    const type = compiledProfileType(claimProfile);
    expect(medplumError(claim, 'Claim')).toBeUndefined();
    expect(medplumError(claim, type)).toBeUndefined();
    expect(conformsFast(claim, 'Claim')).toBe(true);
    expect(conformsFast(claim, type)).toBe(true);
    expect(fastCovers(type, 'Claim')).toBe(true);
    expect(conformsFastToProfiles(claim, [claimProfile])).toBe(true);
  });

  test('a profile does not cover another resource type, and an unknown type is never sure', () => {
    expect(fastCovers(compiledProfileType(claimProfile), 'Patient')).toBe(false);
    expect(conformsFast(builtClaim(), 'NoSuchType')).toBe(false);
  });
});

describe('every kind of violation the fast check handles is still reported', () => {
  const profile = testProfile();
  const type = compiledProfileType(profile);
  const cases: [string, (c: Claim & Record<string, unknown>) => void, RegExp][] = [
    [
      'cardinality: a required element missing',
      (c) => delete (c as { patient?: unknown }).patient,
      /patient/i,
    ],
    [
      'cardinality: more lines than the profile allows',
      (c) => c.item?.push({ ...structuredClone(c.item[0]!), sequence: 5 }),
      /Invalid number of values/,
    ],
    [
      'cardinality: an array where one value goes',
      (c) => (c['status'] = ['active'] as unknown as 'active'),
      /single value/i,
    ],
    ['fixed value', (c) => (c.use = 'preauthorization'), /did not match/i],
    [
      'pattern',
      (c) =>
        (c.type = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'oral' }] }),
      /did not match/i,
    ],
    [
      'type: a number where a dateTime goes',
      (c) => (c['created'] = 20261104 as unknown as string),
      /Invalid JSON type/,
    ],
    ['type: a malformed dateTime', (c) => (c.created = '2026-13-40'), /Invalid dateTime/],
    ['type: a non-integer positiveInt', (c) => (c.item![0]!.sequence = 1.5), /integer/],
    ['type: a blank string', (c) => (c.item![0]!.productOrService.text = '  '), /non-whitespace/],
    ['an element the type does not define', (c) => (c['billingNote'] = 'x'), /additional property/],
    ['an empty object in a list', (c) => c.identifier?.push({}), /empty/i],
    ['a null value', (c) => ((c as Record<string, unknown>)['priority'] = null), /null/],
    ['an element invariant (FHIRPath)', (c) => (c.item![0]!.quantity = { value: 0 }), /test-item/],
    [
      'a root invariant (FHIRPath)',
      (c) =>
        c.diagnosis?.push(
          { ...structuredClone(c.diagnosis[0]!), sequence: 3 },
          { ...structuredClone(c.diagnosis[0]!), sequence: 4 },
        ),
      /test-root/,
    ],
    [
      'an R4 invariant (ext-1: an extension with both a value and extensions)',
      (c) =>
        (c.extension = [
          { url: 'https://example.org/x', valueString: 'a', extension: [{ url: 'y', valueString: 'b' }] },
        ]),
      /ext-1/,
    ],
  ];

  test('the conforming claim passes the test profile on the fast path', () => {
    const claim = builtClaim();
    expect(claim.item?.length).toBeGreaterThan(1);
    expect(claim.diagnosis?.length).toBeLessThanOrEqual(2);
    expect(medplumError(claim, type)).toBeUndefined();
    expect(conformsFast(claim, type)).toBe(true);
  });

  test.each(cases)('%s', (_name, mutate, reported) => {
    const claim = structuredClone(builtClaim()) as Claim & Record<string, unknown>;
    mutate(claim);
    expect(conformsFast(claim, type)).toBe(false);
    expect(() => validateAgainstProfile(claim, profile)).toThrow(reported);
  });

  test('the scrubber names a violation of the claim profile (claim-invalid, from @medplum/core)', () => {
    const ctx = contextOf(fixture());
    const claim = structuredClone(ctx.claim);
    claim.item![0]!.sequence = 1.5;
    const findings = scrubClaim({ ...ctx, claim }, tables).filter((f) => f.ruleId === 'claim-invalid');
    expect(findings).toHaveLength(1);
    expect(findings[0]?.message).toMatch(/integer/);
    expect(() => validateR4(claim)).toThrow(/integer/);
  });
});

/** Every JSON path of a value, with the value there. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) {
    return [at];
  }
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [at, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...at, k]))];
}

function mutated(base: unknown, at: (string | number)[], replace: (old: unknown) => unknown): Resource {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  if (at.length === 0) {
    return replace(copy) as Resource;
  }
  let parent = copy;
  for (const k of at.slice(0, -1)) {
    parent = parent[k] as Record<string | number, unknown>;
  }
  const last = at.at(-1) as string | number;
  const next = replace(parent[last]);
  if (next === DELETE) {
    if (Array.isArray(parent)) {
      parent.splice(last as number, 1);
    } else {
      Reflect.deleteProperty(parent, last);
    }
  } else {
    parent[last] = next;
  }
  return copy as unknown as Resource;
}

const DELETE = Symbol('delete');
const MUTATIONS: [string, (old: unknown) => unknown][] = [
  ['delete', () => DELETE],
  ['null', () => null],
  ['empty string', () => ''],
  ['blank string', () => ' '],
  ['empty object', () => ({})],
  ['empty array', () => []],
  ['wrapped in an array', (old) => [old]],
  ['first of an array', (old) => (Array.isArray(old) ? old[0] : old)],
  ['a number', () => 1.5],
  ['a string', () => 'x'],
  ['a boolean', () => true],
  ['an unknown key', (old) => (typeof old === 'object' && old !== null ? { ...old, zzUnknown: 1 } : old)],
  [
    'a primitive extension',
    (old) =>
      typeof old === 'object' && old !== null && !Array.isArray(old)
        ? { ...old, _id: { extension: [] } }
        : old,
  ],
  ['a bad date', () => '2026-02-30'],
  [
    'an extension with value and extensions',
    () => ({ url: 'u', valueString: 's', extension: [{ url: 'v', valueCode: 'c' }] }),
  ],
];

describe('never "conforms" where @medplum/core finds an error', () => {
  test.each([
    ['commercial', 'R4 Claim'],
    ['medicare', 'dripline-claim'],
  ] as const)('every single mutation of a built %s claim, as %s', (kind, as) => {
    const claim = builtClaim(kind);
    const type = as === 'R4 Claim' ? 'Claim' : compiledProfileType(claimProfile);
    let fastAccepted = 0;
    let invalid = 0;
    const wrong: string[] = [];
    // @medplum/core's verdict per candidate's JSON: over a third of the candidates are the same
    // value again (a mutation that leaves a leaf as it is: the unchanged claim), and the verdict
    // is a function of the value.
    const verdicts = new Map<string, string | undefined>();
    for (const at of paths(claim)) {
      for (const [name, replace] of MUTATIONS) {
        const candidate = mutated(claim, at, replace);
        const fast = conformsFast(candidate, type);
        // @medplum/core's verdict (~80% of this test's time) decides the claim only where the fast
        // check accepts; where it refuses, the full validator runs anyway. Those are asked only
        // until the count below is reached.
        if (!fast && invalid > 100) {
          continue;
        }
        const json = JSON.stringify(candidate);
        const error = verdicts.has(json) ? verdicts.get(json) : medplumError(candidate, type);
        verdicts.set(json, error);
        fastAccepted += fast ? 1 : 0;
        invalid += error ? 1 : 0;
        if (fast && error) {
          wrong.push(`${at.join('.')} ${name}: ${error}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // Both answers occur: the comparison is not between two checks that always agree trivially.
    expect(fastAccepted).toBeGreaterThan(100);
    expect(invalid).toBeGreaterThan(100);
  });

  test('validateR4 throws exactly what validateResource throws', () => {
    const claim = builtClaim() as Claim & Record<string, unknown>;
    claim['created'] = 'soon';
    expect(() => validateR4(claim)).toThrow(/Invalid dateTime/);
    expect(() => validateResource(claim)).toThrow(/Invalid dateTime/);
  });
});

describe('invariants read in JavaScript agree with @medplum/core FHIRPath', () => {
  const practitioner = (over: object): object => ({ resourceType: 'Practitioner', id: 'p', ...over });
  const cases: [string, string, unknown[]][] = [
    [
      'extension.exists() != value.exists()',
      'Extension',
      [
        { url: 'u', valueString: 'a' },
        { url: 'u', extension: [{ url: 'v', valueCode: 'c' }] },
        { url: 'u', valueString: 'a', extension: [{ url: 'v', valueCode: 'c' }] },
        { url: 'u' },
        { url: 'u', valueString: '' },
        { url: 'u', extension: [] },
        { url: 'u', valueQuantity: { value: 1 } },
        { url: 'u', valueString: 'a', valueCode: 'b' },
      ],
    ],
    [
      'contained.contained.empty()',
      'Claim',
      [
        {},
        { contained: [practitioner({})] },
        { contained: [practitioner({ contained: [practitioner({})] })] },
      ],
    ],
    [
      'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
      'Claim',
      [
        {},
        { contained: [practitioner({ meta: { source: 's' } })] },
        { contained: [practitioner({ meta: { versionId: '1' } })] },
        { contained: [practitioner({ meta: { lastUpdated: '2026-12-01T00:00:00Z' } })] },
      ],
    ],
    [
      'contained.meta.security.empty()',
      'Claim',
      [
        {},
        { contained: [practitioner({})] },
        { contained: [practitioner({ meta: { security: [{ code: 'R' }] } })] },
      ],
    ],
    ["where(use = 'home').empty()", 'ContactPoint', [{ value: 'x' }, { use: 'work' }, { use: 'home' }]],
  ];

  test.each(cases)('%s', (expression, type, values) => {
    const native = NATIVE_INVARIANTS[expression];
    expect(native).toBeDefined();
    let sure = 0;
    for (const raw of values) {
      const value = type === 'Claim' ? { resourceType: 'Claim', ...(raw as object) } : raw;
      const typed = { type, value, path: type };
      const result = evalFhirPathTyped(parseFhirPath(expression), [typed], { '%context': typed });
      const holds = result.length === 1 && result[0]?.value === true;
      if (native?.(value) === true) {
        sure++;
        expect({ value, holds }).toEqual({ value, holds: true });
      }
    }
    expect(sure).toBeGreaterThan(0);
  });
});
