/**
 * Prior authorization benchmark (`npm run bench:coverage`, which runs eligibility.ts after it): how fast
 * Dripline builds and validates a PAS Request Bundle, against a baseline in the same run, and how
 * many `Claim/$submit` round trips a second the sandbox payer answers over HTTP.
 *
 *   node scripts/bench/pas.ts        # BENCH_N=2000 timed bundles per phase, BENCH_HTTP=300 submits
 *   BENCH_N=5000 BENCH_HTTP=1000 node scripts/bench/pas.ts
 *
 * Workload: 64 distinct initial requests (an infusion order of 1–6 doses, one of six drugs, one or
 * two requested items, two diagnoses), built by the code Dripline sends with.
 *
 * Phases, each after a warm-up, every call timed on its own (hrtime):
 * - baseline: JSON round-trip of the built Bundle (the least work that touches all of it);
 * - build:    buildPasRequest (src/coverage/pas/request-bundle.ts);
 * - validate: validatePasRequestBundle with the compiled PAS profiles (src/coverage/pas/profiles.ts);
 * - build + validate: what the worker does before it keeps and sends a request;
 * - uncompiled: @medplum/core validateResource(entry, { profile }) for each entry (what the compiled
 *   profiles replace; N/20 bundles, it is slow);
 * - HTTP: sequential `Claim/$submit` of fresh requests to the sandbox payer's PAS endpoint (SMART
 *   token cached; the payer validates each against the same profiles and decides), each answer read
 *   by readPasResponse; its baseline is GET `metadata` of the same endpoint (one HTTP round trip).
 */
import { performance } from 'node:perf_hooks';
import { validateResource } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { createPasPayerPort } from '../../src/coverage/pas/payer-client.ts';
import { pasProfiles, validatePasRequestBundle } from '../../src/coverage/pas/profiles.ts';
import { buildPasRequest } from '../../src/coverage/pas/request-bundle.ts';
import type { PasRequestInput, RequestedService } from '../../src/coverage/pas/request-bundle.ts';
import { readPasResponse } from '../../src/coverage/pas/response.ts';
import { sandboxPayers } from '../../src/sandbox/index.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import { mulberry32 as rng } from '../../src/sandbox/random.ts';
import { requestInput } from '../../test/coverage/pas/fixtures.ts';
import { recordFigure } from './results.ts';

const N = Math.max(200, Number(process.env['BENCH_N'] ?? 2000));
const WARMUP = Math.max(100, Math.floor(N / 4));
const HTTP_N = Math.max(50, Number(process.env['BENCH_HTTP'] ?? 300));
const VARIANTS = 64;
/** Drugs the sandbox payer approves as asked (src/sandbox/payer/pas/policy.ts), with units a dose. */
const DRUGS = [
  { code: 'J3380', units: 300 },
  { code: 'J2350', units: 600 },
  { code: 'J1745', units: 40 },
  { code: 'J1439', units: 750 },
  { code: 'J0897', units: 120 },
  { code: 'J1300', units: 90 },
] as const;

function variant(v: number, id: string): PasRequestInput {
  const random = rng(7919 + v);
  const doses = 1 + Math.floor(random() * 6);
  const drug = DRUGS[v % DRUGS.length]!;
  const items: RequestedService[] = [
    {
      sequence: 1,
      code: drug.code,
      codeSystem: 'hcpcs',
      units: drug.units * doses,
      start: '2026-12-07',
      end: '2027-06-06',
      placeOfService: v % 3 === 0 ? '22' : '11',
      serviceType: '1',
    },
  ];
  if (random() < 0.3) {
    items.push({ ...items[0]!, sequence: 2, code: 'J7050', units: doses });
  }
  return requestInput({ claimId: id, transactionId: id, trace: `PA${id}`, services: items, doses });
}

interface Stats {
  readonly perSecond: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function summarize(samples: Float64Array, elapsedMs: number): Stats {
  samples.sort();
  const n = samples.length;
  const at = (q: number): number => samples[Math.min(n - 1, Math.floor(q * n))] as number;
  return { perSecond: (n / elapsedMs) * 1000, meanMs: elapsedMs / n, p50Ms: at(0.5), p99Ms: at(0.99) };
}

function measure<T>(inputs: readonly T[], n: number, fn: (input: T) => unknown): Stats {
  for (let i = 0; i < Math.min(WARMUP, n); i++) {
    fn(inputs[i % inputs.length] as T);
  }
  const samples = new Float64Array(n);
  let sink = 0;
  const began = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    sink += fn(inputs[i % inputs.length] as T) ? 1 : 0;
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const elapsed = performance.now() - began;
  if (sink < 0) {
    console.log(sink);
  }
  return summarize(samples, elapsed);
}

async function measureAsync(n: number, fn: (i: number) => Promise<void>): Promise<Stats> {
  for (let i = 0; i < Math.min(20, n); i++) {
    await fn(-1 - i);
  }
  const samples = new Float64Array(n);
  const began = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return summarize(samples, performance.now() - began);
}

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const rate = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Each entry against the PAS profile it claims, the way @medplum/core does it uncompiled. */
function validateUncompiled(bundle: Bundle): number {
  const profiles = pasProfiles();
  let problems = 0;
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as Resource;
    for (const url of resource.meta?.profile ?? []) {
      const profile = profiles.get(url);
      if (!profile) {
        continue;
      }
      try {
        validateResource(resource, { profile });
      } catch {
        problems++;
      }
    }
  }
  return problems;
}

