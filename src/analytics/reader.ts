/**
 * The facts of each tenant, kept in memory and brought up to date from the store before every
 * answer: the first read scans every Claim, ExplanationOfBenefit, Task, ClaimResponse and ChargeItem
 * of the tenant (page by page: only the facts are kept); each later one reads only what the store
 * stamped since the latest stamp it saw (`_lastUpdated`, indexed), starting a minute earlier (a
 * write stamped just before may commit just after), as the claim sweep does; a version already
 * seen is skipped. So every answer is computed from the stored resources as they are when it is
 * asked, and a year of a busy clinic answers from memory once read.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import type { Store, StoredResource, StoreFilter, TenantId } from '../store/port.ts';
import type {
  AppealFact,
  AuthorizationFact,
  ClaimFact,
  DrugChargeFact,
  PaymentFact,
  WorkItemFact,
} from './facts.ts';
import {
  appealFact,
  authorizationFact,
  claimFact,
  drugChargeFact,
  paymentFact,
  workItemFact,
} from './facts.ts';
import { claimRow } from './claim-rows.ts';
import type { AnalyticsData, ClaimRow } from './measures.ts';

/** Changes are re-read from this long before the latest stamp seen. */
export const SCAN_OVERLAP_MS = 60_000;
const PAGE = 1000;

const byPaymentOrder = (a: PaymentFact, b: PaymentFact): number =>
  a.date.localeCompare(b.date) || a.created.localeCompare(b.created) || a.id.localeCompare(b.id);

interface TenantFacts {
  readonly claims: Map<string, ClaimFact>;
  readonly payments: Map<string, PaymentFact>;
  /** Claim id → its payments, oldest first (kept up to date with `payments`). */
  readonly paymentsByClaim: Map<string, PaymentFact[]>;
  /** Claim id → its row (./claim-rows.ts), derived again when the claim or its payments change. */
  readonly rows: Map<string, ClaimRow>;
  /** `rows` as a list, in the claims' order (rebuilt when a claim comes or goes). */
  rowList?: ClaimRow[];
  readonly workItems: Map<string, WorkItemFact>;
  readonly appeals: Map<string, AppealFact>;
  readonly authorizations: Map<string, AuthorizationFact>;
  readonly drugCharges: Map<string, DrugChargeFact>;
  /** "Type/id" → the versionId read last: an unchanged version re-read by the overlap is skipped. */
  readonly versions: Map<string, string>;
  /** Latest meta.lastUpdated read, per resource type (store time). */
  readonly watermarks: Map<string, number>;
  /** Counts the refreshes that changed a fact: what was derived from the facts at one is still good. */
  generation: number;
  lists?: Pick<AnalyticsData, 'workItems' | 'appeals' | 'authorizations' | 'drugCharges'>;
}

export interface ReadStats {
  /** Resources read by the last refresh, per type (changed ones: `changed`). */
  readonly read: Readonly<Record<string, number>>;
  readonly changed: number;
  readonly full: boolean;
}

export class AnalyticsReader {
  readonly #store: Pick<Store, 'resources'>;
  /** Per tenant and zone. */
  readonly #tenants = new Map<string, TenantFacts>();
  /** One refresh at a time per tenant: concurrent callers share it. */
  readonly #refreshing = new Map<string, Promise<ReadStats>>();
  #lastStats: ReadStats = { read: {}, changed: 0, full: false };

  constructor(store: Pick<Store, 'resources'>) {
    this.#store = store;
  }

  get lastStats(): ReadStats {
    return this.#lastStats;
  }

  /**
   * How many times the tenant's facts changed (as of the last `data`): equal numbers, same facts.
   * Something computed from `data` can be kept until it moves.
   */
  generation(tenant: TenantId, zone: string): number {
    return this.#tenants.get(`${tenant}\u0000${zone}`)?.generation ?? -1;
  }

  /**
   * The tenant's facts as stored now. `zone` dates payments, work items and charges. The maps are
   * live (a later refresh changes them): read them synchronously, as the measures do.
   */
  async data(tenant: TenantId, zone: string): Promise<AnalyticsData> {
    // Facts hold local dates: a tenant whose zone changed reads everything again.
    const key = `${tenant}\u0000${zone}`;
    let running = this.#refreshing.get(key);
    if (!running) {
      running = this.#refresh(tenant, key, zone).finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, running);
    }
    this.#lastStats = await running;
    const f = this.#tenants.get(key) as TenantFacts;
    f.lists ??= {
      workItems: [...f.workItems.values()],
      appeals: [...f.appeals.values()],
      authorizations: [...f.authorizations.values()],
      drugCharges: [...f.drugCharges.values()],
    };
    f.rowList ??= [...f.rows.values()];
    return { claims: f.claims, payments: f.paymentsByClaim, rows: f.rowList, ...f.lists };
  }

