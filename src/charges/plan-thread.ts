/**
 * The body of charge capture's planning thread (./planning-thread.ts starts it): its own
 * connection to the store, the coding tables and FHIR definitions loaded once, and each request
 * answered with its group's plan (./group-planner.ts). It only reads; the worker's thread writes.
 *
 * Why a thread: a finished visit's plan (its group's reads, the coding, each resource validated)
 * is about half of capture's time, and the store's one writer need not wait for it. While the
 * worker writes one batch, this thread plans the next, on the other core.
 *
 * Loaded by `new Worker(url)`, so plain Node runs it (type stripping): erasable TypeScript only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { codingTablesOnFirstUse } from '../coding/tables/load.ts';
import { loadFhirDefinitions } from '../fhir/definitions.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { planEncounterGroup } from './group-planner.ts';
import type { PlannedGroup, PlanRequest } from './group-planner.ts';

export interface PlanThreadData {
  /** The store's main file (the worker's own store's). */
  readonly storePath: string;
  /** The coding tables' directory (default: the tables shipped with Dripline). */
  readonly tablesDir?: string;
}

/** What the worker sends: a leased batch's plan requests, numbered to match the answer. */
export interface PlanThreadRequest {
  readonly id: number;
  readonly requests: readonly PlanRequest[];
}

/** Each request's plan, or why it failed (the worker then plans that group itself). */
export type PlanOutcome = { readonly planned: PlannedGroup } | { readonly error: string };

/** The thread's answer to a batch; or, once, that it is ready (its store open, its tables read). */
export type PlanThreadAnswer =
  { readonly id: number; readonly outcomes: readonly PlanOutcome[] } | { readonly ready: true };

const data = workerData as PlanThreadData;
loadFhirDefinitions();
const tables = codingTablesOnFirstUse(data.tablesDir);
const store = await openSqliteStore({ path: data.storePath });
// Read now, not with the first batch's plans (which the worker would wait for).
if (tables.drugs.drugs.length === 0) {
  throw new Error('charge capture planning thread: the coding tables hold no drugs');
}
parentPort?.postMessage({ ready: true } satisfies PlanThreadAnswer);

/**
 * A batch's plans, made in one read transaction (../store/sqlite/db.ts readSnapshot): the
 * connection's page cache then lasts the batch instead of being dropped before each read (the
 * worker commits between them). The snapshot is at least as new as the batch's mark, which the
 * worker took before asking.
 */
async function planBatch(requests: readonly PlanRequest[]): Promise<PlanOutcome[]> {
  return store.connection.readSnapshot(() =>
    Promise.all(
      requests.map((request) =>
        planEncounterGroup(store, tables, request).then(
          (planned): PlanOutcome => ({ planned }),
          (err: unknown): PlanOutcome => ({ error: (err as Error).message }),
        ),
      ),
    ),
  );
}

// One batch at a time: the store is synchronous, so a batch's plans are made before the next
// message is read.
parentPort?.on('message', (message: PlanThreadRequest | 'close') => {
  if (message === 'close') {
    void store.close().then(() => parentPort?.close());
    return;
  }
  planBatch(message.requests).then(
    (outcomes) => parentPort?.postMessage({ id: message.id, outcomes } satisfies PlanThreadAnswer),
    (err: unknown) =>
      parentPort?.postMessage({
        id: message.id,
        outcomes: message.requests.map(() => ({ error: (err as Error).message })),
      } satisfies PlanThreadAnswer),
  );
});
