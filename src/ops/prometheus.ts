/**
 * prom-client's metric classes and its default process metrics, loaded without prom-client's entry
 * point. Why: the entry point loads every default metric, and the process CPU one
 * (lib/metrics/processCpuTotal.js) loads @opentelemetry/api (51 modules) for trace exemplars, which
 * Dripline never enables; every server process and every test file that starts one paid ~45 ms
 * CPU for it. Here the classes come from their own files, the default metrics from theirs (the
 * list of prom-client 15's lib/defaultMetrics.js), and the three process CPU counters are
 * registered under the same names and help, updated the same way, without exemplars.
 * test/metrics/prometheus.test.ts checks the names equal what `collectDefaultMetrics` registers.
 *
 * Elsewhere in src, import prom-client's types only (lint refuses a value import of it).
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof PromClient.Histogram;
export type Registry = PromClient.Registry;
export type Counter<T extends string> = PromClient.Counter<T>;
export type Gauge<T extends string> = PromClient.Gauge<T>;
export type Histogram<T extends string> = PromClient.Histogram<T>;

type DefaultMetric = (registry: PromClient.Registry, config: Record<string, unknown>) => void;

/** prom-client 15.1.3's default metrics (lib/defaultMetrics.js) but for processCpuTotal. */
const DEFAULT_METRIC_FILES = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  // prom-client registers it only where Node has process.getActiveResourcesInfo (every Node 24).
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

/** What prom-client's `collectDefaultMetrics({ register: registry })` registers. */
export function collectDefaultMetrics(registry: PromClient.Registry): void {
  registerProcessCpu(registry);
  // prom-client's defaults for the config it passes each metric.
  const config = { eventLoopMonitoringPrecision: 10, register: registry };
  for (const file of DEFAULT_METRIC_FILES) {
    (require(`prom-client/lib/metrics/${file}`) as DefaultMetric)(registry, config);
  }
}

/** processCpuTotal.js's three counters, in its order: each scrape adds the CPU used since the last. */
function registerProcessCpu(registry: PromClient.Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // This one metric's collect sets all three, as prom-client's does.
    collect() {
      const now = process.cpuUsage();
      const user = (now.user - last.user) / 1e6;
      const sys = (now.system - last.system) / 1e6;
      last = now;
      this.inc(user);
      system.inc(sys);
      total.inc(user + sys);
    },
  });
  const system = new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers,
  });
  const total = new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
  });
}
