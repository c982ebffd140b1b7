/**
 * The remittance work engine: for each posted claim payment, whichever channel it came through,
 * the contract evaluation (underpayments), the denial triage and the work items they create or move
 * (./plan.ts), as operations written in the posting's own transaction. Registered on the posting
 * hook (../posted-hooks.ts), which 835 claim payments and FHIR payers' answers (../post-answer.ts)
 * both go through.
 */
import type { Claim, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import type { Contract } from '../../config/contracts-file.ts';
import { readContractsFile } from '../../config/contracts-file.ts';
import { EXT_CLAIM_REPLACED_BY } from '../../contract/canonical.ts';
import { ID_WORK_ITEM_CLAIM } from '../../contract/recovery.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { localDate } from '../../time/zone.ts';
import type { PaymentEvaluation } from '../contracts/variance.ts';
import { evaluatePayment } from '../contracts/variance.ts';
import type { ReferenceRates } from '../contracts/references.ts';
import type { PaymentEvaluator } from '../post-claim-payment.ts';
import type { ClaimPaymentPostedHook, PostedClaimPayment } from '../posted.ts';
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

/**
 * The evaluator posting records on each EOB (expected vs paid per line): the payment against the
 * tenant's contracts, decided on its payment date (else today in the tenant's zone).
 */
export function createPaymentEvaluator(
  deps: Pick<WorkEngineDeps, 'tenants' | 'references'>,
): PaymentEvaluator {
  return (tenant, payment, now) => {
    const config = deps.tenants().find((t) => t.id === tenant);
    if (!config) {
      return undefined;
    }
    const decided = payment.paymentDate ?? localDate(now, tenantCalendarZone(config));
    return evaluationOf(deps, config, payment, decided);
  };
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
  const replacedBy = input.claim.extension
    ?.find((e) => e.url === EXT_CLAIM_REPLACED_BY)
    ?.valueReference?.reference?.replace(/^Claim\//, '');
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
    ...(replacedBy ? { replacedBy } : {}),
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
