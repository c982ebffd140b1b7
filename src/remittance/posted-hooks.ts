/**
 * The hooks posting calls for each claim payment (see `ClaimPaymentPostedHook` in ./posted.ts):
 * the engines that act on posted payments register here, in the order they run. Posting takes
 * this list by default (src/remittance/post-claim-payment.ts); tests pass their own.
 *
 * Empty by default: the server passes the denial and underpayment work hook
 * (src/remittance/work/engine.ts) through src/remittance/wiring.ts.
 */
import type { BatchOperation } from '../store/port.ts';
import type { ClaimPaymentPostedContext, ClaimPaymentPostedHook } from './posted.ts';

export const CLAIM_PAYMENT_POSTED_HOOKS: readonly ClaimPaymentPostedHook[] = [];

/**
 * Runs the hooks of one claim payment in order and gathers the operations they return (written in
 * the posting transaction).
 */
export async function onClaimPaymentPosted(
  ctx: ClaimPaymentPostedContext,
  hooks: readonly ClaimPaymentPostedHook[] = CLAIM_PAYMENT_POSTED_HOOKS,
): Promise<BatchOperation[]> {
  const operations: BatchOperation[] = [];
  for (const hook of hooks) {
    operations.push(...(await hook(ctx)));
  }
  return operations;
}
