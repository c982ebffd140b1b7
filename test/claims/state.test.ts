/**
 * The claim state machine and claim identity, without a store: legal moves, what each move writes
 * (claim version, Provenance, AuditEvent, Task, submit job), which claims may be rebuilt, which
 * claims stand for their encounters, and the stable ids.
 */
import { describe, expect, test } from '@jest/globals';
import type { Claim, Provenance, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../src/config/billing.ts';
import type { BatchOperation, StoredResource } from '../../src/store/port.ts';
import type { ClaimState, ScrubFinding } from '../../src/claims/types.ts';
import {
  claimIdFor,
  correctionIdFor,
  encountersOfClaim,
  voidIdFor,
} from '../../src/claims/workflow/identity.ts';
import {
  claimStateOf,
  claimStateSince,
  IllegalTransitionError,
  isLegalTransition,
  isRebuildable,
  TRANSITIONS,
  transitionRecords,
  transitionWrites,
  withState,
} from '../../src/claims/workflow/state.ts';
import { standingClaims } from '../../src/claims/workflow/sweep.ts';
import { claimTaskId, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_REPLACED_BY,
  EXT_CLAIM_STATE,
  EXT_CLAIM_STATE_SINCE,
} from '../../src/contract/canonical.ts';

const NOW = new Date('2026-12-04T15:00:00Z');
const EARLIER = '2026-12-03T09:00:00.000Z';

const FHIR_PAYER: PayerEndpoint = {
  id: 'acme',
  name: 'Acme Health',
  payerId: 'ACME1',
  kind: 'commercial',
  channel: 'fhir',
  timelyFilingDays: 90,
};
const X12_PAYER: PayerEndpoint = { ...FHIR_PAYER, id: 'clearinghouse', channel: 'x12', usage: 'T' };

function storedClaim(
  state: ClaimState | undefined,
  options: { payer?: string; frequency?: string; version?: string; encounters?: string[] } = {},
): Claim & StoredResource {
  return {
    resourceType: 'Claim',
    id: 'claim-1',
    meta: { versionId: options.version ?? '3', lastUpdated: EARLIER },
    status: 'draft',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/p1' },
    created: EARLIER,
    provider: { reference: '#provider' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [],
    item: (options.encounters ?? ['Encounter/e1']).map((reference, i) => ({
      sequence: i + 1,
      productOrService: { coding: [{ code: '96413' }] },
      encounter: [{ reference }],
    })),
    extension: [
      ...(state
        ? [
            { url: EXT_CLAIM_STATE, valueCode: state },
            { url: EXT_CLAIM_STATE_SINCE, valueInstant: EARLIER },
          ]
        : []),
      { url: EXT_CLAIM_PAYER, valueString: options.payer ?? FHIR_PAYER.id },
      ...(options.frequency ? [{ url: EXT_CLAIM_FREQUENCY, valueCode: options.frequency }] : []),
    ],
  };
}

function openTask(): Task & StoredResource {
  return {
    resourceType: 'Task',
    id: claimTaskId('claim-1'),
    meta: { versionId: '2', lastUpdated: EARLIER },
    status: 'requested',
    intent: 'order',
    authoredOn: EARLIER,
    note: [{ time: EARLIER, text: 'held earlier' }],
  };
}

const FINDING: ScrubFinding = {
  severity: 'error',
  ruleId: 'doc-stop-time',
  source: 'coding-rules R3.1',
  message: 'Line 1 (96413), administration ma-1 has no stop time.',
  fix: 'Document the stop time.',
  itemSequence: 1,
  overridable: false,
};

let ids = 0;
const base = { now: NOW, publicUrl: 'https://dripline.example', auditId: 'audit-fixed' };

function writes(
  stored: Claim & StoredResource,
  to: ClaimState,
  more: Partial<Parameters<typeof transitionWrites>[0]> = {},
) {
  return transitionWrites({
    ...base,
    auditId: `audit-${++ids}`,
    stored,
    to,
    detail: { reason: 'because' },
    ...more,
  });
}

function resourcesOf(operations: readonly BatchOperation[], type: string) {
  return operations.filter(
    (o): o is Extract<BatchOperation, { op: 'create' | 'update' }> =>
      (o.op === 'create' || o.op === 'update') && o.resource.resourceType === type,
  );
}

describe('legal moves', () => {
  test('the FHIR and X12 paths, holds, rebuilds and retries are legal', () => {
    const legal: [ClaimState | undefined, ClaimState][] = [
      [undefined, 'built'],
      ['built', 'held'],
      ['built', 'ready'],
      ['held', 'ready'],
      ['held', 'built'],
      ['held', 'void'],
      ['ready', 'submitting'],
      ['ready', 'submitted'],
      ['ready', 'built'],
      ['ready', 'void'],
      ['submitting', 'submitting'],
      ['submitting', 'adjudicated'],
      ['submitting', 'rejected'],
      ['rejected', 'built'],
      ['rejected', 'void'],
      ['void', 'built'],
      ['adjudicated', 'adjudicated'],
      ['submitted', 'adjudicated'],
      ['accepted', 'adjudicated'],
    ];
    for (const [from, to] of legal) {
      expect([from, to, isLegalTransition(from, to)]).toEqual([from, to, true]);
    }
    // Every legal move is listed above: the table allows nothing else.
    const count = Object.values(TRANSITIONS).reduce((n, targets) => n + targets.length, 0);
    expect(count).toBe(legal.length);
  });

  test('a sent claim is never rebuilt or sent again, and a new claim starts built', () => {
    const illegal: [ClaimState | undefined, ClaimState][] = [
      [undefined, 'ready'],
      ['built', 'submitting'],
      ['held', 'submitting'],
      ['submitting', 'built'],
      ['submitting', 'ready'],
      ['submitted', 'built'],
      ['submitted', 'ready'],
      ['adjudicated', 'built'],
      ['adjudicated', 'submitting'],
      ['rejected', 'submitting'],
      ['void', 'ready'],
    ];
    for (const [from, to] of illegal) {
      expect([from, to, isLegalTransition(from, to)]).toEqual([from, to, false]);
    }
  });

  test('an illegal move writes nothing: it throws before any operation is made', () => {
    expect(() => writes(storedClaim('adjudicated'), 'built')).toThrow(IllegalTransitionError);
    expect(() =>
      transitionRecords({
        ...base,
        claim: storedClaim(undefined),
        version: '1',
        from: undefined,
        to: 'held',
        reason: 'x',
      }),
    ).toThrow(/new → held is not a legal move/);
  });
});

describe('the claim version a move writes', () => {
  test('entering a state stamps when; staying in it (a retried submission) keeps its age', () => {
    const held = withState(storedClaim('built'), 'held', NOW);
    expect(claimStateOf(held)).toBe('held');
    expect(claimStateSince(held)).toBe(NOW.toISOString());
    expect(held.status).toBe('draft');
    const again = withState(storedClaim('submitting'), 'submitting', NOW);
    expect(claimStateSince(again)).toBe(EARLIER);
    expect(again.status).toBe('active');
    expect(withState(storedClaim('held'), 'void', NOW).status).toBe('cancelled');
    // One state extension, whatever was there before.
    expect(held.extension?.filter((e) => e.url === EXT_CLAIM_STATE)).toHaveLength(1);
  });

  test('the update is conditional on the stored version and the Provenance names the move', () => {
    const { operations } = writes(storedClaim('built', { version: '4' }), 'ready', {
      detail: { reason: 'clean' },
    });
    const [update] = operations;
    expect(update).toMatchObject({ op: 'update', options: { ifMatchVersion: '4', upsert: false } });
    const [provenance] = resourcesOf(operations, 'Provenance');
    const p = provenance?.resource as Provenance;
    expect(p.target).toEqual([{ reference: 'Claim/claim-1/_history/5' }]);
    expect(p.activity?.text).toBe('claim built → ready');
    expect(p.activity?.coding?.[0]?.code).toBe('UPDATE');
    expect(p.reason).toEqual([{ text: 'clean' }]);
    expect(p.entity).toEqual([{ role: 'revision', what: { reference: 'Claim/claim-1/_history/4' } }]);
    expect(resourcesOf(operations, 'AuditEvent')).toHaveLength(1);
  });

  test('a new claim: CREATE, no revision', () => {
    const [provenance, audit] = transitionRecords({
      ...base,
      claim: storedClaim(undefined),
      version: '1',
      from: undefined,
      to: 'built',
      reason: 'claim built from final charges',
    });
    expect((provenance as { resource: Provenance }).resource.activity?.coding?.[0]?.code).toBe('CREATE');
    expect((provenance as { resource: Provenance }).resource.entity).toBeUndefined();
    expect(audit).toMatchObject({ op: 'create', options: { id: 'audit-fixed' } });
  });

  test('mutate changes the next version, after its state is set', () => {
    const { operations } = writes(storedClaim('ready'), 'submitting', {
      detail: {
        reason: 'submitting',
        mutate: (claim) => ({
          ...claim,
          identifier: [{ system: 'urn:key', value: `${claimStateOf(claim)}` }],
        }),
      },
    });
    expect((operations[0] as { resource: Claim }).resource.identifier).toEqual([
      { system: 'urn:key', value: 'submitting' },
    ]);
  });
});

describe('the Task and the submit job a move writes', () => {
  test('held: the Task lists every finding and notes the errors', () => {
    const { operations, taskWritten } = writes(storedClaim('built'), 'held', {
      detail: { reason: 'scrubber found 1 error(s): doc-stop-time', findings: [FINDING] },
    });
    expect(taskWritten).toBe(true);
    const [task] = resourcesOf(operations, 'Task');
    expect(task?.op).toBe('create');
    const t = task?.resource as Task;
    expect(t.id).toBe(claimTaskId('claim-1'));
    expect(t.focus).toEqual({ reference: 'Claim/claim-1' });
    expect(findingsOfTask(t)).toEqual([FINDING]);
    expect(t.note?.map((n) => n.text)).toEqual([
      'scrubber found 1 error(s): doc-stop-time',
      `doc-stop-time: ${FINDING.message} Fix: ${FINDING.fix}`,
    ]);
  });

  test('held again: the existing Task is refreshed under If-Match, keeping its notes', () => {
    const { operations } = writes(storedClaim('built'), 'held', {
      detail: { reason: 'still', findings: [FINDING] },
      existingTask: openTask(),
    });
    const [task] = resourcesOf(operations, 'Task');
    expect(task).toMatchObject({ op: 'update', options: { ifMatchVersion: '2' } });
    expect((task?.resource as Task).authoredOn).toBe(EARLIER);
    expect((task?.resource as Task).note?.[0]?.text).toBe('held earlier');
  });

  test('leaving held completes the open Task; a rebuild leaves it open until scrubbed again', () => {
    const released = writes(storedClaim('held'), 'ready', {
      detail: { reason: 'override' },
      existingTask: openTask(),
    });
    const [completed] = resourcesOf(released.operations, 'Task');
    expect(released.taskWritten).toBe(false);
    expect((completed?.resource as Task).status).toBe('completed');
    expect((completed?.resource as Task).note?.at(-1)?.text).toBe('claim ready: override');
    const rebuilt = writes(storedClaim('held'), 'built', { existingTask: openTask() });
    expect(resourcesOf(rebuilt.operations, 'Task')).toEqual([]);
  });

  test('a refused or exhausted submission asks for a Task although the claim is not held', () => {
    const { operations, taskWritten } = writes(storedClaim('submitting'), 'rejected', {
      detail: { reason: 'refused', task: { text: 'claim needs attention', note: 'Acme refused it' } },
    });
    expect(taskWritten).toBe(true);
    expect((resourcesOf(operations, 'Task')[0]?.resource as Task).note?.map((n) => n.text)).toEqual([
      'Acme refused it',
    ]);
  });

  test('ready for a FHIR payer queues the submission under the new version; X12 waits for its batch', () => {
    const fhir = writes(storedClaim('built', { version: '6' }), 'ready', {
      detail: { reason: 'clean', payer: FHIR_PAYER },
    });
    expect(fhir.operations.filter((o) => o.op === 'enqueue')).toEqual([
      {
        op: 'enqueue',
        job: {
          queue: 'claim-submit',
          key: 'submit|claim-1|7',
          payload: { claim: 'claim-1', version: '7' },
          maxAttempts: 100,
        },
      },
    ]);
    const x12 = writes(storedClaim('built', { payer: X12_PAYER.id }), 'ready', {
      detail: { reason: 'clean', payer: X12_PAYER },
    });
    expect(x12.operations.filter((o) => o.op === 'enqueue')).toEqual([]);
  });

  test('extra operations join the same transaction, after the records', () => {
    const extra: BatchOperation = {
      op: 'create',
      resource: { resourceType: 'ClaimResponse', id: 'cr-1' } as never,
      options: { id: 'cr-1' },
    };
    const { operations } = writes(storedClaim('submitting'), 'adjudicated', {
      detail: { reason: 'paid', extra: [extra] },
    });
    expect(operations.map((o) => ('resource' in o ? o.resource.resourceType : 'job'))).toEqual([
      'Claim',
      'Provenance',
      'AuditEvent',
      'ClaimResponse',
    ]);
  });
});

describe('which claims are rebuilt, and which stand', () => {
  test('held, rejected and cancelled claims, and X12 claims waiting for their batch; never a void', () => {
    const payers = [FHIR_PAYER, X12_PAYER];
    expect(isRebuildable(storedClaim('held'), payers)).toBe(true);
    expect(isRebuildable(storedClaim('rejected'), payers)).toBe(true);
    expect(isRebuildable(storedClaim('void'), payers)).toBe(true);
    expect(isRebuildable(storedClaim('ready', { payer: X12_PAYER.id }), payers)).toBe(true);
    expect(isRebuildable(storedClaim('ready'), payers)).toBe(false);
    expect(isRebuildable(storedClaim('submitting'), payers)).toBe(false);
    expect(isRebuildable(storedClaim('held', { frequency: '8' }), payers)).toBe(false);
  });

  test('an adjudicated void, and the claim it voided, no longer bill their encounters', () => {
    const original = {
      ...storedClaim('adjudicated', { encounters: ['Encounter/e1'] }),
      id: 'orig',
      extension: [
        { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
        { url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: 'Claim/void-1' } },
      ],
    };
    const voided = {
      ...storedClaim('adjudicated', { frequency: '8', encounters: ['Encounter/e1'] }),
      id: 'void-1',
    };
    const corrected = {
      ...storedClaim('adjudicated', { encounters: ['Encounter/e2'] }),
      id: 'c2',
      extension: [
        { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
        { url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: 'Claim/c2-7' } },
      ],
    };
    const other = { ...storedClaim('held', { encounters: ['Encounter/e3'] }), id: 'c3' };
    const standing = standingClaims([original, voided, corrected, other]);
    expect([...standing.claimed].sort()).toEqual(['Encounter/e2', 'Encounter/e3']);
    expect([...standing.claimIds].sort()).toEqual(['c2', 'c3', 'orig', 'void-1']);
    expect(standing.replaced.map((c) => c.id)).toEqual(['c2']);
  });
});

describe('claim identity', () => {
  test('the same encounters give the same ids in any order; corrections and voids have their own', () => {
    const a = claimIdFor(['Encounter/e2', 'Encounter/e1']);
    expect(a).toBe(claimIdFor(['Encounter/e1', 'Encounter/e2', 'Encounter/e1']));
    expect(a).toMatch(/^claim-[0-9a-f]{32}$/);
    expect(claimIdFor(['Encounter/e1'], '7')).not.toBe(claimIdFor(['Encounter/e1']));
    const original = claimIdFor(['Encounter/e1']);
    expect(correctionIdFor(['Encounter/e1'], original)).toBe(claimIdFor(['Encounter/e1'], '7'));
    expect(voidIdFor(['Encounter/e1'], original)).toBe(claimIdFor(['Encounter/e1'], '8'));
    // A correction of a correction is tied to the claim it replaces.
    const corrected = correctionIdFor(['Encounter/e1'], original);
    expect(correctionIdFor(['Encounter/e1'], corrected)).not.toBe(corrected);
    expect(voidIdFor(['Encounter/e1'], corrected)).not.toBe(voidIdFor(['Encounter/e1'], original));
  });

  test("a claim's encounters: distinct and sorted", () => {
    expect(
      encountersOfClaim(
        storedClaim('held', { encounters: ['Encounter/e2', 'Encounter/e1', 'Encounter/e2'] }),
      ),
    ).toEqual(['Encounter/e1', 'Encounter/e2']);
  });
});
