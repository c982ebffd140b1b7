/**
 * What the browser tests find and seed in their sandbox world (./browser.test.ts): a held
 * claim to open, and the work items, authorizations and payments the views show, written through
 * the store as the workers that make them would.
 */
import type { Claim, ClaimResponse, ExplanationOfBenefit, Task } from '@medplum/fhirtypes';
import { claimTaskId, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import {
  ADJUDICATION_SYSTEM,
  CARC_SYSTEM,
  EXT_REMARK,
  GROUP_CODE_SYSTEM,
  RARC_SYSTEM,
} from '../../src/contract/remittance.ts';
import {
  dateInput,
  fixInputs,
  moneyInput,
  newWorkItem,
  reasonCodeOf,
  stringInput,
} from '../../src/remittance/work/items.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { testClock, testToday } from '../support/clock.ts';

export const TENANT = 'sandbox';

/** A held claim's encounter, and the claim (one whose errors may all be overridden when there is one). */
export async function heldClaim(run: SandboxRun): Promise<{
  claim: Claim & { id: string };
  encounter: string;
  overridable: boolean;
}> {
  const held = await searchAll<Claim>(run.server.store, TENANT, 'Claim', [
    { code: 'claim-state', kind: 'token', values: [{ value: 'held' }] },
  ]);
  const scored = await Promise.all(
    held.map(async (claim) => {
      const task = (await run.server.store.resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
      const errors = findingsOfTask(task).filter((f) => f.severity === 'error');
      return { claim, overridable: errors.length > 0 && errors.every((f) => f.overridable) };
    }),
  );
  const chosen = scored.find((s) => s.overridable) ?? scored[0]!;
  const encounter = chosen.claim.item?.[0]?.encounter?.[0]?.reference?.split('/')[1] ?? '';
  return { ...chosen, encounter };
}

/** A day `days` from the sandbox tenant's today (its time zone, as the app's date inputs). */
export const dayFrom = (run: SandboxRun, days: number): string => testToday(tenantZone(run), days);
const tenantZone = (run: SandboxRun): string => run.tenants.find((t) => t.id === TENANT)?.timeZone ?? 'UTC';

/**
 * A denial work item on a claim, as the 835 posting's triage writes one (src/remittance/work):
 * CO-197 with N54, the recommended fix and its evidence, $250 at stake, the payer's decision
 * 5 days ago, an appeal deadline.
 */
export async function seedDenial(
  run: SandboxRun,
  id: string,
  claim: Claim & { id: string },
  payer = 'sandbox',
): Promise<void> {
  const now = testClock().toISOString();
  const task = newWorkItem(
    {
      id,
      kind: 'denial',
      queue: 'authorization',
      state: 'open',
      claims: [claim.id],
      ...(claim.patient.reference ? { patient: claim.patient.reference } : {}),
      deadline: dayFrom(run, 60),
      priority: 'urgent',
      source: `ClaimResponse/${id}-source`,
      description: 'Denied: no authorization on file',
      reasonCode: reasonCodeOf([{ group: 'CO', carc: '197' }], ['N54']),
      now,
    },
    [
      moneyInput('dollars-at-stake', 250),
      stringInput('payer', payer),
      dateInput('decided', dayFrom(run, -5)),
      ...fixInputs({
        rule: 'CO-197-auth-on-file',
        action: 'correct',
        text: 'An authorization is on file for this service: send a corrected claim that names it.',
        source: 'Dripline denial triage (src/remittance/triage/fixes.ts)',
        evidence: ['Authorization AUTH-BROWSER-1 covers the date of service.'],
      }),
    ],
    'Opened by the test.',
  );
  await run.server.store.resources.writeBatch(TENANT, [{ op: 'create', resource: task, options: { id } }]);
}

/** A prior authorization a biller recorded by hand: AUTH-BROWSER-1, any service, 30 days. */
export async function seedAuthorization(run: SandboxRun, patient: string): Promise<void> {
  const authorization: ClaimResponse = {
    resourceType: 'ClaimResponse',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'preauthorization',
    patient: { reference: patient },
    created: testClock().toISOString(),
    insurer: { display: 'Sandbox payer' },
    outcome: 'complete',
    preAuthRef: 'AUTH-BROWSER-1',
    preAuthPeriod: { start: dayFrom(run, -10), end: dayFrom(run, 20) },
  };
  await run.server.store.resources.create(TENANT, authorization);
}

/** A payment posted on a claim (as an 835 posts one): line 1 paid $80, CO-45 $20, remark N54. */
export async function seedPayment(run: SandboxRun, claim: Claim & { id: string }): Promise<void> {
  const eob: ExplanationOfBenefit = {
    resourceType: 'ExplanationOfBenefit',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: claim.patient,
    created: testClock().toISOString(),
    insurer: { display: 'Sandbox payer' },
    provider: { display: 'Sandbox infusion center' },
    outcome: 'complete',
    claim: { reference: `Claim/${claim.id}` },
    insurance: [{ focal: true, coverage: { display: 'Primary coverage' } }],
    payment: { date: dayFrom(run, 0), amount: { value: 80, currency: 'USD' } },
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: '96365' }] },
        extension: [{ url: EXT_REMARK, valueCoding: { system: RARC_SYSTEM, code: 'N54' } }],
        adjudication: [
          {
            category: { coding: [{ system: ADJUDICATION_SYSTEM, code: 'benefit' }] },
            amount: { value: 80, currency: 'USD' },
          },
          {
            category: { coding: [{ system: GROUP_CODE_SYSTEM, code: 'CO' }] },
            reason: { coding: [{ system: CARC_SYSTEM, code: '45' }] },
            amount: { value: 20, currency: 'USD' },
          },
        ],
      },
    ],
  };
  await run.server.store.resources.create(TENANT, eob);
}
