/**
 * Denial triage (src/remittance/triage/) and the work items it plans (src/remittance/work/plan.ts):
 * which adjustments are denials, the queue each denial goes to, the recommended fix with the
 * evidence Dripline has, the payer's appeal deadline, and how a claim's items follow later answers
 * (the same answer twice, a corrected claim paid or denied again, an underpayment).
 */
import { describe, expect, test } from '@jest/globals';
import type { Task } from '@medplum/fhirtypes';
import type { BatchOperation, StoredResource } from '../../src/store/port.ts';
import { appealDeadline } from '../../src/remittance/triage/deadlines.ts';
import { denialsOf } from '../../src/remittance/triage/denials.ts';
import { recommendedFix } from '../../src/remittance/triage/fixes.ts';
import { planWorkItems, workItemId } from '../../src/remittance/work/plan.ts';
import type { PlanInput } from '../../src/remittance/work/plan.ts';
import { withState, workItemView } from '../../src/remittance/work/items.ts';
import type { PostedClaimPayment } from '../../src/remittance/posted.ts';
import { paidLine, payment, postedLine } from './fixtures.ts';

const NOW = new Date('2026-03-20T15:00:00Z');

const denied = (carc: string, amount: number, extra: Partial<Parameters<typeof postedLine>[0]> = {}) =>
  postedLine({
    sequence: 1,
    code: 'J1745',
    units: 10,
    submitted: amount,
    paid: 0,
    adjustments: [{ group: 'CO', carc, amount }],
    ...extra,
  });

describe('denials of a posted payment', () => {
  test("the patient's share and routine adjustments are not denials", () => {
    const p = payment([paidLine('96413', 1, 300, 150, 120)]);
    expect(denialsOf(p)).toEqual([]);
    const deductibleOnly = payment([
      postedLine({
        code: '96413',
        submitted: 300,
        paid: 0,
        adjustments: [
          { group: 'CO', carc: '45', amount: 150 },
          { group: 'PR', carc: '1', amount: 150 },
        ],
      }),
    ]);
    expect(denialsOf(deductibleOnly)).toEqual([]);
  });

  test('each denied line goes to the queue of its largest denial CARC, with the dollars it took', () => {
    const p = payment([
      denied('197', 800),
      postedLine(
        {
          sequence: 2,
          code: '96413',
          modifiers: ['59'],
          submitted: 300,
          paid: 0,
          adjustments: [{ group: 'CO', carc: '4', amount: 300 }],
        },
        2,
      ),
      paidLine('96415', 1, 80, 33, 26.4, { sequence: 3 }),
    ]);
    const groups = denialsOf(p);
    expect(groups.map((g) => [g.category, g.carc, g.dollars])).toEqual([
      ['authorization', '197', 800],
      ['coding', '4', 300],
    ]);
    expect(groups[1]?.lines[0]).toMatchObject({ code: '96413', modifiers: ['59'], itemSequence: 2 });
  });

  test('a reversal denies nothing', () => {
    expect(denialsOf(payment([denied('197', 800)], { status: '22', outcome: 'reversed' }))).toEqual([]);
  });

  test('a whole-claim denial with reasons only at claim level is one claim-level item', () => {
    const p = payment([postedLine({ code: '96413', submitted: 300, paid: 0 })], {
      status: '4',
      outcome: 'denied',
      adjustments: [{ group: 'CO', carc: '29', amount: 300 }],
    });
    const groups = denialsOf(p);
    expect(groups.map((g) => [g.category, g.dollars])).toEqual([['timely-filing', 300]]);
  });
});

