/**
 * A queue's finished jobs purged in short transactions (`JobQueue.purgeDone`), with a turn of the
 * event loop between them: what ingest's retention (src/ingest/retention.ts) and PAS housekeeping
 * (src/coverage/pas/retention.ts) both run.
 */
import type { JobQueue, TenantId } from './port.ts';

/**
 * Finished jobs purged per transaction: a short hold of the write lock, which a receiver's enqueue,
 * FHIR writes and every other queue wait for meanwhile (1,000 took ~12 ms on the development VM, in
 * a queue also holding 200,000 kept jobs; a pass with nothing to purge, ~0.3 ms).
 */
export const PURGE_BATCH = 1_000;

/**
 * Purges the tenant's jobs of `queue` finished before `finishedBefore`, PURGE_BATCH a transaction,
 * at most `rounds` transactions in all: of the whole queue, or of each of `keyPrefixes` in turn
 * (the rest of the queue stays). Resolves with how many were purged; what is left waits for the
 * next pass.
 */
export async function purgeFinishedInBatches(
  jobs: Pick<JobQueue, 'purgeDone'>,
  tenant: TenantId,
  queue: string,
  finishedBefore: string,
  options: { readonly rounds: number; readonly keyPrefixes?: readonly string[] },
): Promise<number> {
  let purged = 0;
  let rounds = 0;
  for (const keyPrefix of options.keyPrefixes ?? [undefined]) {
    while (rounds < options.rounds) {
      rounds += 1;
      const deleted = await jobs.purgeDone(
        tenant,
        queue,
        finishedBefore,
        PURGE_BATCH,
        keyPrefix === undefined ? {} : { keyPrefix },
      );
      purged += deleted;
      if (deleted < PURGE_BATCH) {
        break;
      }
      // A turn of the event loop between transactions: requests in this process are answered meanwhile.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return purged;
}
