/**
 * The sandbox day's remittance part (`npm run sandbox:day`): waits until the X12 payer has taken
 * every X12 claim and Dripline has posted its 835s (no X12 claim ready or submitted, nothing
 * pending at the payer, the posting queues idle: `X12PayerWait`), then prints the remittance figures
 * (src/sandbox/day-remittance.ts).
 */
import type { Claim } from '@medplum/fhirtypes';
import { CLAIM_ANSWER_QUEUE } from '../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../src/claims/workflow/state.ts';
import { REMITTANCE_POST_QUEUE } from '../src/remittance/jobs.ts';
import { remittanceFigures } from '../src/sandbox/day-remittance.ts';
import type { SandboxRun } from '../src/sandbox/index.ts';
import type { AdvancingClock } from '../src/time/clock.ts';
import { SANDBOX_TENANT } from '../src/sandbox/index.ts';
import { searchAll } from '../src/store/search-all.ts';

const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/**
 * What the sandbox X12 payer still has to do for the day — claims to take, 835s to send, and
 * Dripline's posting of them — with the day's clock moved over the payer's processing time when
 * that is all that is left (once for each set of batches it took).
 */
export class X12PayerWait {
  readonly #run: SandboxRun;
  readonly #clock: AdvancingClock;
  readonly #delayMs: number;
  /** The payer's batch count when the clock was last moved for its 835s. */
  #skippedFor = -1;

  /** `delayMs`: the X12 payer's processing time before an 835 (on the clock). */
  constructor(run: SandboxRun, clock: AdvancingClock, delayMs: number) {
    this.#run = run;
    this.#clock = clock;
    this.#delayMs = delayMs;
  }

  /**
   * How many things are outstanding with the X12 payer, given the tenant's claims (0: every X12
   * claim answered and posted). FHIR-channel claims are answered by the time they are neither
   * built nor submitting: what is ready or submitted then waits on X12.
   */
  async outstanding(claims: readonly Claim[]): Promise<number> {
    const store = this.#run.server.store;
    const busy = async (queue: string): Promise<boolean> =>
      (await store.jobs.listJobs(SANDBOX_TENANT, queue, 'ready', 1)).length > 0 ||
      (await store.jobs.listJobs(SANDBOX_TENANT, queue, 'leased', 1)).length > 0;
    const untaken = claims.filter((c) => claimStateOf(c) === 'ready').length;
    const unanswered = claims.filter((c) => claimStateOf(c) === 'submitted').length;
    const clearinghouse = this.#run.x12Payer?.clearinghouse;
    const pending = clearinghouse?.pending() ?? 0;
    const posting = (await busy(REMITTANCE_POST_QUEUE)) || (await busy(CLAIM_ANSWER_QUEUE)) ? 1 : 0;
    const batches = clearinghouse?.counts().batches ?? 0;
    if (pending > 0 && untaken === 0 && posting === 0 && this.#skippedFor !== batches) {
      // Every claim taken, nothing posting: the 835s wait only for the payer's processing time.
      this.#skippedFor = batches;
      this.#clock.advance(this.#delayMs);
    }
    return untaken + unanswered + pending + posting;
  }
}

export async function reportRemittance(
  run: SandboxRun,
  payer: X12PayerWait,
  deadline: number,
): Promise<void> {
  const store = run.server.store;
  console.log('\nwaiting for the X12 payer to take its claims and for its 835s to be posted...');
  while ((await payer.outstanding(await searchAll<Claim>(store, SANDBOX_TENANT, 'Claim'))) > 0) {
    if (Date.now() > deadline) {
      throw new Error('remittances not posted before the day gave up');
    }
    await new Promise((r) => setTimeout(r, 250));
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
