/**
 * Group commit for the receiver's acknowledgements: the durable writes of notifications that arrive
 * together go to the store in one transaction per tenant, and each sender is answered once that
 * transaction has committed.
 *
 * Why: an acknowledgement may only be sent once its job is durable (nothing acknowledged is ever
 * lost), so every notification costs a commit. With the embedded store shared by a receiver and
 * worker processes, each commit also has to take the database's write lock from the workers; one
 * lock and one commit per group instead of per notification is what lets the receiver keep up
 * (bench:ingest profiles the receiver's time in `transaction`).
 *
 * How: the first write of a group schedules a flush after the current turn of the event loop
 * (`setImmediate`: every request parsed in this turn joins); while a flush is in flight, new
 * writes gather for the next one, so at most one group commit per tenant is outstanding and
 * groups grow with the load. A group that fails is retried one request at a time, so one bad
 * request never fails the others; each request whose write did not commit gets the error (the
 * receiver answers 503 and the sender retries). Idempotency is the jobs' keys, unchanged: the same
 * event twice in one group is one job.
 */
import type { BatchOperation, Store, TenantId } from '../store/port.ts';

interface Pending {
  readonly operations: readonly BatchOperation[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit {
  readonly #store: Store;
  readonly #maxOperations: number;
  /** Writes waiting for the next flush, by tenant. */
  readonly #waiting = new Map<TenantId, Pending[]>();
  /** Tenants with a flush scheduled or in flight. */
  readonly #flushing = new Set<TenantId>();

  /** @param maxOperations operations per transaction at most (a larger group is split). */
  constructor(store: Store, maxOperations = 500) {
    this.#store = store;
    this.#maxOperations = maxOperations;
  }

  /** Resolves once `operations` are committed (with those of the writes grouped with them). */
  write(tenant: TenantId, operations: readonly BatchOperation[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
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
        await this.#store.resources.writeBatch(
          tenant,
          group.flatMap((p) => p.operations),
        );
        for (const pending of group) {
          pending.resolve();
        }
      } catch {
        // Alone, each write commits or fails on its own merits.
        for (const pending of group) {
          try {
            await this.#store.resources.writeBatch(tenant, pending.operations);
            pending.resolve();
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