async function main(): Promise<void> {
  console.log(
    `coverage bench (PAS): N=${N} bundles per phase, warm-up ${WARMUP}, ${VARIANTS} distinct requests; ${HTTP_N} $submit round trips`,
  );
  const inputs = Array.from({ length: VARIANTS }, (_, v) => variant(v, `bench-${v}`));
  const bundles = inputs.map(buildPasRequest);
  const invalid = bundles.filter((b) => validatePasRequestBundle(b) !== undefined).length;
  if (invalid > 0) {
    throw new Error(`${invalid} of the bench's request bundles do not validate: fix the workload first`);
  }
  const entries = bundles.reduce((n, b) => n + (b.entry?.length ?? 0), 0) / VARIANTS;
  const bytes = bundles.reduce((n, b) => n + JSON.stringify(b).length, 0) / VARIANTS;
  console.log(`${entries.toFixed(1)} entries and ${Math.round(bytes)} bytes per Bundle on average`);

  const rows: string[][] = [];
  const row = (name: string, s: Stats, base: Stats): void => {
    rows.push([
      name,
      rate(s.perSecond),
      fmt(s.p50Ms),
      fmt(s.p99Ms),
      `${(s.meanMs / base.meanMs).toFixed(1)}×`,
    ]);
  };
  console.log('baseline (JSON round-trip)…');
  const baseline = measure(bundles, N, (b) => JSON.parse(JSON.stringify(b)) as unknown);
  console.log('build…');
  const build = measure(inputs, N, buildPasRequest);
  console.log('validate (compiled profiles)…');
  const validate = measure(bundles, N, (b) => validatePasRequestBundle(b) === undefined);
  console.log('build + validate…');
  const both = measure(inputs, N, (i) => validatePasRequestBundle(buildPasRequest(i)) === undefined);
  const slowN = Math.max(20, Math.floor(N / 20));
  console.log(`validate uncompiled (@medplum/core validateResource with the profile; ${slowN} bundles)…`);
  const uncompiled = measure(bundles, slowN, validateUncompiled);
  row('baseline: JSON round-trip', baseline, baseline);
  row('build', build, baseline);
  row('validate (compiled)', validate, baseline);
  row('build + validate', both, baseline);
  row('validate uncompiled', uncompiled, baseline);
  recordFigure({
    bench: 'pas',
    figure: 'PAS request bundle build + validate (compiled profiles)',
    value: Math.round(both.perSecond),
    unit: 'bundles/s',
    baseline: { name: 'JSON round-trip of the bundle', value: Math.round(baseline.perSecond) },
  });

  const payer = await startSandboxPayer({ pas: { reviewDelayMs: 60_000 } });
  try {
    const [endpoint] = await sandboxPayers(
      payer,
      [{ id: 'buckeye', name: 'Buckeye Health Plan', payerId: 'BHP01', kind: 'commercial' }],
      { priorAuth: true },
    );
    const port = createPasPayerPort(endpoint!);
    const metadataUrl = `${payer.pasFhirBaseUrl}/metadata`;
    console.log('HTTP baseline (GET metadata)…');
    const httpBase = await measureAsync(HTTP_N, async () => {
      const res = await fetch(metadataUrl, { headers: { accept: 'application/fhir+json' } });
      await res.text();
    });
    console.log('HTTP $submit round trips…');
    const answers = new Map<string, number>();
    const httpSubmit = await measureAsync(HTTP_N, async (i) => {
      const id = `bench-http-${i < 0 ? `w${-i}` : i}`;
      const body = JSON.stringify(buildPasRequest(variant(Math.abs(i), id)));
      const answer = await port.submit(body);
      if (answer.status !== 200) {
        throw new Error(`$submit answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      }
      const status = readPasResponse(answer.body).status;
      answers.set(status, (answers.get(status) ?? 0) + 1);
    });
    console.log(`answers read: ${[...answers].map(([status, n]) => `${status} ${n}`).join(', ')}`);
    row('HTTP baseline: GET metadata', httpBase, httpBase);
    row('HTTP $submit + read answer', httpSubmit, httpBase);
  } finally {
    await payer.stop();
  }

  const header = ['phase', 'per second', 'p50', 'p99', '× baseline'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(header));
  for (const r of rows) {
    console.log(line(r));
  }
  console.log(
    `\nbuild + validate: ${rate(both.perSecond)} bundles/s (${(uncompiled.meanMs / validate.meanMs).toFixed(0)}× faster validation than uncompiled)`,
  );
}

await main();
