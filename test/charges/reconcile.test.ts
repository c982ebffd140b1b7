/** The pure reconciliation planner: create / unchanged / update / void, submitted claims, Tasks. */
import { describe, expect, test } from '@jest/globals';
import type { Claim } from '@medplum/fhirtypes';
import { correctedClaimTaskId, documentationTaskId, planCapture } from '../../src/charges/reconcile.ts';
import type { PlanInput, ProducedCharge, StoredChargeItem, StoredTask } from '../../src/charges/reconcile.ts';
import type { ChargeLine, CodingIssue } from '../../src/coding/types.ts';
import {
  EXT_CHARGE_LINE_KEY,
  EXT_CODING_RATIONALE,
  PROFILE_CHARGE_ITEM,
} from '../../src/contract/canonical.ts';

const ENC = 'Encounter/enc-1';
const NOW = new Date('2026-11-26T20:00:00Z');

function line(id: string, code: string, units: number, administrations: string[]): ChargeLine {
  return {
    key: `key-${id}`,
    kind: 'administration',
    code: { system: 'CPT', code, label: code },
    units,
    modifiers: [],
    dateOfService: '2026-11-26',
    encounterId: 'enc-1',
    administrationIds: administrations,
    diagnoses: ['C50.911'],
    rationale: { rule: 'R3.3', sources: ['CH12-30.5'], text: `${code} ×${units}` },
  };
}

function produced(id: string, code: string, units: number, administrations = ['ma-1']): ProducedCharge {
  const l = line(id, code, units, administrations);
  return {
    line: l,
    resource: {
      resourceType: 'ChargeItem',
      id,
      meta: { profile: [PROFILE_CHARGE_ITEM] },
      extension: [
        { url: EXT_CHARGE_LINE_KEY, valueString: l.key },
        { url: EXT_CODING_RATIONALE, extension: [{ url: 'rule', valueString: 'R3.3' }] },
      ],
      status: 'billable',
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code }] },
      subject: { reference: 'Patient/p1' },
      context: { reference: ENC },
      occurrenceDateTime: '2026-11-26',
      quantity: { value: units },
      enteredDate: NOW.toISOString(),
      service: administrations.map((a) => ({ reference: `MedicationAdministration/${a}` })),
    },
  };
}

function stored(
  p: ProducedCharge,
  versionId = '1',
  changes: Partial<StoredChargeItem> = {},
): StoredChargeItem {
  return {
    ...p.resource,
    enteredDate: '2026-11-26T18:00:00Z',
    meta: { ...p.resource.meta, versionId, lastUpdated: '2026-11-26T18:00:00Z' },
    ...changes,
  };
}

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    now: NOW,
    patient: 'Patient/p1',
    encounters: new Map([[ENC, { state: 'ready' }]]),
    produced: [],
    existing: [],
    submittedClaims: new Map(),
    issues: new Map(),
    held: new Set(),
    administrations: new Map(),
    tasks: new Map(),
    ...overrides,
  };
}