describe('recommended fix', () => {
  const group = (p: PostedClaimPayment) => {
    const g = denialsOf(p)[0];
    if (!g) {
      throw new Error('no denial');
    }
    return g;
  };

  test('CO-197 names the authorization on file, or asks for a retro-authorization', () => {
    const g = group(payment([denied('197', 800)]));
    const withAuth = recommendedFix(g, { authorizations: [{ number: 'PA-77', covers: ['J1745'] }] });
    expect(withAuth.rule).toBe('authorization-absent');
    expect(withAuth.evidence.join(' ')).toContain('PA-77');
    expect(recommendedFix(g, { authorizations: [] }).evidence.join(' ')).toMatch(/retro-authorization/);
  });

  test('CO-4 names the coding rule that chose the modifiers', () => {
    const g = group(payment([denied('4', 300, { code: '96413', modifiers: ['59'] })]));
    const fix = recommendedFix(g, {
      modifierRules: { 1: [{ rule: 'ncci-59-admin', text: 'distinct procedure' }] },
    });
    expect(fix.rule).toBe('modifier');
    expect(fix.evidence[0]).toContain('rule ncci-59-admin');
  });

  test('CO-16 with N290 is the missing rendering NPI; CO-16 alone asks for what the remarks name', () => {
    const npi = group(payment([denied('16', 300, { remarks: ['N290'] })]));
    expect(recommendedFix(npi).rule).toBe('rendering-npi');
    const plain = group(payment([denied('16', 300)]));
    expect(recommendedFix(plain).rule).toBe('missing-information');
  });

  test('CO-29 brings the first submission as timely-filing evidence', () => {
    const g = group(payment([denied('29', 300)]));
    const fix = recommendedFix(g, {
      firstSubmitted: { at: '2026-03-05T10:00:00Z', serviceDate: '2026-03-02', limitDays: 90 },
    });
    expect(fix.action).toBe('appeal');
    expect(fix.evidence[0]).toContain('3 day(s) after the date of service');
    expect(fix.evidence[0]).toContain('within it');
  });
});

describe('appeal deadline', () => {
  test('per payer kind, or the payer’s own days', () => {
    expect(appealDeadline('2026-03-20', { kind: 'medicare' })).toEqual({ date: '2026-07-18', days: 120 });
    expect(appealDeadline('2026-03-20', { kind: 'commercial' }).date).toBe('2026-09-16');
    expect(appealDeadline('2026-03-20', { kind: 'commercial', appealDays: 60 }).date).toBe('2026-05-19');
  });
});

function stored(ops: readonly BatchOperation[]): (Task & StoredResource)[] {
  return ops.flatMap((op) =>
    op.op === 'create' && op.resource.resourceType === 'Task'
      ? [
          {
            ...(op.resource as Task & { id: string }),
            meta: { versionId: '1', lastUpdated: NOW.toISOString() },
          },
        ]
      : [],
  );
}

const base = (p: PostedClaimPayment, existing: (Task & StoredResource)[] = []): PlanInput => ({
  payment: p,
  decided: '2026-03-20',
  today: '2026-03-20',
  patient: 'Patient/p1',
  payer: { kind: 'commercial' },
  assignees: { authorization: 'auth-team', default: 'billing' },
  existing,
  now: NOW,
  publicUrl: 'https://dripline.example',
});

