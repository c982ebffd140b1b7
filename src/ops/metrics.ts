/**
 * Prometheus metrics (prom-client): process defaults plus HTTP request duration by route template.
 * The `route` label is the template of a route the app serves, or `unmatched`
 * (src/http/route-table.ts): never a raw path, so no client can add series by inventing paths.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from './prometheus.ts';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics(registry);
  const httpDuration = new Histogram({
    name: 'dripline_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, httpDuration };
}

/**
 * `dripline_worker_jobs_total{worker}`: jobs each queue worker of this process has handled, read
 * from the workers when scraped. With several processes sharing one store, each one's figure shows
 * the share of the work it took (a receiver's stay 0). The label is the worker's fixed name.
 */
export function registerWorkerJobs(
  registry: Registry,
  workers: Readonly<Record<string, { readonly handled: number }>>,
): void {
  new Counter({
    name: 'dripline_worker_jobs_total',
    help: 'Jobs handled by each queue worker of this process',
    labelNames: ['worker'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [worker, { handled }] of Object.entries(workers)) {
        this.inc({ worker }, handled);
      }
    },
  });
}