  async #refresh(tenant: TenantId, key: string, zone: string): Promise<ReadStats> {
    let facts = this.#tenants.get(key);
    if (!facts) {
      facts = {
        claims: new Map(),
        payments: new Map(),
        paymentsByClaim: new Map(),
        rows: new Map(),
        workItems: new Map(),
        appeals: new Map(),
        authorizations: new Map(),
        drugCharges: new Map(),
        versions: new Map(),
        watermarks: new Map(),
        generation: 0,
      };
      this.#tenants.set(key, facts);
    }
    const f = facts;
    const full = f.watermarks.size === 0;
    const read: Record<string, number> = {};
    let changed = 0;
    /** Reads the type's changes page by page, handing each new version to `take`. */
    const scan = async <T extends Resource>(
      type: T['resourceType'],
      take: (resource: T & StoredResource) => void,
    ): Promise<void> => {
      const since = f.watermarks.get(type);
      const filters: StoreFilter[] =
        since === undefined
          ? []
          : [
              {
                code: '_lastUpdated',
                kind: 'date',
                prefix: 'ge',
                start: new Date(since - SCAN_OVERLAP_MS).toISOString(),
                end: new Date(since - SCAN_OVERLAP_MS + 1).toISOString(),
              },
            ];
      let latest = since ?? 0;
      let afterId: string | undefined;
      let count = 0;
      for (;;) {
        const page = await this.#store.resources.search(tenant, {
          resourceType: type,
          filters,
          sort: [{ code: '_id', descending: false }],
          count: PAGE,
          offset: 0,
          ...(afterId !== undefined ? { afterId } : {}),
          total: false,
        });
        for (const r of page.resources as (T & StoredResource)[]) {
          latest = Math.max(latest, Date.parse(r.meta.lastUpdated));
          const ref = `${type}/${r.id}`;
          if (f.versions.get(ref) !== r.meta.versionId) {
            f.versions.set(ref, r.meta.versionId);
            take(r);
            changed += 1;
          }
        }
        count += page.resources.length;
        afterId = page.resources.at(-1)?.id;
        if (page.resources.length < PAGE || afterId === undefined) {
          break;
        }
      }
      f.watermarks.set(type, latest);
      read[type] = count;
    };
    const put = <F>(map: Map<string, F>, id: string, fact: F | undefined): void => {
      if (fact) {
        map.set(id, fact);
      } else {
        map.delete(id);
      }
    };
    /** Claims whose row must be derived again: the claim or one of its payments changed. */
    const touched = new Set<string>();
    await scan<Claim>('Claim', (claim) => {
      put(f.claims, claim.id, claimFact(claim));
      touched.add(claim.id);
    });
    await scan<ExplanationOfBenefit>('ExplanationOfBenefit', (eob) => {
      const before = f.payments.get(eob.id)?.claim;
      if (before !== undefined) {
        touched.add(before);
      }
      const fact = paymentFact(eob, zone);
      this.#putPayment(f, eob.id, fact);
      if (fact) {
        touched.add(fact.claim);
      }
    });
    if (touched.size > 64) {
      delete f.rowList;
    }
    for (const id of touched) {
      const claim = f.claims.get(id);
      const had = f.rows.has(id);
      if (claim) {
        f.rows.set(id, claimRow(claim, f.paymentsByClaim.get(id)));
      } else {
        f.rows.delete(id);
      }
      if (had !== (claim !== undefined)) {
        delete f.rowList;
      } else if (claim && f.rowList) {
        // Same claims, same order: replace the row in place.
        const at = f.rowList.findIndex((r) => r.claim.id === id);
        f.rowList[at] = f.rows.get(id) as ClaimRow;
      }
    }
    let listsChanged = false;
    await scan<Task>('Task', (task) => {
      put(f.workItems, task.id, workItemFact(task, zone));
      put(f.appeals, task.id, appealFact(task, zone));
      listsChanged = true;
    });
    await scan<ClaimResponse>('ClaimResponse', (response) => {
      put(f.authorizations, response.id, authorizationFact(response, zone));
      listsChanged = true;
    });
    await scan<ChargeItem>('ChargeItem', (item) => {
      put(f.drugCharges, item.id, drugChargeFact(item, zone));
      listsChanged = true;
    });
    if (listsChanged) {
      delete f.lists;
    }
    if (changed > 0) {
      f.generation += 1;
    }
    return { read, changed, full };
  }

  #putPayment(f: TenantFacts, id: string, fact: PaymentFact | undefined): void {
    const before = f.payments.get(id);
    if (before) {
      const list = (f.paymentsByClaim.get(before.claim) ?? []).filter((p) => p.id !== id);
      if (list.length > 0) {
        f.paymentsByClaim.set(before.claim, list);
      } else {
        f.paymentsByClaim.delete(before.claim);
      }
      f.payments.delete(id);
    }
    if (fact) {
      f.payments.set(id, fact);
      const list = [...(f.paymentsByClaim.get(fact.claim) ?? []), fact].sort(byPaymentOrder);
      f.paymentsByClaim.set(fact.claim, list);
    }
  }
}