describe('work items planned from a posted payment', () => {
  const deniedPayment = payment([denied('197', 800), paidLine('96413', 1, 300, 150, 120, { sequence: 2 })]);

  test('a denial becomes an item in its queue with dollars, deadline, assignee, fix; audited', () => {
    const plan = planWorkItems(base(deniedPayment));
    expect(plan.created).toEqual([
      { id: workItemId('denial', 'claim-1', 'authorization'), queue: 'authorization' },
    ]);
    const task = stored(plan.writes)[0];
    expect(task).toBeDefined();
    const view = workItemView(task as Task & StoredResource, '2026-03-20');
    expect(view).toMatchObject({
      kind: 'denial',
      queue: 'authorization',
      state: 'open',
      claim: 'claim-1',
      dollarsAtStake: 800,
      appealDeadline: '2026-09-16',
      daysLeft: 180,
      assignee: 'auth-team',
      payerClaimNumber: 'ICN-1',
    });
    expect(view?.recommendedFix?.rule).toBe('authorization-absent');
    expect(
      plan.writes.filter((w) => w.op === 'create' && w.resource.resourceType === 'AuditEvent'),
    ).toHaveLength(1);
  });

  test('patient responsibility only: no item', () => {
    const p = payment([
      postedLine({
        code: '96413',
        submitted: 300,
        paid: 0,
        adjustments: [{ group: 'PR', carc: '1', amount: 300 }],
      }),
    ]);
    expect(planWorkItems(base(p)).writes).toEqual([]);
  });

  test('the same payment posted twice writes nothing the second time', () => {
    const first = planWorkItems(base(deniedPayment));
    const again = planWorkItems(base(deniedPayment, stored(first.writes)));
    expect(again.writes).toEqual([]);
  });

  test('the corrected claim paid resolves the item; denied again reopens it', () => {
    const first = stored(planWorkItems(base(deniedPayment)).writes)[0] as Task & StoredResource;
    const sent = {
      ...withState(first, 'correction-sent', {
        now: NOW.toISOString(),
        note: 'sent',
        correctedClaim: 'claim-1c',
      }),
      meta: { versionId: '2', lastUpdated: NOW.toISOString() },
    } as Task & StoredResource;
    const paid = payment([paidLine('J1745', 10, 800, 350, 280)], { id: 'eob-2', claim: 'claim-1c' });
    const resolved = planWorkItems(base(paid, [sent]));
    expect(resolved.changed).toEqual([{ id: first.id, state: 'resolved-paid' }]);
    expect(resolved.created).toEqual([]);
    const deniedAgain = payment([denied('197', 800)], { id: 'eob-3', claim: 'claim-1c' });
    expect(planWorkItems(base(deniedAgain, [sent])).changed).toEqual([
      { id: first.id, state: 'denied-again' },
    ]);
  });

  test("a reversal of a replaced claim supersedes its open items; a correction's item is left to its answer", () => {
    const denial = stored(planWorkItems(base(deniedPayment)).writes)[0] as Task & StoredResource;
    const other = {
      ...withState({ ...denial, id: 'wi-other' }, 'correction-sent', {
        now: NOW.toISOString(),
        note: 'sent',
        correctedClaim: 'claim-1c',
      }),
      meta: { versionId: '2', lastUpdated: NOW.toISOString() },
    } as Task & StoredResource;
    const reversal = payment([paidLine('96413', 1, -300, -150, -120, { sequence: 2 })], {
      id: 'eob-9',
      status: '22',
      outcome: 'reversed',
      reverses: 'eob-1',
    });
    const plan = planWorkItems({ ...base(reversal, [denial, other]), replacedBy: 'claim-1c' });
    expect(plan.changed).toEqual([{ id: denial.id, state: 'superseded' }]);
    expect(plan.created).toEqual([]);
    const next = plan.writes.find((w) => w.op === 'update')?.resource as Task & { id: string };
    expect(workItemView(next)).toMatchObject({ state: 'superseded', status: 'completed' });
    expect(next.note?.at(-1)?.text).toContain('Claim/claim-1c replaces it');
    expect(next.note?.at(-1)?.text).toContain('ExplanationOfBenefit/eob-1');
    // Not replaced (the payer reprocessing the claim): the claim's next payment settles its items.
    expect(planWorkItems(base(reversal, [denial])).writes).toEqual([]);
    // A reversal of another payment than the one the item came from leaves it.
    expect(
      planWorkItems({ ...base({ ...reversal, reverses: 'eob-0' }, [denial]), replacedBy: 'claim-1c' }).writes,
    ).toEqual([]);
  });

  test('underpaid lines become one underpayment item with the variance and the contract term', () => {
    const p = payment([paidLine('96413', 1, 300, 120, 96)]);
    const evaluation = {
      lines: [
        {
          sequence: 1,
          code: '96413',
          modifiers: [],
          units: 1,
          serviceDate: '2026-03-02',
          submitted: 300,
          paid: 96,
          actualAllowed: 120,
          patientResponsibility: 24,
          deniedAmount: 0,
          sequestration: { taken: 0, expected: 0 },
          status: 'underpaid' as const,
          expectedPayment: 120,
          variance: 24,
          expected: {
            amount: 150,
            basis: 'fee schedule 96413 = 150',
            unverified: false,
            term: { id: 'admin', description: 'fee schedule' },
            contract: { id: 'lakeshore-2026', source: 'Agreement §4' },
          },
        },
      ],
    } as unknown as NonNullable<PlanInput['evaluation']>;
    const plan = planWorkItems({ ...base(p), evaluation });
    expect(plan.created).toEqual([
      { id: workItemId('underpayment', 'claim-1', 'underpayment'), queue: 'underpayment' },
    ]);
    const view = workItemView(stored(plan.writes)[0] as Task & StoredResource, '2026-03-20');
    expect(view).toMatchObject({ kind: 'underpayment', dollarsAtStake: 24, assignee: 'billing' });
    expect(view?.lines[0]).toMatchObject({ variance: 24, contract: 'lakeshore-2026', term: 'admin' });
  });
});
