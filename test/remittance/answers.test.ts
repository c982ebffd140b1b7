/**
 * FHIR payers' answers posted through the same model as 835s (src/remittance/post-answer.ts): the
 * claim workflow stores a payer's ClaimResponse and enqueues CLAIM_ANSWER_QUEUE in one
 * transaction; the remittance worker posts it as an ExplanationOfBenefit with the 835's
 * adjudication categories and CARC reasons, the claim's payment status, the patient's share and
 * the posting hooks (denial work items) — once, however often the answer comes. And, for both
 * channels, the contract's expected allowed and payment against what was paid on every EOB line.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { validateResource } from '@medplum/core';
import type {
  Claim,
  ClaimResponse,
  ClaimResponseItemAdjudication,
  ExplanationOfBenefit,
  Task,
} from '@medplum/fhirtypes';
import type { ClaimAnswerJob } from '../../src/claims/workflow/jobs.ts';
import { CLAIM_ANSWER_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { SAMPLE_PAYER } from '../../src/claims/x12-samples.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_STATE,
  payerClaimResponseSystem,
} from '../../src/contract/canonical.ts';
import { EXT_CLAIM_PAYMENT_STATUS } from '../../src/contract/remittance.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { createReferenceRates } from '../../src/remittance/contracts/references.ts';
import { fhirAnswerId } from '../../src/remittance/identity.ts';
import { UNMATCHED_TASK } from '../../src/remittance/jobs.ts';
import { matchUnmatchedPayment } from '../../src/remittance/manual-match.ts';
import { createRemittanceWorkHook } from '../../src/remittance/work/engine.ts';
import { RemittanceWorker } from '../../src/remittance/worker.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import type { PostingFixture } from './support.ts';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TenantConfig } from '../../src/config/config.ts';
import { receiveRemittance } from '../../src/remittance/intake.ts';
import { createPaymentEvaluator } from '../../src/remittance/work/engine.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import {
  openPostingFixture,
  paymentOf,
  remittance,
  seedSubmittedClaims,
  TENANT,
  TENANTS,
  WRITE_OPTIONS,
} from './support.ts';

loadFhirDefinitions();
const references = createReferenceRates(loadCodingTables().cms);

const ADJ = 'http://terminology.hl7.org/CodeSystem/adjudication';
const GROUP = 'https://x12.org/codes/claim-adjustment-group-codes';
const CARC = 'https://x12.org/codes/claim-adjustment-reason-codes';
const RARC = 'https://x12.org/codes/remittance-advice-remark-codes';

let fx: PostingFixture;

beforeEach(async () => {
  fx = await openPostingFixture({
    hooks: [
      createRemittanceWorkHook({ tenants: () => TENANTS, references, publicUrl: 'http://dripline.test' }),
    ],
  });
});

afterEach(async () => {
  await fx.close();
});

const money = (value: number): { value: number; currency: 'USD' } => ({ value, currency: 'USD' });
const entry = (code: string, value: number, system = ADJ): ClaimResponseItemAdjudication => ({
  category: { coding: [{ system, code }] },
  amount: money(value),
});

/**
 * The payer's adjudication of an office-infusion claim: every line allowed at 80% of its charge
 * (CO-45 the rest), 50.00 of line 1 to the deductible, and the JW (discarded drug) line denied
 * CO-4 with N362.
 */
function answerTo(claim: Claim & { id: string }, payerAnswerId: string): ClaimResponse & { id: string } {
  const item = (claim.item ?? []).map((line, i) => {
    const charge = line.net?.value ?? 0;
    const waste = (line.modifier ?? []).some((m) => m.coding?.[0]?.code === 'JW');
    if (waste) {
      return {
        itemSequence: line.sequence,
        adjudication: [
          entry('submitted', charge),
          entry('eligible', 0),
          entry('benefit', 0),
          {
            category: { coding: [{ system: GROUP, code: 'CO' }] },
            reason: {
              coding: [
                { system: CARC, code: '4' },
                { system: RARC, code: 'N362' },
              ],
            },
            amount: money(charge),
          },
        ],
      };
    }
    const allowed = Math.round(charge * 80) / 100;
    const deductible = i === 0 ? 50 : 0;
    return {
      itemSequence: line.sequence,
      adjudication: [
        entry('submitted', charge),
        entry('eligible', allowed),
        ...(deductible > 0 ? [entry('deductible', deductible)] : []),
        entry('benefit', Math.round((allowed - deductible) * 100) / 100),
        {
          category: { coding: [{ system: GROUP, code: 'CO' }] },
          reason: { coding: [{ system: CARC, code: '45' }] },
          amount: money(Math.round((charge - allowed) * 100) / 100),
        },
      ],
    };
  });
  return {
    resourceType: 'ClaimResponse',
    id: `cr-${claim.id}-${payerAnswerId}`,
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: claim.patient,
    created: '2026-12-04T14:00:00Z',
    insurer: { display: SAMPLE_PAYER.name },
    request: { reference: `Claim/${claim.id}` },
    outcome: 'complete',
    identifier: [
      { system: 'urn:payer:claim-number', value: `ICN-${claim.id}` },
      { system: payerClaimResponseSystem(SAMPLE_PAYER.id), value: payerAnswerId },
    ],
    item,
    payment: { type: { text: 'complete' }, date: '2026-12-04', amount: money(0) },
  };
}

