/**
 * The facts of each tenant, kept in memory and brought up to date from the store before every
 * answer: the first read scans every Claim, ExplanationOfBenefit, Task, ClaimResponse and ChargeItem
 * of the tenant; each later one reads only what the store stamped since the latest stamp it saw
 * (`_lastUpdated`, indexed), starting a minute earlier (a write stamped just before may commit just
 * after), as the claim sweep does. So every answer is computed from the stored resources as they are
 * when it is asked, and a year of a busy clinic answers in milliseconds once read.
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
import { searchAll } from '../store/search-all.ts';
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
import type { AnalyticsData } from './measures.ts';

/** Changes are re-read from this long before the latest stamp seen. */
export const SCAN_OVERLAP_MS = 60_000;

interface TenantFacts {
  readonly claims: Map<string, ClaimFact>;
  readonly payments: Map<string, PaymentFact>;
  readonly workItems: Map<string, WorkItemFact>;
  readonly appeals: Map<string, AppealFact>;
  readonly authorizations: Map<string, AuthorizationFact>;
  readonly drugCharges: Map<string, DrugChargeFact>;
  /** Latest meta.lastUpdated read, per resource type (store time). */
  readonly watermarks: Map<string, number>;
  data?: AnalyticsData;
}

export interface ReadStats {
  /** Resources read by the last refresh, per type. */
  readonly read: Readonly<Record<string, number>>;
  readonly full: boolean;
}

export class AnalyticsReader {
  readonly #store: Pick<Store, 'resources'>;
  /** Per tenant and zone. */
  readonly #tenants = new Map<string, TenantFacts>();
  /** One refresh at a time per tenant: concurrent callers share it. */
  readonly #refreshing = new Map<string, Promise<ReadStats>>();
  #lastStats: ReadStats = { read: {}, full: false };

  constructor(store: Pick<Store, 'resources'>) {
    this.#store = store;
  }

  get lastStats(): ReadStats {
    return this.#lastStats;
  }

  /** The tenant's facts as stored now. `zone` dates payments and charges without a local date. */
  async data(tenant: TenantId, zone: string): Promise<AnalyticsData> {
    // Facts hold local dates: a tenant whose zone changed reads everything again.
    const key = `${tenant}\u0000${zone}`;
    let running = this.#refreshing.get(key);
    if (!running) {
      running = this.#refresh(tenant, key, zone).finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, running);
    }
    this.#lastStats = await running;
    const facts = this.#tenants.get(key) as TenantFacts;
    facts.data ??= snapshot(facts);
    return facts.data;
  }

  async #refresh(tenant: TenantId, key: string, zone: string): Promise<ReadStats> {
    let facts = this.#tenants.get(key);
    if (!facts) {
      facts = {
        claims: new Map(),
        payments: new Map(),
        workItems: new Map(),
        appeals: new Map(),
        authorizations: new Map(),
        drugCharges: new Map(),
        watermarks: new Map(),
      };
      this.#tenants.set(key, facts);
    }
    const f = facts;
    const full = f.watermarks.size === 0;
    const read: Record<string, number> = {};
    const changed = async <T extends Resource>(type: T['resourceType']): Promise<(T & StoredResource)[]> => {
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
      const rows = await searchAll<T>(this.#store, tenant, type, filters);
      for (const r of rows) {
        const stamp = Date.parse(r.meta.lastUpdated);
        if (stamp > (f.watermarks.get(type) ?? Number.NEGATIVE_INFINITY)) {
          f.watermarks.set(type, stamp);
        }
      }
      if (!f.watermarks.has(type)) {
        // Nothing stored yet: the next read still starts from the beginning, but counts as done.
        f.watermarks.set(type, 0);
      }
      read[type] = rows.length;
      return rows;
    };
    let dirty = false;
    const put = <F>(map: Map<string, F>, id: string, fact: F | undefined): void => {
      if (fact) {
        map.set(id, fact);
      } else {
        map.delete(id);
      }
      dirty = true;
    };
    for (const claim of await changed<Claim>('Claim')) {
      put(f.claims, claim.id, claimFact(claim));
    }
    for (const eob of await changed<ExplanationOfBenefit>('ExplanationOfBenefit')) {
      put(f.payments, eob.id, paymentFact(eob, zone));
    }
    for (const task of await changed<Task>('Task')) {
      put(f.workItems, task.id, workItemFact(task));
      put(f.appeals, task.id, appealFact(task));
    }
    for (const response of await changed<ClaimResponse>('ClaimResponse')) {
      put(f.authorizations, response.id, authorizationFact(response, zone));
    }
    for (const item of await changed<ChargeItem>('ChargeItem')) {
      put(f.drugCharges, item.id, drugChargeFact(item, zone));
    }
    if (dirty) {
      delete f.data;
    }
    return { read, full };
  }
}

function snapshot(f: TenantFacts): AnalyticsData {
  const payments = new Map<string, PaymentFact[]>();
  for (const p of f.payments.values()) {
    const list = payments.get(p.claim);
    if (list) {
      list.push(p);
    } else {
      payments.set(p.claim, [p]);
    }
  }
  for (const list of payments.values()) {
    list.sort(
      (a, b) =>
        a.date.localeCompare(b.date) || a.created.localeCompare(b.created) || a.id.localeCompare(b.id),
    );
  }
  return {
    claims: new Map(f.claims),
    payments,
    workItems: [...f.workItems.values()],
    appeals: [...f.appeals.values()],
    authorizations: [...f.authorizations.values()],
    drugCharges: [...f.drugCharges.values()],
  };
}
