/**
 * The remittance work engine: for each posted claim payment, whichever channel it came through,
 * the contract evaluation (underpayments), the denial triage and the work items they create or move
 * (./plan.ts), as operations written in the posting's own transaction. Registered on the posting
 * hook (../posted-hooks.ts) for 835s; the FHIR channel's ClaimResponses reach it through
 * `claimResponseWrites` (the claim workflow calls it when it records a payer's answer).
 */
import type { Claim, ClaimResponse, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import type { Contract } from '../../config/contracts-file.ts';
import { readContractsFile } from '../../config/contracts-file.ts';
import { ID_WORK_ITEM_CLAIM } from '../../contract/recovery.ts';
import type { BatchOperation, Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { localDate } from '../../time/zone.ts';
import type { PaymentEvaluation } from '../contracts/variance.ts';
import { evaluatePayment } from '../contracts/variance.ts';
import type { ReferenceRates } from '../contracts/references.ts';
import type { ClaimPaymentPostedHook, PostedClaimPayment } from '../posted.ts';
import { postedPaymentOfClaimResponse } from '../sources/claim-response.ts';
import { gatherTriageFacts } from './facts.ts';
import type { Plan } from './plan.ts';
import { planWorkItems } from './plan.ts';

export interface WorkEngineDeps {
  readonly tenants: () => readonly TenantConfig[];
  readonly references: ReferenceRates;
  readonly publicUrl: string;
}

const contractsCache = new Map<string, readonly Contract[]>();

/** The tenant's contracts (read once per file; validated at config load already). */
export function tenantContracts(tenant: TenantConfig): readonly Contract[] {
  const file = tenant.contracts?.file;
  if (!file) {
    return [];
  }
  let contracts = contractsCache.get(file);
  if (!contracts) {
    contracts = readContractsFile(file).contracts;
    contractsCache.set(file, contracts);
  }
  return contracts;
}

/** The payment against the tenant's contracts; undefined without contracts or payer. */
export function evaluationOf(
  deps: Pick<WorkEngineDeps, 'references'>,
  config: TenantConfig,
  payment: PostedClaimPayment,
  decided: string,
): PaymentEvaluation | undefined {
  const contracts = tenantContracts(config);
  const payer = config.payers.find((p) => p.id === payment.payer);
  if (contracts.length === 0 || !payer) {
    return undefined;
  }
  return evaluatePayment({
    payment,
    decided,
    contracts,
    payerKind: payer.kind,
    references: deps.references,
    ...(config.contracts ? { tolerance: config.contracts.underpaymentTolerance } : {}),
  });
}

export interface PaymentWorkInput {
  readonly tenant: TenantId;
  readonly payment: PostedClaimPayment;
  readonly claim: Claim & { id: string };
  readonly payerEndpoint?: PayerEndpoint;
  readonly store: Pick<Store, 'resources'>;
  readonly now: Date;
}

/** The work-item writes of one posted claim payment (and the evaluation they rest on). */
export async function workItemWrites(
  deps: WorkEngineDeps,
  input: PaymentWorkInput,
): Promise<Plan & { evaluation?: PaymentEvaluation }> {
  const config = deps.tenants().find((t) => t.id === input.tenant);
  if (!config) {
    return { writes: [], created: [], changed: [] };
  }
  const zone = tenantCalendarZone(config);
  const today = localDate(input.now, zone);
  const decided = input.payment.paymentDate ?? today;
  const payer = input.payerEndpoint ?? config.payers.find((p) => p.id === input.payment.payer);
  const evaluation = evaluationOf(deps, config, input.payment, decided);
  // Items of this claim's chain: this claim, and the claims it corrects (their items name it once sent).
  const chain = [input.claim.id];
  const existing = await searchAll<Task>(input.store, input.tenant, 'Task', [
    {
      code: 'identifier',
      kind: 'token',
      values: chain.map((value) => ({ system: ID_WORK_ITEM_CLAIM, value })),
    },
  ]);
  const facts = await gatherTriageFacts(input.store, input.tenant, input.claim, payer);
  const plan = planWorkItems({
    payment: input.payment,
    decided,
    today,
    ...(input.claim.patient?.reference ? { patient: input.claim.patient.reference } : {}),
    payer: {
      kind: payer?.kind ?? 'commercial',
      ...(payer?.appealDays !== undefined ? { appealDays: payer.appealDays } : {}),
    },
    ...(config.workQueues ? { assignees: config.workQueues.assignees } : {}),
    ...(evaluation ? { evaluation } : {}),
    facts,
    existing,
    now: input.now,
    publicUrl: deps.publicUrl,
  });
  return { ...plan, ...(evaluation ? { evaluation } : {}) };
}

/** The hook the 835 posting calls for each claim payment. */
export function createRemittanceWorkHook(deps: WorkEngineDeps): ClaimPaymentPostedHook {
  return async (ctx) =>
    (
      await workItemWrites(deps, {
        tenant: ctx.tenant,
        payment: ctx.payment,
        claim: ctx.claim,
        ...(ctx.payerEndpoint ? { payerEndpoint: ctx.payerEndpoint } : {}),
        store: ctx.store,
        now: ctx.now,
      })
    ).writes;
}

/**
 * The FHIR channel: a payer's ClaimResponse to a submitted claim, recorded by the claim workflow
 * (`responseId` is the id it is stored under), through the same engine. Preauthorization answers
 * and rejections (outcome error with no adjudication) give no payment and write nothing.
 */
export async function claimResponseWrites(
  deps: WorkEngineDeps,
  input: {
    readonly tenant: TenantId;
    readonly claim: Claim & { id: string };
    readonly response: ClaimResponse & { id: string };
    readonly payer: PayerEndpoint;
    readonly store: Pick<Store, 'resources'>;
    readonly now: Date;
  },
): Promise<BatchOperation[]> {
  const config = deps.tenants().find((t) => t.id === input.tenant);
  if (!config) {
    return [];
  }
  const zone = tenantCalendarZone(config);
  const paymentDate = (input.response.payment?.date ?? '').slice(0, 10) || localDate(input.now, zone);
  const payment = postedPaymentOfClaimResponse(input.response, {
    claim: input.claim,
    payer: input.payer.id,
    paymentDate,
  });
  if (!payment) {
    return [];
  }
  const plan = await workItemWrites(deps, {
    tenant: input.tenant,
    payment,
    claim: input.claim,
    payerEndpoint: input.payer,
    store: input.store,
    now: input.now,
  });
  return plan.writes;
}