/** Stores the answer and its posting job in one transaction, as the claim workflow does; the claim is adjudicated. */
async function recordAnswer(
  claim: Claim & StoredResource,
  answer: (ClaimResponse | ExplanationOfBenefit) & { id: string },
): Promise<void> {
  const adjudicated: Claim & { id: string } = {
    ...claim,
    extension: [
      ...(claim.extension ?? []).filter((e) => e.url !== EXT_CLAIM_STATE),
      { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
    ],
  };
  const current = (await fx.store.resources.read(TENANT, 'Claim', claim.id)) as Claim & StoredResource;
  const job: ClaimAnswerJob = {
    claim: claim.id,
    answer: `${answer.resourceType}/${answer.id}`,
    payer: SAMPLE_PAYER.id,
  };
  await fx.store.resources.writeBatch(TENANT, [
    ...(current.extension?.some((e) => e.url === EXT_CLAIM_STATE && e.valueCode === 'adjudicated')
      ? []
      : [{ op: 'update' as const, resource: adjudicated }]),
    { op: 'create', resource: answer, options: { id: answer.id } },
    { op: 'enqueue', job: { queue: CLAIM_ANSWER_QUEUE, key: `answer|${answer.id}`, payload: job } },
  ]);
}

async function drain(evaluate?: ReturnType<typeof createPaymentEvaluator>): Promise<void> {
  const worker = new RemittanceWorker({ ...fx.posting, leaseMs: 60_000, ...(evaluate ? { evaluate } : {}) });
  while ((await worker.runOnce()) > 0) {
    // next job
  }
  expect(await fx.store.jobs.listJobs(TENANT, CLAIM_ANSWER_QUEUE, 'dead', 10)).toEqual([]);
  expect(await fx.store.jobs.listJobs(TENANT, CLAIM_ANSWER_QUEUE, 'ready', 10)).toEqual([]);
}

const eobs = (): Promise<(ExplanationOfBenefit & StoredResource)[]> =>
  searchAll<ExplanationOfBenefit>(fx.store, TENANT, 'ExplanationOfBenefit');

const totalOf = (eob: ExplanationOfBenefit, code: string): number | undefined =>
  eob.total?.find((t) => t.category.coding?.[0]?.code === code)?.amount.value;

describe("a FHIR payer's ClaimResponse", () => {
  test('is posted like an 835 claim payment: EOB with CAS-style reasons, claim partially paid, patient share, denial work item', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    await recordAnswer(claim!, answerTo(claim!, 'A-1001'));
    await drain();

    const [eob, ...more] = await eobs();
    expect(more).toEqual([]);
    expect(eob!.id).toBe(fhirAnswerId(SAMPLE_PAYER.id, 'A-1001'));
    expect(eob!.status).toBe('active');
    expect(eob!.claim?.reference).toBe(`Claim/${claim!.id}`);
    expect(validateResource(eob!).length).toBe(0);
    // Line 4 (JW) denied CO-4 with N362; line 1 carries the deductible; every line its CO-45.
    const line4 = eob!.item?.find((i) => i.sequence === 4);
    expect(
      line4?.adjudication?.find((a) => a.category.coding?.[0]?.code === 'CO')?.reason?.coding?.[0]?.code,
    ).toBe('4');
    expect(JSON.stringify(line4?.extension)).toContain('N362');
    const line1 = eob!.item?.find((i) => i.sequence === 1);
    expect(
      line1?.adjudication?.find((a) => a.category.coding?.[0]?.code === 'deductible')?.amount?.value,
    ).toBe(50);
    expect(
      line1?.adjudication?.find(
        (a) => a.category.coding?.[0]?.code === 'CO' && a.reason?.coding?.[0]?.code === '45',
      )?.amount?.value,
    ).toBe(50);
    // Totals: billed 4548.52; paid 80% of the three paid lines (4350.50) less the 50.00 deductible.
    expect(totalOf(eob!, 'submitted')).toBe(4548.52);
    expect(totalOf(eob!, 'benefit')).toBe(3430.4);
    expect(totalOf(eob!, 'memberliability')).toBe(50);

    const stored = (await fx.store.resources.read(TENANT, 'Claim', claim!.id)) as Claim;
    expect(stored.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode).toBe(
      'partially-paid',
    );

    // The hooks saw the FHIR channel's payment, lines matched by the answer's item sequence.
    expect(fx.hookCalls).toHaveLength(1);
    const payment = fx.hookCalls[0]!.payment;
    expect(payment.channel).toBe('fhir');
    expect(payment.lines.map((l) => [l.itemSequence, l.matchedBy])).toEqual([
      [1, 'item-sequence'],
      [2, 'item-sequence'],
      [3, 'item-sequence'],
      [4, 'item-sequence'],
    ]);
    expect(payment.patientResponsibility.deductible).toBe(50);

    // The work engine opened the CO-4 coding item in the same transaction.
    const tasks = await searchAll<Task>(fx.store, TENANT, 'Task');
    const denial = tasks.filter(
      (t) => JSON.stringify(t).includes('"4"') && t.focus?.reference === `Claim/${claim!.id}`,
    );
    expect(denial.length).toBeGreaterThan(0);
  });

  test('the same answer twice (a retried job, the answer recorded again for a new claim version) posts once', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    await recordAnswer(claim!, answerTo(claim!, 'A-2002'));
    await drain();
    const tasksBefore = (await searchAll<Task>(fx.store, TENANT, 'Task')).length;
    // The workflow stores the same payer answer under another id (its id follows the claim version).
    await recordAnswer(claim!, { ...answerTo(claim!, 'A-2002'), id: 'cr-again' });
    await drain();
    expect((await eobs()).map((e) => e.id)).toEqual([fhirAnswerId(SAMPLE_PAYER.id, 'A-2002')]);
    expect(fx.hookCalls).toHaveLength(1);
    expect((await searchAll<Task>(fx.store, TENANT, 'Task')).length).toBe(tasksBefore);
  });

  test('an ExplanationOfBenefit answer posts the same figures as the ClaimResponse', async () => {
    const [a, b] = await seedSubmittedClaims(fx.store, 2);
    await recordAnswer(a!, answerTo(a!, 'A-3003'));
    const response = answerTo(b!, 'A-3004');
    const asEob: ExplanationOfBenefit & { id: string } = {
      resourceType: 'ExplanationOfBenefit',
      id: 'payer-eob-3004',
      status: 'active',
      type: response.type,
      use: 'claim',
      patient: response.patient,
      created: response.created,
      insurer: response.insurer,
      provider: { display: 'Riverbend Infusion Center' },
      insurance: [{ focal: true, coverage: { reference: 'Coverage/cov-2-1' } }],
      claim: { reference: `Claim/${b!.id}` },
      outcome: 'complete',
      identifier: response.identifier ?? [],
      item: (response.item ?? []).map((i) => ({
        sequence: i.itemSequence,
        productOrService: b!.item!.find((c) => c.sequence === i.itemSequence)!.productOrService,
        adjudication: i.adjudication,
      })),
      payment: { date: '2026-12-04' },
    };
    await recordAnswer(b!, asEob);
    await drain();
    const posted = await eobs();
    const byClaim = (id: string): ExplanationOfBenefit | undefined =>
      posted.find((e) => e.claim?.reference === `Claim/${id}`);
    for (const code of ['submitted', 'eligible', 'benefit', 'memberliability']) {
      expect(totalOf(byClaim(b!.id)!, code)).toBe(totalOf(byClaim(a!.id)!, code));
    }
    const status = (id: string): Promise<string | undefined> =>
      fx.store.resources
        .read(TENANT, 'Claim', id)
        .then((c) => (c as Claim).extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode);
    expect(await status(b!.id)).toBe('partially-paid');
  });

  test('the answer to a void (frequency 8) is posted as a reversal, not a denial: no work item', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const voiding = (
      await fx.store.resources.update(TENANT, {
        ...claim!,
        extension: [...(claim!.extension ?? []), { url: EXT_CLAIM_FREQUENCY, valueCode: '8' }],
      })
    ).resource as Claim & StoredResource;
    const answer = answerTo(voiding, 'A-5005');
    // A void's lines: nothing allowed, nothing paid, nothing denied.
    await recordAnswer(voiding, {
      ...answer,
      item: (answer.item ?? []).map((i) => ({
        itemSequence: i.itemSequence,
        adjudication: i.adjudication
          .filter((a) => a.category.coding?.[0]?.code === 'submitted')
          .concat([entry('eligible', 0), entry('benefit', 0)]),
      })),
    });
    await drain();
    expect(fx.hookCalls.map((c) => c.payment.outcome)).toEqual(['reversed']);
    const stored = (await fx.store.resources.read(TENANT, 'Claim', claim!.id)) as Claim;
    expect(stored.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode).toBe('reversed');
    expect(
      (await searchAll<Task>(fx.store, TENANT, 'Task')).filter(
        (t) => t.focus?.reference === `Claim/${claim!.id}`,
      ),
    ).toEqual([]);
  });

  test('an answer to a claim not awaiting payment waits unmatched; matched by a biller, it posts as it would have, lines by item sequence', async () => {
    const [submitted] = await seedSubmittedClaims(fx.store, 1);
    // The answer comes while the claim is being rebuilt (built: not awaiting payment).
    const built = (
      await fx.store.resources.update(TENANT, {
        ...submitted!,
        extension: [
          ...(submitted!.extension ?? []).filter((e) => e.url !== EXT_CLAIM_STATE),
          { url: EXT_CLAIM_STATE, valueCode: 'built' },
        ],
      })
    ).resource as Claim & StoredResource;
    const answer = answerTo(built, 'A-3001');
    await fx.store.resources.writeBatch(TENANT, [
      { op: 'create', resource: answer, options: { id: answer.id } },
      {
        op: 'enqueue',
        job: {
          queue: CLAIM_ANSWER_QUEUE,
          key: `answer|${answer.id}`,
          payload: { claim: built.id, answer: `ClaimResponse/${answer.id}`, payer: SAMPLE_PAYER.id },
        },
      },
    ]);
    await drain();
    const [draft] = await eobs();
    expect(draft?.status).toBe('draft');
    const task = (await searchAll<Task>(fx.store, TENANT, 'Task')).find(
      (t) => t.code?.coding?.[0]?.code === UNMATCHED_TASK.code,
    );
    expect(task?.businessStatus?.text).toContain('built');
    expect(fx.hookCalls).toEqual([]);

    await fx.store.resources.update(TENANT, { ...built, extension: submitted!.extension ?? [] });
    const matched = await matchUnmatchedPayment(
      { ...fx.posting, tenants: () => TENANTS },
      TENANT,
      task?.id,
      { claim: built.id },
      { clientId: 'biller' },
    );
    expect(matched).toMatchObject({ status: 200, body: { outcome: 'partially-paid' } });
    expect(matched).not.toHaveProperty('body.reconciliation');
    const [eob] = await eobs();
    expect(eob?.status).toBe('active');
    expect(totalOf(eob!, 'benefit')).toBe(3430.4);
    expect(fx.hookCalls.map((c) => c.payment.lines.map((l) => l.matchedBy))).toEqual([
      ['item-sequence', 'item-sequence', 'item-sequence', 'item-sequence'],
    ]);
    const stored = (await fx.store.resources.read(TENANT, 'Claim', built.id)) as Claim;
    expect(stored.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode).toBe(
      'partially-paid',
    );
  });

  test('a rejection (outcome error, nothing adjudicated) posts nothing', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const { item: _item, ...rest } = answerTo(claim!, 'A-4004');
    await recordAnswer(claim!, {
      ...rest,
      outcome: 'error',
      error: [{ code: { coding: [{ system: CARC, code: '16' }] } }],
    });
    await drain();
    expect(await eobs()).toEqual([]);
    expect(fx.hookCalls).toHaveLength(0);
  });
});

