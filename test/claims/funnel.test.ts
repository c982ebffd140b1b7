/** The claim funnel (src/claims/funnel.ts): rates and reasons from stored claims and answers. */
import { describe, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse, Task } from '@medplum/fhirtypes';
import { carcsOf, claimFunnel, paidOf } from '../../src/claims/funnel.ts';
import type { ClaimState } from '../../src/claims/types.ts';
import { claimFrequencyOf } from '../../src/claims/workflow/identity.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { isDenial } from '../../src/claims/workflow/submission.ts';
import { findingInput, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import { EXT_CLAIM_FREQUENCY, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';

function claim(id: string, state: ClaimState, total: number, frequency = '1'): Claim {
  return {
    resourceType: 'Claim',
    id,
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/p' },
    created: '2026-11-25',
    provider: { display: 'Clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [],
    total: { value: total, currency: 'USD' },
    extension: [
      { url: EXT_CLAIM_STATE, valueCode: state },
      { url: EXT_CLAIM_FREQUENCY, valueCode: frequency },
    ],
  };
}

function answer(claimId: string, opts: { paid: number; carcs?: string[]; denied?: boolean }): ClaimResponse {
  return {
    resourceType: 'ClaimResponse',
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/p' },
    created: '2026-11-25',
    insurer: { display: 'Payer' },
    outcome: opts.denied ? 'partial' : 'complete',
    request: { reference: `Claim/${claimId}` },
    payment: { type: { text: 'complete' }, amount: { value: opts.paid, currency: 'USD' } },
    item: [
      {
        itemSequence: 1,
        adjudication: (opts.carcs ?? []).map((code) => ({
          category: { coding: [{ code: opts.denied ? 'denied' : 'benefit' }] },
          reason: { coding: [{ code }] },
        })),
      },
    ],
  };
}

function heldTask(claimId: string, rules: string[]): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    focus: { reference: `Claim/${claimId}` },
    input: rules.map((ruleId) =>
      findingInput({ severity: 'error', ruleId, source: 's', message: 'm', fix: 'f', overridable: true }),
    ),
  };
}

describe('claimFunnel', () => {
  test('scrub pass, clean-claim and denial rates, reasons, billed and paid', () => {
    const claims = [
      claim('a', 'adjudicated', 1000),
      claim('b', 'adjudicated', 500),
      claim('c', 'held', 700),
      claim('d', 'adjudicated', 300),
      claim('a7', 'adjudicated', 1100, '7'), // a correction: not an original
    ];
    const firstScrub = new Map<string, ClaimState>([
      ['a', 'ready'],
      ['b', 'ready'],
      ['c', 'held'],
      ['d', 'held'], // held, then overridden and sent
      ['a7', 'ready'],
    ]);
    const responses = [
      answer('a', { paid: 400, carcs: ['45', '2'] }),
      answer('b', { paid: 0, carcs: ['197', '45'], denied: true }),
      answer('b', { paid: 120 }), // a later answer: money counts, first pass does not change
      answer('d', { paid: 90, carcs: ['45'] }),
      answer('a7', { paid: 20 }),
    ];
    const funnel = claimFunnel({
      claims,
      firstScrub,
      responses,
      tasks: [heldTask('c', ['prior-auth', 'payer-jw-jz']), heldTask('d', ['prior-auth'])],
      stateOf: claimStateOf,
      frequencyOf: claimFrequencyOf,
      findingsOf: findingsOfTask,
      isDenial,
    });
    expect(funnel.claims).toBe(5);
    expect(funnel.byState).toEqual({ adjudicated: 4, held: 1 });
    expect(funnel.originals).toBe(4);
    expect(funnel.cleanOnFirstScrub).toBe(2);
    expect(funnel.heldByRule).toEqual({ 'prior-auth': 2, 'payer-jw-jz': 1 });
    expect(funnel.answered).toBe(4);
    expect(funnel.acceptedFirstPass).toBe(3);
    expect(funnel.deniedByCarc).toEqual({ '197': 1 }); // 45 is a contractual write-down, not a reason
    expect(funnel.billed).toBe(2500);
    expect(funnel.paid).toBe(630);
    expect(funnel.rates).toEqual({ scrubPass: 0.5, cleanClaim: 0.75, denial: 0.25 });
  });

  test('no claims: zero rates, not NaN', () => {
    const funnel = claimFunnel({
      claims: [],
      firstScrub: new Map(),
      responses: [],
      tasks: [],
      stateOf: claimStateOf,
      frequencyOf: claimFrequencyOf,
      findingsOf: findingsOfTask,
      isDenial,
    });
    expect(funnel.rates).toEqual({ scrubPass: 0, cleanClaim: 0, denial: 0 });
  });

  test('paid falls back to line benefits; CARCs come from lines and errors', () => {
    const response: ClaimResponse = {
      ...answer('x', { paid: 0 }),
      payment: undefined,
      item: [
        {
          itemSequence: 1,
          adjudication: [
            { category: { coding: [{ code: 'benefit' }] }, amount: { value: 10.1 } },
            { category: { coding: [{ code: 'eligible' }] }, amount: { value: 99 } },
          ],
        },
        {
          itemSequence: 2,
          adjudication: [{ category: { coding: [{ code: 'benefit' }] }, amount: { value: 5 } }],
        },
      ],
      error: [{ code: { coding: [{ code: '31' }] } }],
    };
    expect(paidOf(response)).toBeCloseTo(15.1);
    expect(carcsOf(response)).toEqual(['31']);
  });
});