describe('planCapture', () => {
  test('new lines are created, identical ones left alone, changed ones updated keeping enteredDate', () => {
    const a = produced('ci-a', '96365', 1);
    const b = produced('ci-b', '96366', 2);
    const plan = planCapture(
      input({ produced: [a, b], existing: [stored(a), stored(produced('ci-b', '96366', 1))] }),
    );
    expect(plan.unchanged).toBe(1);
    expect(plan.changes).toHaveLength(1);
    const [update] = plan.changes;
    expect(update?.kind).toBe('update');
    expect(update?.resource.quantity?.value).toBe(2);
    expect(update?.resource.enteredDate).toBe('2026-11-26T18:00:00Z');
    expect(plan.tasks).toEqual([]);
  });

  test('applying the plan gives an empty plan', () => {
    const a = produced('ci-a', '96365', 1);
    const first = planCapture(input({ produced: [a] }));
    expect(first.changes.map((c) => c.kind)).toEqual(['create']);
    const again = planCapture(
      input({ produced: [a], existing: [stored({ resource: first.changes[0]!.resource, line: a.line })] }),
    );
    expect(again.changes).toEqual([]);
  });

  test('a billable charge no longer produced is voided with the reason; foreign and non-billable ones are left', () => {
    const gone = stored(produced('ci-gone', '96375', 1, ['ma-2']));
    const foreign = { ...stored(produced('ci-manual', '99211', 1)), extension: [] } as StoredChargeItem;
    const already = stored(produced('ci-old', '96375', 1, ['ma-2']), '2', { status: 'entered-in-error' });
    const plan = planCapture(
      input({
        existing: [gone, foreign, already],
        administrations: new Map([
          ['MedicationAdministration/ma-2', { status: 'entered-in-error', encounter: ENC }],
        ]),
      }),
    );
    expect(plan.changes).toHaveLength(1);
    const [voided] = plan.changes;
    expect(voided?.kind).toBe('void');
    expect(voided?.resource.status).toBe('entered-in-error');
    expect(voided?.resource.note?.[0]?.text).toMatch(
      /MedicationAdministration\/ma-2 was marked entered-in-error/,
    );
    expect(voided?.resource.meta?.versionId).toBeUndefined();
  });

  test('a held (planned) drug line no longer produced is voided too; one now billable is updated in place', () => {
    const held = stored(produced('ci-held', 'J9370', 0, ['ma-2']), '1', { status: 'planned' });
    const voidPlan = planCapture(
      input({
        existing: [held],
        administrations: new Map([
          ['MedicationAdministration/ma-2', { status: 'entered-in-error', encounter: ENC }],
        ]),
      }),
    );
    expect(voidPlan.changes.map((c) => [c.kind, c.resource.id, c.resource.status])).toEqual([
      ['void', 'ci-held', 'entered-in-error'],
    ]);
    // The dose is fixed: the same line key (same ChargeItem id) comes back billable with its units.
    const fixed = produced('ci-held', 'J9370', 2, ['ma-2']);
    const updatePlan = planCapture(input({ produced: [fixed], existing: [held] }));
    expect(updatePlan.changes.map((c) => [c.kind, c.resource.status, c.resource.quantity?.value])).toEqual([
      ['update', 'billable', 2],
    ]);
  });

  test('an encounter entered in error voids all its charges; an unfinished one is untouched', () => {
    const a = stored(produced('ci-a', '96365', 1));
    const voidPlan = planCapture(
      input({
        encounters: new Map([[ENC, { state: 'void', reason: `${ENC} is entered-in-error in the EHR` }]]),
        existing: [a],
        produced: [produced('ci-a', '96365', 1)],
      }),
    );
    expect(voidPlan.changes.map((c) => c.kind)).toEqual(['void']);
    const pending = planCapture(input({ encounters: new Map(), existing: [a] }));
    expect(pending.changes).toEqual([]);
  });

  test('a submitted claim defers every change to one corrected-claim Task, refreshed only when it changes', () => {
    const claim = { resourceType: 'Claim', id: 'cl-1', status: 'active' } as Claim & { id: string };
    const before = stored(produced('ci-b', '96366', 1));
    const base = input({
      produced: [produced('ci-a', '96365', 1), produced('ci-b', '96366', 2)],
      existing: [before],
      submittedClaims: new Map([[ENC, claim]]),
    });
    const plan = planCapture(base);
    expect(plan.changes).toEqual([]);
    expect(plan.deferred.get('Claim/cl-1')?.map((c) => c.kind)).toEqual(['create', 'update']);
    expect(plan.tasks).toHaveLength(1);
    const task = plan.tasks[0]!.resource;
    expect(task.id).toBe(correctedClaimTaskId('Claim/cl-1', ENC));
    expect(task).toMatchObject({
      status: 'requested',
      code: { text: 'corrected claim needed' },
      focus: { reference: 'Claim/cl-1' },
      for: { reference: 'Patient/p1' },
      encounter: { reference: ENC },
    });
    expect(task.input?.map((i) => i.valueString ?? i.valueReference?.display)).toEqual([
      expect.stringMatching(/^add 96365 ×1/),
      expect.stringMatching(/^change units of ChargeItem\/ci-b: 96366 ×1 → 96366 ×2/),
    ]);
    const storedTask = { ...task, meta: { versionId: '1', lastUpdated: NOW.toISOString() } } as StoredTask;
    const later = planCapture({
      ...base,
      now: new Date('2026-11-27T08:00:00Z'),
      tasks: new Map([[task.id, storedTask]]),
    });
    expect(later.tasks).toEqual([]);
    // The documentation goes back to what was billed: the Task is cancelled.
    const reverted = planCapture({
      ...base,
      produced: [produced('ci-b', '96366', 1)],
      tasks: new Map([[task.id, storedTask]]),
    });
    expect(reverted.tasks[0]?.resource.status).toBe('cancelled');
  });

  test('documentation issues keep one Task per encounter, completed when they are gone', () => {
    const issue: CodingIssue = {
      severity: 'error',
      code: 'missing-stop-time',
      message: 'Infusion ma-3 has no stop time',
      encounterId: 'enc-1',
      administrationId: 'ma-3',
    };
    const plan = planCapture(input({ issues: new Map([[ENC, [issue]]]), held: new Set(['ma-3']) }));
    expect(plan.tasks).toHaveLength(1);
    const task = plan.tasks[0]!.resource;
    expect(task.id).toBe(documentationTaskId(ENC));
    expect(task.status).toBe('requested');
    expect(task.code?.text).toBe('documentation issues');
    expect(task.input?.[0]?.valueReference).toMatchObject({ reference: 'MedicationAdministration/ma-3' });
    expect(task.input?.[0]?.valueReference?.display).toMatch(/held/);
    const storedTask = { ...task, meta: { versionId: '1', lastUpdated: NOW.toISOString() } } as StoredTask;
    const fixed = planCapture(input({ tasks: new Map([[task.id, storedTask]]) }));
    expect(fixed.tasks[0]?.resource.status).toBe('completed');
    expect(fixed.tasks[0]?.previous).toBe(storedTask);
    // Nothing to say and no Task: nothing written.
    expect(planCapture(input({})).tasks).toEqual([]);
  });
});
