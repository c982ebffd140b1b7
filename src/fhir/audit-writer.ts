/**
 * Group commit for read audits. A PHI read must not be answered before its AuditEvent is durable,
 * but one transaction per read caps read throughput at the store's commit rate. Requests that reach
 * this point in the same event-loop turn share one transaction per tenant; each caller still waits
 * for the commit that holds its event. The store's audit log (Store.auditLog) may journal them and
 * file them as AuditEvents on another thread.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Store, TenantId } from '../store/port.ts';

interface Pending {
  readonly events: (AuditEvent & { id: string })[];
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export class AuditWriter {
  readonly #store: Store;
  #pending = new Map<TenantId, Pending>();
  #scheduled = false;

  constructor(store: Store) {
    this.#store = store;
  }

  write(tenant: TenantId, event: AuditEvent & { id: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      let pending = this.#pending.get(tenant);
      if (!pending) {
        pending = { events: [], waiters: [] };
        this.#pending.set(tenant, pending);
      }
      pending.events.push(event);
      pending.waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    const batches = this.#pending;
    this.#pending = new Map();
    this.#scheduled = false;
    await Promise.all(
      [...batches].map(async ([tenant, { events, waiters }]) => {
        try {
          await this.#store.auditLog.append(tenant, events);
          for (const w of waiters) {
            w.resolve();
          }
        } catch (err) {
          for (const w of waiters) {
            w.reject(err);
          }
        }
      }),
    );
  }
}
