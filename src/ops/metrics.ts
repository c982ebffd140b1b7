/** Prometheus metrics (prom-client): process defaults plus HTTP request duration by route template. */
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'dripline_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, httpDuration };
}

/** Collapses ids so the route label has bounded cardinality: /fhir/Patient/123 → /fhir/Patient/:id. */
export function routeTemplate(path: string): string {
  const parts = path.split('/');
  if (parts[1] === 'ehr' && parts[3] === 'notify') {
    return parts.length > 4 ? '/ehr/:connection/notify/:type/:id' : '/ehr/:connection/notify';
  }
  if (parts[1] !== 'fhir') {
    return ['/healthz', '/readyz', '/metrics', '/oauth2/token'].includes(path) ? path : 'other';
  }
  const [, , type, id, history, vid] = parts;
  if (!type) {
    return '/fhir';
  }
  if (type === 'metadata' || type === '.well-known') {
    return path;
  }
  let template = `/fhir/${/^[A-Z][A-Za-z]+$/.test(type) ? type : ':unknown'}`;
  if (id !== undefined) {
    template += id.startsWith('$') ? `/${id}` : '/:id';
  }
  if (history !== undefined) {
    template += '/_history';
  }
  if (vid !== undefined) {
    template += '/:vid';
  }
  return template;
}
