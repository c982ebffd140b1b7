/**
 * The key measures as Prometheus gauges, computed when scraped over the last 30 days of each tenant
 * (the default range of ./query.ts): clean-claim rate, denial rate, net collection rate, days in
 * A/R, and open A/R by payer and aging bucket. Labels are bounded and carry no PHI: the tenant id
 * (configured), the payer id (the tenant's configured payers; any other is `other`) and the bucket.
 */
import type { Registry } from '../ops/prometheus.ts';
import { Gauge } from '../ops/prometheus.ts';
import type { TenantConfig } from '../config/config.ts';
import type { MeasureResult } from './measures.ts';
import type { AnalyticsService } from './service.ts';

export function registerAnalyticsGauges(
  registry: Registry,
  service: AnalyticsService,
  tenants: () => readonly TenantConfig[],
): void {
  let running: Promise<void> | undefined;
  // Every gauge's collect asks for the same refresh: one computation per scrape.
  const collect = async (): Promise<void> => {
    running ??= refresh().finally(() => {
      setImmediate(() => {
        running = undefined;
      });
    });
    await running;
  };
  const rate = (name: string, help: string): Gauge<'tenant'> =>
    new Gauge({ name, help, labelNames: ['tenant'] as const, registers: [registry], collect });
  const clean = rate(
    'dripline_analytics_clean_claim_rate',
    'Clean-claim rate (first-pass acceptance), last 30 days',
  );
  const netCollection = rate(
    'dripline_analytics_net_collection_rate',
    'Net collection rate (insurance), last 30 days',
  );
  const daysInAr = rate('dripline_analytics_days_in_ar', 'Days in A/R (gross), last 30 days');
  const denial = new Gauge({
    name: 'dripline_analytics_denial_rate',
    help: 'Initial denial rate (claims), last 30 days, by payer',
    labelNames: ['tenant', 'payer'] as const,
    registers: [registry],
    collect,
  });
  const arOpen = new Gauge({
    name: 'dripline_analytics_ar_open_usd',
    help: 'Open insurance A/R today, by payer and aging bucket (days since service)',
    labelNames: ['tenant', 'payer', 'bucket'] as const,
    registers: [registry],
    collect,
  });
  const refresh = async (): Promise<void> => {
    const values: (() => void)[] = [];
    for (const tenant of tenants()) {
      const known = new Set(tenant.payers.map((p) => p.id));
      const payerLabel = (key: string): string => (known.has(key) ? key : 'other');
      const [c, n, d, aging] = (await service.measures(tenant, [
        'clean-claim-rate',
        'net-collection-rate',
        'days-in-ar',
        'ar-aging',
      ])) as [MeasureResult, MeasureResult, MeasureResult, MeasureResult];
      const denials = await service.measure(tenant, 'denial-rate', { by: 'payer' });
      values.push(() => {
        for (const [g, r] of [
          [clean, c],
          [netCollection, n],
          [daysInAr, d],
        ] as const) {
          if (r.total.value !== null) {
            g.set({ tenant: tenant.id }, r.total.value);
          }
        }
        for (const row of denials.slices) {
          if (row.value !== null) {
            denial.set({ tenant: tenant.id, payer: payerLabel(row.key) }, row.value);
          }
        }
        for (const row of aging.slices) {
          for (const [bucket, amount] of Object.entries(row['buckets'] as Record<string, number>)) {
            arOpen.inc({ tenant: tenant.id, payer: payerLabel(row.key), bucket }, amount);
          }
        }
      });
    }
    // Reset and set together, after every await: a scrape never sees half the values.
    for (const g of [clean, netCollection, daysInAr, denial, arOpen]) {
      g.reset();
    }
    for (const set of values) {
      set();
    }
  };
}
