/**
 * Dripline's process metrics (src/ops/prometheus.ts) are prom-client's default metrics, registered
 * without loading prom-client's entry point and with it @opentelemetry/api.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import * as promClient from 'prom-client';
import { createMetrics } from '../../src/ops/metrics.ts';

const METRICS_MODULE = fileURLToPath(new URL('../../src/ops/metrics.ts', import.meta.url));

interface Described {
  name: string;
  help: string;
  type: unknown;
}

const described = (metrics: Described[]): Described[] =>
  metrics.map(({ name, help, type }) => ({ name, help, type })).sort((a, b) => a.name.localeCompare(b.name));

describe('process metrics', () => {
  test("the registry has every metric of prom-client's collectDefaultMetrics, same help and type", async () => {
    const reference = new promClient.Registry();
    promClient.collectDefaultMetrics({ register: reference });
    const expected = described(await reference.getMetricsAsJSON());
    expect(expected.map((m) => m.name)).toContain('process_cpu_user_seconds_total');

    const { registry } = createMetrics();
    const ours = described(await registry.getMetricsAsJSON()).filter((m) => !m.name.startsWith('dripline_'));
    expect(ours).toEqual(expected);
  });

  test('the process CPU counters add the CPU used since the registry was made', async () => {
    const { registry } = createMetrics();
    const before = process.cpuUsage();
    let spun = 0;
    while (process.cpuUsage(before).user < 20_000) {
      spun += Math.sqrt(spun + 1);
    }
    const between = process.cpuUsage(before);
    const values = Object.fromEntries(
      (await registry.getMetricsAsJSON())
        .filter((m) => m.name.startsWith('process_cpu_'))
        .map((m) => [m.name, m.values[0]?.value ?? Number.NaN]),
    );
    const after = process.cpuUsage(before);
    expect(spun).toBeGreaterThan(0);
    expect(values['process_cpu_user_seconds_total']).toBeGreaterThanOrEqual(between.user / 1e6);
    expect(values['process_cpu_system_seconds_total']).toBeGreaterThanOrEqual(between.system / 1e6);
    // Made just before `before`: at most a little more than the CPU measured since.
    expect(values['process_cpu_seconds_total']).toBeLessThan((after.user + after.system) / 1e6 + 0.05);
    expect(values['process_cpu_seconds_total']).toBeCloseTo(
      (values['process_cpu_user_seconds_total'] ?? 0) + (values['process_cpu_system_seconds_total'] ?? 0),
      6,
    );
  });

  test("making them loads neither prom-client's entry point nor @opentelemetry/api", () => {
    const script = `
      import { createRequire } from 'node:module';
      const { createMetrics } = await import(${JSON.stringify(METRICS_MODULE)});
      createMetrics();
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.filter((f) => /prom-client[\\\\/]index\\.js$|@opentelemetry/.test(f))));
      console.log(JSON.stringify(loaded.filter((f) => f.includes('prom-client')).length));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const [unwanted, promClientFiles] = run.stdout.trim().split('\n');
    expect(JSON.parse(promClientFiles ?? '0')).toBeGreaterThan(10);
    expect(JSON.parse(unwanted ?? 'null')).toEqual([]);
  });
});
