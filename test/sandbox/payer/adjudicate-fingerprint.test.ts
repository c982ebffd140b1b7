/**
 * The sandbox payer's adjudication is the same, to the byte, for the same claims: a seeded corpus
 * of claims (every payer kind, professional and institutional, drugs and administrations, every
 * denial rule, duplicates, replacements and voids of earlier claims) is adjudicated in order, the
 * way the payer's ledger does (each result becomes a known claim; a reversal supersedes its
 * original), and the SHA-256 of every result and ClaimResponse is compared with the one recorded
 * before adjudicate.ts was split into its parts (issue 12). The corpus is checked to reach every
 * rule, so the fingerprint covers each of them.
 */
import { createHash } from 'node:crypto';
import { expect, test } from '@jest/globals';
import type { Claim } from '@medplum/fhirtypes';
import { adjudicate } from '../../../src/sandbox/payer/adjudicate.ts';
import { toClaimResponse } from '../../../src/sandbox/payer/claim-response.ts';
import type { PriorClaim } from '../../../src/sandbox/payer/results.ts';
import { priorClaimOf, supersede } from '../../../src/sandbox/payer/reversals.ts';
import { buildPayerTables } from '../../../src/sandbox/payer/tables.ts';
import type { PayerKind } from '../../../src/sandbox/payer/tables.ts';
import { mulberry32 } from '../../../src/sandbox/random.ts';
import { claim } from './helpers.ts';
import type { LineSpec } from './helpers.ts';

const RECEIVED = '2026-11-20';
const KINDS: readonly PayerKind[] = ['medicare', 'medicaid', 'commercial'];
const DRUGS = [
  'J1745',
  'J9312',
  'J1100',
  'J9271',
  'J1756',
  'J2350',
  'J0897',
  'J7030',
  'J2405',
  'J9045',
  'J1459',
];
const ADMINISTRATIONS = [
  '96413',
  '96415',
  '96365',
  '96366',
  '96367',
  '96374',
  '96375',
  '96372',
  '96360',
  '96361',
  '96523',
];
const DIAGNOSES = ['K50.00', 'C34.90', 'M05.79', 'D50.0', 'G35', 'D83.9', 'Z00.00'];
const MODIFIERS: readonly (readonly string[])[] = [[], ['JZ'], ['JZ'], ['JW'], ['JW', 'JZ'], ['59'], ['XS']];

function corpus(count: number): { claims: { claim: Claim; kind: PayerKind }[] } {
  const next = mulberry32(20261204);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const claims: { claim: Claim; kind: PayerKind }[] = [];
  for (let i = 0; i < count; i++) {
    const earlier = claims.length > 0 ? pick(claims) : undefined;
    const roll = next();
    const frequency = earlier && roll < 0.12 ? '7' : earlier && roll < 0.2 ? '8' : undefined;
    const kind = frequency && earlier && next() < 0.9 ? earlier.kind : pick(KINDS);
    const date = new Date(Date.parse(`${RECEIVED}T00:00:00Z`) - int(3, 420) * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const lines: LineSpec[] = Array.from({ length: int(1, 4) }, (): LineSpec => {
      const drug = next() < 0.5;
      return {
        code: next() < 0.04 ? '99213' : drug ? pick(DRUGS) : pick(ADMINISTRATIONS),
        units: drug ? int(1, 140) : int(1, next() < 0.1 ? 12 : 2),
        modifiers: [...pick(MODIFIERS)],
        ...(drug && next() < 0.7 ? { ndc: '57894003001' } : {}),
        date,
        ...(next() < 0.3 ? { charge: int(10, 20000) / 4 } : {}),
        ...(next() < 0.1 ? { dx: [2] } : {}),
      };
    });
    const repeat = earlier && !frequency && next() < 0.1;
    const patient =
      (frequency || repeat) && earlier && next() < 0.92 ? earlier.claim.patient.reference! : `Patient/p${i}`;
    const preAuth = pick([undefined, undefined, ['PA-2026-00' + String(i)], ['x'], ['  ']]);
    const c: Claim = claim({
      id: `claim-${i}`,
      identifier: [{ system: 'https://example.org/claim', value: `c-${i}` }],
      patient,
      lines: repeat && earlier ? (earlier.claim.item ?? []).map(toSpec) : lines,
      dx: next() < 0.06 ? [] : [pick(DIAGNOSES), ...(next() < 0.5 ? [pick(DIAGNOSES)] : [])],
      memberId:
        next() < 0.04 ? null : repeat && earlier ? memberOf(earlier.claim) : `M${int(100000, 999999)}`,
      ...(preAuth ? { preAuth } : {}),
      ...(frequency ? { frequency } : next() < 0.2 ? { frequency: '1' as const } : {}),
      ...(frequency && earlier
        ? {
            replaces: pick([
              { claimNumber: `ICN-${claims.indexOf(earlier)}` },
              { claimNumber: `ICN-${claims.indexOf(earlier)}` },
              { claimId: earlier.claim.id! },
              { claimNumber: 'ICN-unknown' },
            ]),
          }
        : {}),
    });
    if (next() < 0.2) {
      c.type = {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }],
      };
    }
    claims.push({ claim: c, kind });
  }
  return { claims };
}

