/**
 * Group commit: independent writes of requests that arrive together (the receiver's notification
 * jobs, the FHIR API's creates and updates with their AuditEvents) go to the store in one
 * transaction per tenant, and each caller is answered once that transaction has committed, with
 * its own operations' results.
 *
 * Why: a request may only be answered once its write is durable (nothing acknowledged is ever
 * lost), so every request costs a commit. With the embedded store shared by a receiver and worker
 * processes, each commit also has to take the database's write lock from the others; one lock and
 * one commit per group instead of per request is what lets a receiver keep up (bench:ingest and
 * bench:http profile the time in `transaction`).
 *
 * How: the first write of a group schedules a flush after the current turn of the event loop
 * (`setImmediate`: every request parsed in this turn joins); while a flush is in flight, new
 * writes gather for the next one, so at most one group commit per tenant is outstanding and
 * groups grow with the load. A group that fails is retried one request at a time, so one bad
 * request never fails the others; each request whose write did not commit gets the error (the
 * receiver answers 503 and the sender retries; the API answers the store's error). A group is the
 * same as its writes committed one after another in arrival order: idempotency keys, If-Match
 * versions and identifiers behave as they would alone (the same event twice in one group is one job).
 */
import type { BatchOperation, BatchResult, Store, TenantId } from './port.ts';

interface Pending {
  readonly operations: readonly BatchOperation[];
  readonly resolve: (results: BatchResult[]) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit {
  readonly #store: Store;
  readonly #maxOperations: number;
  /** Writes waiting for the next flush, by tenant. */
  readonly #waiting = new Map<TenantId, Pending[]>();
  /** Tenants with a flush scheduled or in flight. */
  readonly #flushing = new Set<TenantId>();
  #commits = 0;

  /** @param maxOperations operations per transaction at most (a larger group is split). */
  constructor(store: Store, maxOperations = 500) {
    this.#store = store;
    this.#maxOperations = maxOperations;
  }

  /**
   * Transactions committed so far (counted before their writers are answered): read right after a
   * write resolves, at least the number of the transaction that committed it.
   */
  get commits(): number {
    return this.#commits;
  }

  /**
   * Resolves once `operations` are committed (with those of the writes grouped with them), with
   * their results, as `store.resources.writeBatch(tenant, operations)` would.
   */
  write(tenant: TenantId, operations: readonly BatchOperation[]): Promise<BatchResult[]> {
    return new Promise<BatchResult[]>((resolve, reject) => {
      const waiting = this.#waiting.get(tenant);
      if (waiting) {
        waiting.push({ operations, resolve, reject });
      } else {
        this.#waiting.set(tenant, [{ operations, resolve, reject }]);
      }
      if (!this.#flushing.has(tenant)) {
        this.#flushing.add(tenant);
        setImmediate(() => void this.#flush(tenant));
      }
    });
  }

  async #flush(tenant: TenantId): Promise<void> {
    for (;;) {
      const group = this.#take(tenant);
      if (group.length === 0) {
        this.#flushing.delete(tenant);
        return;
      }
      try {
        const results = await this.#store.resources.writeBatch(
          tenant,
          group.flatMap((p) => p.operations),
        );
        this.#commits++;
        let offset = 0;
        for (const pending of group) {
          pending.resolve(results.slice(offset, offset + pending.operations.length));
          offset += pending.operations.length;
        }
      } catch {
        // Alone, each write commits or fails on its own merits.
        for (const pending of group) {
          try {
            const results = await this.#store.resources.writeBatch(tenant, pending.operations);
            this.#commits++;
            pending.resolve(results);
          } catch (err) {
            pending.reject(err);
          }
        }
      }
    }
  }

  /** The next group of the tenant's waiting writes: whole requests, up to maxOperations (at least one). */
  #take(tenant: TenantId): Pending[] {
    const waiting = this.#waiting.get(tenant) ?? [];
    let operations = 0;
    let count = 0;
    while (count < waiting.length) {
      const size = waiting[count]?.operations.length ?? 0;
      if (count > 0 && operations + size > this.#maxOperations) {
        break;
      }
      operations += size;
      count++;
    }
    const group = waiting.splice(0, count);
    if (waiting.length === 0) {
      this.#waiting.delete(tenant);
    }
    return group;
  }
}
