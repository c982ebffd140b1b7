/**
 * Analytics for the API, the CLI and the gauges: the measure asked, over the tenant's facts as
 * stored now (./reader.ts), for a range in the tenant's calendar (./query.ts), "today" from the
 * injected clock in the tenant's zone.
 */
import type { TenantConfig } from '../config/config.ts';
import { tenantCalendarZone } from '../config/config.ts';
import type { Store } from '../store/port.ts';
import { localDate } from '../time/zone.ts';
import type { DenialModel } from '../claims/risk/denial-model.ts';
import { buildDenialModel } from '../claims/risk/denial-model.ts';
import { lineOutcomes } from './denial-history.ts';
import type { MeasureName, MeasureResult } from './measures.ts';
import { computeMeasure, MEASURES } from './measures.ts';
import type { RawQuery } from './query.ts';
import { parseMeasureQuery } from './query.ts';
import { AnalyticsReader } from './reader.ts';

export interface AnalyticsServiceDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly now: () => Date;
  /** Units bought per HCPCS drug code, when the clinic gives its inventory (else none). */
  readonly inventory?: (
    tenant: TenantConfig,
    from: string,
    to: string,
  ) => ReadonlyMap<string, number> | undefined;
  /** How long a tenant's denial forecast model is reused before it is counted again (default 60 s). */
  readonly denialModelMaxAgeMs?: number;
}

export class AnalyticsService {
  readonly reader: AnalyticsReader;
  readonly #deps: AnalyticsServiceDeps;
  /** Per tenant and zone: the model, when (clock ms) it was last checked, and the facts' generation. */
  readonly #models = new Map<string, { model: DenialModel; at: number; generation: number }>();

  constructor(deps: AnalyticsServiceDeps) {
    this.#deps = deps;
    this.reader = new AnalyticsReader(deps.store);
  }

  /** Today in the tenant's zone. */
  today(tenant: TenantConfig): string {
    return localDate(this.#deps.now(), tenantCalendarZone(tenant));
  }

  /** One measure; throws AnalyticsQueryError for a bad range or slice. */
  async measure(tenant: TenantConfig, name: MeasureName, raw: RawQuery): Promise<MeasureResult> {
    return (await this.measures(tenant, [name], raw))[0] as MeasureResult;
  }

  /** Several measures over one read of the store (the CLI report, the gauges). */
  async measures(
    tenant: TenantConfig,
    names: readonly MeasureName[] = MEASURES,
    raw: RawQuery = {},
  ): Promise<MeasureResult[]> {
    const zone = tenantCalendarZone(tenant);
    const query = parseMeasureQuery(raw, this.today(tenant));
    const stored = await this.reader.data(tenant.id, zone);
    const inventory = this.#deps.inventory?.(tenant, query.from, query.to);
    const data = inventory ? { ...stored, inventory } : stored;
    return names.map((name) => computeMeasure(name, data, query));
  }

  /**
   * The tenant's denial forecast model (src/claims/risk/denial-model.ts) over its whole stored
   * history, counted again when older than `denialModelMaxAgeMs` (history moves by remittances,
   * not by the second; the scrubber asks once per claim). `fresh` reads the changes now and counts
   * the model again only if a fact changed since it was counted (the reader's generation).
   */
  async denialModel(tenant: TenantConfig, options: { fresh?: boolean } = {}): Promise<DenialModel> {
    const zone = tenantCalendarZone(tenant);
    const key = `${tenant.id}\u0000${zone}`;
    const now = this.#deps.now().getTime();
    const cached = this.#models.get(key);
    if (cached && !options.fresh && now - cached.at < (this.#deps.denialModelMaxAgeMs ?? 60_000)) {
      return cached.model;
    }
    const data = await this.reader.data(tenant.id, zone);
    const generation = this.reader.generation(tenant.id, zone);
    if (cached && cached.generation === generation) {
      this.#models.set(key, { ...cached, at: now });
      return cached.model;
    }
    const model = buildDenialModel(lineOutcomes(data));
    this.#models.set(key, { model, at: now, generation });
    return model;
  }
}