describe('expected vs paid on every EOB line', () => {
  /**
   * Acme's contract: 96365 at 250.00 (the payer allows 200.00: underpaid by 50.00), J1745 carved
   * out at 99.00 per unit (allowed 3,168.40 of 3,960.00: underpaid), 80 % of billed for the rest
   * (96366: as expected); the JW line is denied (worked as a denial, not priced).
   */
  function withContract(): ReturnType<typeof createPaymentEvaluator> {
    const file = path.join(fx.dir, 'contracts.json');
    writeFileSync(
      file,
      JSON.stringify({
        title: 'test contracts',
        contracts: [
          {
            id: 'acme-2026',
            payer: SAMPLE_PAYER.id,
            name: 'Acme PPO',
            effective: '2026-01-01',
            source: 'Agreement Exhibit A',
            terms: [
              { id: 'admin', kind: 'fee-schedule', rates: { '96365': 250 } },
              { id: 'infliximab', kind: 'fee-schedule', carveOut: true, rates: { J1745: 99 } },
              { id: 'rest', kind: 'percent-of-billed', percent: 80 },
            ],
          },
        ],
      }),
    );
    const tenants: TenantConfig[] = TENANTS.map((t) =>
      t.id === TENANT ? { ...t, contracts: { file, underpaymentTolerance: { amount: 1, percent: 1 } } } : t,
    );
    return createPaymentEvaluator({ tenants: () => tenants, references });
  }

  const contractEntry = (
    item: NonNullable<ExplanationOfBenefit['item']>[number] | undefined,
    code: string,
  ): { amount?: number; reason?: string; text?: string } | undefined => {
    const found = item?.adjudication?.find(
      (a) =>
        a.category.coding?.[0]?.system?.endsWith('/contract-adjudication') &&
        a.category.coding[0].code === code,
    );
    return found
      ? {
          ...(found.amount ? { amount: found.amount.value } : {}),
          ...(found.reason?.coding?.[0]?.code ? { reason: found.reason.coding[0].code } : {}),
          ...(found.reason?.text ? { text: found.reason.text } : {}),
        }
      : undefined;
  };

  function expectContractFigures(eob: ExplanationOfBenefit | undefined): void {
    const line = (sequence: number) => eob?.item?.find((i) => i.sequence === sequence);
    // 96365: expected 250.00 allowed, 200.00 payment (less the 50.00 deductible); paid 150.00.
    expect(contractEntry(line(1), 'expected-allowed')).toMatchObject({ amount: 250 });
    expect(contractEntry(line(1), 'expected-allowed')?.text).toContain('acme-2026');
    expect(contractEntry(line(1), 'expected-payment')).toMatchObject({ amount: 200 });
    expect(contractEntry(line(1), 'variance')).toMatchObject({ amount: 50, reason: 'underpaid' });
    // 96366: 80 % of 140.00 billed, paid so.
    expect(contractEntry(line(2), 'expected-payment')).toMatchObject({ amount: 112 });
    expect(contractEntry(line(2), 'variance')).toMatchObject({ amount: 0, reason: 'as-expected' });
    // J1745 carve-out: 40 × 99.00 = 3,960.00 expected; paid 3,168.40.
    expect(contractEntry(line(3), 'expected-allowed')).toMatchObject({ amount: 3960 });
    expect(contractEntry(line(3), 'variance')).toMatchObject({ amount: 791.6, reason: 'underpaid' });
    // The denied JW line: no expectation, only why.
    expect(contractEntry(line(4), 'expected-allowed')).toBeUndefined();
    expect(contractEntry(line(4), 'variance')).toMatchObject({ reason: 'denied' });
    // Totals over the priced lines.
    expect(totalOf(eob!, 'expected-allowed')).toBe(4322);
    expect(totalOf(eob!, 'expected-payment')).toBe(4272);
    expect(totalOf(eob!, 'variance')).toBe(841.6);
  }

  test('an 835 claim payment', async () => {
    const evaluate = withContract();
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const text = await write835ToString(
      [remittance([paymentOf(claim!, { denyWaste: true })])],
      WRITE_OPTIONS,
    );
    await receiveRemittance(fx.intake, TENANT, [text], { source: 'test' });
    await drain(evaluate);
    const [eob] = await eobs();
    expectContractFigures(eob);
  });

  test("a FHIR payer's ClaimResponse", async () => {
    const evaluate = withContract();
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    await recordAnswer(claim!, answerTo(claim!, 'A-6006'));
    await drain(evaluate);
    const [eob] = await eobs();
    expectContractFigures(eob);
  });

  test('without contracts the EOB carries no contract figures', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    await recordAnswer(claim!, answerTo(claim!, 'A-7007'));
    await drain(createPaymentEvaluator({ tenants: () => TENANTS, references }));
    const [eob] = await eobs();
    expect(JSON.stringify(eob)).not.toContain('contract-adjudication');
  });
});
