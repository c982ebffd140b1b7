/**
 * The sandbox day's remittance part (`npm run sandbox:day`): waits until the X12 payer has taken
 * every X12 claim and Dripline has posted its 835s (no X12 claim ready or submitted, nothing
 * pending at the payer, the posting queues idle), then prints the remittance figures
 * (src/sandbox/day-remittance.ts).
 */
import type { Claim } from '@medplum/fhirtypes';
import { CLAIM_ANSWER_QUEUE } from '../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../src/claims/workflow/state.ts';
import { REMITTANCE_POST_QUEUE } from '../src/remittance/jobs.ts';
import { remittanceFigures } from '../src/sandbox/day-remittance.ts';
import type { SandboxRun } from '../src/sandbox/index.ts';
import { SANDBOX_TENANT } from '../src/sandbox/index.ts';
import { searchAll } from '../src/store/search-all.ts';

const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export async function reportRemittance(run: SandboxRun, started: number, timeoutMs: number): Promise<void> {
  const store = run.server.store;
  const idle = async (queue: string): Promise<boolean> =>
    (await store.jobs.listJobs(SANDBOX_TENANT, queue, 'ready', 1)).length === 0 &&
    (await store.jobs.listJobs(SANDBOX_TENANT, queue, 'leased', 1)).length === 0;
  console.log('\nwaiting for the X12 payer to take its claims and for its 835s to be posted...');
  for (;;) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`remittances not posted after ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const claims = await searchAll<Claim>(store, SANDBOX_TENANT, 'Claim');
    // FHIR-channel claims were answered before (the day settled): what is ready or submitted now waits on X12.
    const waiting = claims.filter((c) => ['ready', 'submitted'].includes(claimStateOf(c) ?? '')).length;
    const pending = run.x12Payer?.clearinghouse.pending() ?? 0;
    if (
      waiting === 0 &&
      pending === 0 &&
      (await idle(REMITTANCE_POST_QUEUE)) &&
      (await idle(CLAIM_ANSWER_QUEUE))
    ) {
      break;
    }
  }
  const counts = run.x12Payer?.clearinghouse.counts();
  const f = await remittanceFigures(store, SANDBOX_TENANT);
  console.log(
    `remittance: X12 payer took ${counts?.claims ?? 0} claims in ${counts?.batches ?? 0} batch(es); ` +
      `${f.remittances} 835 remittance(s) posted paying ${usd(f.remitted)}; ` +
      `${f.claimPayments} claim payments posted (both channels), paid ${usd(f.paid)}; ` +
      `${f.deniedLines} denied lines ${JSON.stringify(f.deniedByCategory)}; underpayments found ${f.underpayments.count} (${usd(f.underpayments.dollars)}); ` +
      `work items by queue ${JSON.stringify(f.workItemsByQueue)}`,
  );
}
