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
 *
 * A write may carry a note for the transaction it ends up in: the `trailer` option turns the notes
 * of the writes committed together into operations appended to that transaction (the ingest
 * worker's copies: one AuditEvent per patient for the copies of a group, instead of one per copy).
 * A write retried alone gets the trailer of its own note.
 */
import type { BatchOperation, BatchResult, Store, TenantId } from './port.ts';

interface Pending<Note> {
  readonly operations: readonly BatchOperation[];
  readonly note: Note | undefined;
  readonly resolve: (results: BatchResult[]) => void;
  readonly reject: (err: unknown) => void;
}

export interface GroupCommitOptions<Note> {
  /** Operations per transaction at most (a larger group is split); default 500. */
  readonly maxOperations?: number;
  /**
   * The operations appended to a transaction for the notes of the writes in it (in their order;
   * called only when there is at least one). Their results are not handed to any writer.
   */
  readonly trailer?: (tenant: TenantId, notes: readonly Note[]) => BatchOperation[];
}

export class GroupCommit<Note = never> {
  readonly #store: Store;
  readonly #maxOperations: number;
  readonly #trailer: GroupCommitOptions<Note>['trailer'];
  /** Writes waiting for the next flush, by tenant. */
  readonly #waiting = new Map<TenantId, Pending<Note>[]>();
  /** Tenants with a flush scheduled or in flight. */
  readonly #flushing = new Set<TenantId>();
  #commits = 0;

  /** @param options `maxOperations` alone, or the options. */
  constructor(store: Store, options: number | GroupCommitOptions<Note> = {}) {
    const { maxOperations = 500, trailer } =
      typeof options === 'number' ? { maxOperations: options } : options;
    this.#store = store;
    this.#maxOperations = maxOperations;
    this.#trailer = trailer;
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
   * their results, as `store.resources.writeBatch(tenant, operations)` would; `note` goes to the
   * trailer of the transaction that commits them.
   */
  write(tenant: TenantId, operations: readonly BatchOperation[], note?: Note): Promise<BatchResult[]> {
    return new Promise<BatchResult[]>((resolve, reject) => {
      const pending: Pending<Note> = { operations, note, resolve, reject };
      const waiting = this.#waiting.get(tenant);
      if (waiting) {
        waiting.push(pending);
      } else {
        this.#waiting.set(tenant, [pending]);
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
        const results = await this.#store.resources.writeBatch(tenant, this.#transaction(tenant, group));
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
            const results = await this.#store.resources.writeBatch(
              tenant,
              this.#transaction(tenant, [pending]),
            );
            this.#commits++;
            pending.resolve(results);
          } catch (err) {
            pending.reject(err);
          }
        }
      }
    }
  }

  /** The operations of one transaction: the writes' own, in order, then the trailer of their notes. */
  #transaction(tenant: TenantId, group: readonly Pending<Note>[]): BatchOperation[] {
    const operations = group.flatMap((p) => p.operations);
    const notes = group.flatMap((p) => (p.note === undefined ? [] : [p.note]));
    if (this.#trailer && notes.length > 0) {
      operations.push(...this.#trailer(tenant, notes));
    }
    return operations;
  }

  /** The next group of the tenant's waiting writes: whole requests, up to maxOperations (at least one). */
  #take(tenant: TenantId): Pending<Note>[] {
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