function toSpec(item: NonNullable<Claim['item']>[number]): LineSpec {
  return {
    code: item.productOrService.coding?.[0]?.code ?? '',
    units: item.quantity?.value ?? 0,
    modifiers: (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? ''),
    date: item.servicedDate!,
    ...(item.detail?.length ? { ndc: '57894003001' } : {}),
  };
}

function memberOf(c: Claim): string | null {
  const coverage = c.contained?.[0];
  return coverage?.resourceType === 'Coverage' ? (coverage.subscriberId ?? null) : null;
}

test('the seeded corpus adjudicates byte-identically, reaching every rule', () => {
  const tables = buildPayerTables();
  const known: PriorClaim[] = [];
  const hash = createHash('sha256');
  const carcs = new Set<string>();
  const { claims } = corpus(600);
  claims.forEach(({ claim: c, kind }, i) => {
    const result = adjudicate({ claim: c, kind, tables, receivedDate: RECEIVED, knownClaims: known });
    const controlNumber = `ICN-${i}`;
    const response = toClaimResponse(c, result, {
      id: `cr-${i}`,
      request: `Claim/${c.id!}`,
      created: `${RECEIVED}T15:00:00-05:00`,
      controlNumber,
      controlNumberSystem: 'https://payer.example/claim-control-number',
      payerName: `Sandbox ${kind} payer`,
    });
    const { reversal } = result;
    if (reversal) {
      const at = known.findIndex((k) => k.controlNumber === reversal.controlNumber);
      known[at] = supersede(known[at]!, controlNumber, reversal.frequency);
    }
    known.push(priorClaimOf(c, result, { controlNumber, claimId: c.id! }));
    hash.update(JSON.stringify([result, response]));
    for (const d of [...result.claimDenials, ...result.lines.flatMap((l) => l.denials)]) {
      carcs.add(d.rarc ? `${d.carc}/${d.rarc}` : d.carc);
    }
    if (response.item?.some((it) => it.adjudication?.some((a) => a.reason?.coding?.[0]?.code === '45'))) {
      carcs.add('45');
    }
  });
  expect([...carcs].sort()).toEqual(
    [
      '11',
      '129/M47',
      '15',
      '151',
      '16/M119',
      '16/M76',
      '18',
      '197',
      '234',
      '29',
      '31',
      '4',
      '45',
      '96',
      '97',
    ].sort(),
  );
  expect(known.filter((k) => k.supersededBy?.frequency === '7').length).toBeGreaterThan(5);
  expect(known.filter((k) => k.supersededBy?.frequency === '8').length).toBeGreaterThan(5);
  expect(hash.digest('hex')).toBe('564119e236856b181649ce7a3a6eba5d6c2e27179b50ee5779acd7240fa96406');
});
