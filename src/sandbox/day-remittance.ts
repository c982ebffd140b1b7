/**
 * The sandbox day's remittance figures, read from Dripline's store once the payers' answers are
 * posted: the 835 remittances posted (PaymentReconciliations) and what they paid (BPR02, PLB
 * included), the claim payments posted (EOBs, both channels) and their paid dollars, the denied
 * lines (paid nothing for a reason other than the patient's share or the contractual write-down),
 * the underpayments found against the contracts, and the work items opened, by queue (not those a
 * reversal superseded: the replacing claim's items count).
 */
import type { ExplanationOfBenefit, PaymentReconciliation, Task } from '@medplum/fhirtypes';
import { CS_WORK_ITEM_STATE, CS_WORK_QUEUE } from '../contract/recovery.ts';
import { CS_WORK_ITEM } from '../contract/canonical.ts';
import { CARC_SYSTEM, GROUP_CODE_SYSTEM } from '../remittance/sources/claim-response.ts';
import { carcInfo } from '../remittance/codes.ts';
import { countsInTotals } from '../remittance/work/items.ts';
import type { Store, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';

export interface RemittanceFigures {
  readonly remittances: number;
  /** Σ PaymentReconciliation.paymentAmount (what the 835s paid, PLB included). */
  readonly remitted: number;
  readonly claimPayments: number;
  /** Σ EOB payment amounts (reversals negative). */
  readonly paid: number;
  readonly deniedLines: number;
  /** Denied lines by the denial category of their CARC (src/remittance/codes.ts). */
  readonly deniedByCategory: Readonly<Record<string, number>>;
  readonly underpayments: { readonly count: number; readonly dollars: number };
  readonly workItemsByQueue: Readonly<Record<string, number>>;
}

const cents = (x: number | undefined): number => Math.round((x ?? 0) * 100);

/**
 * The denial category (work queue) of a line paid nothing for a reason other than the patient's
 * share or the contractual write-down: its CARC's, in the code table; undefined for any other line.
 */
function deniedLineCategory(item: NonNullable<ExplanationOfBenefit['item']>[number]): string | undefined {
  const benefit = item.adjudication?.find((a) => a.category.coding?.some((c) => c.code === 'benefit'));
  if (cents(benefit?.amount?.value) !== 0) {
    return undefined;
  }
  for (const a of item.adjudication ?? []) {
    const group = a.category.coding?.find((c) => c.system === GROUP_CODE_SYSTEM)?.code;
    const carc = a.reason?.coding?.find((c) => c.system === CARC_SYSTEM)?.code;
    if (
      group !== undefined &&
      group !== 'PR' &&
      carc !== undefined &&
      carc !== '45' &&
      cents(a.amount?.value) > 0
    ) {
      return carcInfo(carc).category;
    }
  }
  return undefined;
}

export async function remittanceFigures(store: Store, tenant: TenantId): Promise<RemittanceFigures> {
  const reconciliations = await searchAll<PaymentReconciliation>(store, tenant, 'PaymentReconciliation');
  const eobs = (await searchAll<ExplanationOfBenefit>(store, tenant, 'ExplanationOfBenefit')).filter(
    (e) => e.use === 'claim' && e.status === 'active',
  );
  const tasks = await searchAll<Task>(store, tenant, 'Task');
  const workItemsByQueue: Record<string, number> = {};
  let underpaid = 0;
  let underpaidCents = 0;
  for (const task of tasks) {
    const kind = task.code?.coding?.find((c) => c.system === CS_WORK_ITEM)?.code;
    const queue = task.code?.coding?.find((c) => c.system === CS_WORK_QUEUE)?.code;
    const state = task.businessStatus?.coding?.find((c) => c.system === CS_WORK_ITEM_STATE)?.code;
    if ((kind !== 'denial' && kind !== 'underpayment') || !queue || !countsInTotals(state)) {
      continue;
    }
    workItemsByQueue[queue] = (workItemsByQueue[queue] ?? 0) + 1;
    if (kind === 'underpayment') {
      underpaid += 1;
      underpaidCents += cents(
        task.input?.find((i) => i.type.coding?.some((c) => c.code === 'dollars-at-stake'))?.valueMoney?.value,
      );
    }
  }
  const deniedByCategory: Record<string, number> = {};
  let deniedLines = 0;
  for (const eob of eobs.filter((e) => cents(e.payment?.amount?.value) >= 0)) {
    for (const item of eob.item ?? []) {
      const category = deniedLineCategory(item);
      if (category !== undefined) {
        deniedLines += 1;
        deniedByCategory[category] = (deniedByCategory[category] ?? 0) + 1;
      }
    }
  }
  return {
    remittances: reconciliations.length,
    remitted: reconciliations.reduce((s, r) => s + cents(r.paymentAmount.value), 0) / 100,
    claimPayments: eobs.length,
    paid: eobs.reduce((s, e) => s + cents(e.payment?.amount?.value), 0) / 100,
    deniedLines,
    deniedByCategory,
    underpayments: { count: underpaid, dollars: underpaidCents / 100 },
    workItemsByQueue,
  };
}
