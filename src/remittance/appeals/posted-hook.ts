/**
 * The appeal's outcome from the payer's next remittance for the claim (a posted-payment hook,
 * ../posted.ts): when a payment of an appealed claim is posted while the appeal is open, what it
 * pays on the appealed lines is what the appeal recovered —
 * - a denial: Σ paid on the denied lines (a claim-level denial: the claim's payment);
 * - an underpayment: Σ (paid now − paid before) on the underpaid lines (the payer reprocesses the
 *   claim: a reversal and a new payment of the whole claim, 005010X221A1 §1.10.2.8);
 * all of it → overturned, part → partly-overturned, nothing → upheld. A reversal alone decides
 * nothing. The change is written in the posting transaction, with its AuditEvent.
 */
import type { Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import type { BatchOperation } from '../../store/port.ts';
import { localDate } from '../../time/zone.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { round2 } from '../amounts.ts';
import type { ClaimPaymentPostedHook, PostedClaimPayment } from '../posted.ts';
import { kindOf, workItemView } from '../work/items.ts';
import { versionCheckedUpdate } from '../work/task-writes.ts';
import { appealAudit } from './actions.ts';
import { appealLevels } from './deadlines.ts';
import type { DecidedOutcome } from './task.ts';
import { appealId, appealKey, appealView, changed, decidedChange } from './task.ts';

export const APPEAL_OUTCOME_AGENT = 'dripline/appeal-outcomes';

/** What a payment recovered on the lines a work item appealed. Pure. */
export function recoveredBy(payment: PostedClaimPayment, item: Task & { id: string }): number {
  const view = workItemView(item);
  if (!view) {
    return 0;
  }
  const bySequence = new Map(payment.lines.map((l) => [l.itemSequence, l]));
  let cents = 0;
  for (const line of view.lines) {
    const sequence = typeof line['itemSequence'] === 'number' ? line['itemSequence'] : undefined;
    if (kindOf(item) === 'denial') {
      if (line['position'] === 0 || sequence === undefined) {
        cents += Math.round(payment.paid * 100);
        break;
      }
      cents += Math.round((bySequence.get(sequence)?.paid ?? 0) * 100);
    } else if (sequence !== undefined) {
      const before = typeof line['paid'] === 'number' ? line['paid'] : 0;
      cents += Math.max(0, Math.round(((bySequence.get(sequence)?.paid ?? 0) - before) * 100));
    }
  }
  return cents / 100;
}

export function createAppealOutcomeHook(deps: {
  readonly publicUrl: string;
  readonly tenants: () => readonly TenantConfig[];
}): ClaimPaymentPostedHook {
  return async (ctx) => {
    if (ctx.payment.outcome === 'reversed' || !ctx.payerEndpoint) {
      return [];
    }
    const writes: BatchOperation[] = [];
    for (const rule of appealLevels(ctx.payerEndpoint)) {
      const found = await ctx.store.resources
        .read(ctx.tenant, 'Task', appealId(appealKey(ctx.tenant, ctx.claim.id, rule.level)))
        .catch(() => undefined);
      const task = found?.resourceType === 'Task' ? found : undefined;
      const view = task ? appealView(task) : undefined;
      if (!task || !view || view.outcome !== 'open') {
        continue;
      }
      const item = await ctx.store.resources.read(ctx.tenant, 'Task', view.workItem).catch(() => undefined);
      if (!item || item.resourceType !== 'Task') {
        continue;
      }
      const recovered = Math.min(view.denied, recoveredBy(ctx.payment, item));
      const outcome: DecidedOutcome =
        recovered >= view.denied - 0.005 ? 'overturned' : recovered > 0 ? 'partly-overturned' : 'upheld';
      const config = deps.tenants().find((t) => t.id === ctx.tenant);
      const decidedOn =
        ctx.payment.paymentDate ?? localDate(ctx.now, config ? tenantCalendarZone(config) : 'UTC');
      const next = changed(
        task,
        ctx.now.toISOString(),
        `${outcome} by the payer's payment ExplanationOfBenefit/${ctx.payment.id} of ${decidedOn}: $${recovered.toFixed(2)} recovered.`,
        decidedChange(outcome, round2(recovered), decidedOn),
      );
      writes.push(
        versionCheckedUpdate(task, next),
        appealAudit({ publicUrl: deps.publicUrl, now: () => ctx.now }, next, 'outcome', {
          clientId: APPEAL_OUTCOME_AGENT,
        }),
      );
    }
    return writes;
  };
}
