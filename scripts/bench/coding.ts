/**
 * Coding benchmark: how fast the pure engine codes one encounter, against a trivial pass over the
 * same input in the same run, and the whole FHIR path (extract + engine + emit) beside it.
 *
 *   npm run bench:coding                  # BENCH_N=10000 timed encounters per size
 *   BENCH_N=20000 npm run bench:coding
 *
 * Workload: synthetic but rule-rich days (office and hospital outpatient, Medicare / Medicaid /
 * commercial), one encounter each with 1, 5 or 20 documented administrations — infusions of
 * therapeutic and chemo/complex drugs, pushes, hydration, some running concurrently, two access
 * sites in the facility — drawn from the real drug catalogue, 256 distinct inputs per size.
 *
 * Per size, each measured after a warm-up, every call timed on its own (hrtime):
 * - engine:   codeEncounters(input, tables) — encounters/s and p50 / p99 per encounter
 *             (target: p99 <= 1 ms at 5 administrations);
 * - baseline: JSON round-trip of the same input (the least work that touches all of it); engine /
 *             baseline is the engine's cost in units of "reading the input once";
 * - extract:  extractCodingInput over the input's FHIR resources (collection Bundle, as the
 *             operation receives it) alone;
 * - full:     extract + codeEncounters + emit (ChargeItems, draft Claim, OperationOutcome) — the
 *             operation's work without HTTP.
 *
 * Then issue 17's figure: the sandbox day's patients (./coding-day-mix.ts, eight seeds of the
 * seeded day) coded over and over — encounters per CPU-second of this single thread (process CPU
 * time, so the four other processes sharing the machine's two cores do not count against it; wall
 * time printed beside it), three rounds alternating with the JSON round-trip baseline, median
 * taken; p99 per encounter from a pass timing each input on its own.
 */
import { performance } from 'node:perf_hooks';
import type { Resource } from '@medplum/fhirtypes';
import { codeEncounters } from '../../src/coding/engine/index.ts';
import { toChargeItems, toDraftClaim, toOutcome } from '../../src/coding/fhir/emit.ts';
import { bundleResources, extractCodingInput } from '../../src/coding/fhir/extract.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import type {
  CareSetting,
  CodingInput,
  DocumentedAdministration,
  PayerKind,
} from '../../src/coding/types.ts';
import { toFhirBundle } from '../../test/coding/fhir-bundle.ts';
import { mulberry32 as rng } from '../../src/sandbox/random.ts';
import { sandboxDayMix } from './coding-day-mix.ts';
import { recordFigure } from './results.ts';

const N = Math.max(200, Number(process.env['BENCH_N'] ?? 10000));
const WARMUP = Math.max(2000, Math.floor(N / 2));
const VARIANTS = 256;
const SIZES = [1, 5, 20] as const;
const TARGET_P99_MS_AT_5 = 1;

// ---------------------------------------------------------------------------------------------
// Workload
// ---------------------------------------------------------------------------------------------

const INFUSED = ['J3370', 'J0696', 'J1756', 'J0131', 'J9271', 'J9263', 'J1745', 'J9228', 'J0640'];
const PUSHED = ['J2405', 'J1100', 'J1200', 'J9250'];
const HYDRATION = 'J7030';
const SETTINGS: readonly CareSetting[] = ['office', 'hospital-outpatient'];
const PAYERS: readonly PayerKind[] = ['medicare', 'commercial', 'medicaid'];
const DAY = Date.UTC(2025, 2, 10, 8, 0);

function iso(minutes: number): string {
  return new Date(DAY + minutes * 60_000).toISOString();
}

function day(tables: CodingTables, size: number, variant: number): CodingInput {
  const random = rng(size * 7919 + variant);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const setting = SETTINGS[variant % SETTINGS.length] as CareSetting;
  const payer = PAYERS[variant % PAYERS.length] as PayerKind;
  const administrations: DocumentedAdministration[] = [];
  let clock = 60;
  for (let i = 0; i < size; i++) {
    const roll = random();
    const kind = roll < 0.45 ? 'infusion' : roll < 0.8 ? 'push' : 'hydration';
    const hcpcs = kind === 'infusion' ? pick(INFUSED) : kind === 'push' ? pick(PUSHED) : HYDRATION;
    const entry = tables.drugs.drugs.find((d) => d.hcpcs === hcpcs);
    const minutes =
      kind === 'push'
        ? 2
        : kind === 'hydration'
          ? 40 + Math.floor(random() * 80)
          : 20 + Math.floor(random() * 140);
    // One in five runs alongside the previous one (concurrent); the rest follow it.
    const start = random() < 0.2 && i > 0 ? clock - Math.floor(minutes / 2) : clock;
    const multiple = 1 + Math.floor(random() * 4);
    administrations.push({
      id: `ma-${size}-${variant}-${i}`,
      encounterId: 'enc-1',
      status: 'completed',
      drug: { hcpcs },
      route: 'intravenous',
      ...(kind === 'push' ? { method: 'push' as const } : {}),
      ...(setting === 'hospital-outpatient' ? { site: random() < 0.85 ? 'L' : 'R' } : {}),
      ...(entry ? { dose: { value: entry.billingUnit.value * multiple, unit: entry.billingUnit.unit } } : {}),
      start: iso(start),
      end: iso(start + minutes),
      ordered: true,
    });
    clock = Math.max(clock, start + minutes) + Math.floor(random() * 10);
  }
  return {
    setting,
    payer,
    encounters: [
      { id: 'enc-1', kind: 'visit', start: iso(50), end: iso(clock + 10), diagnoses: ['K50.90', 'C18.9'] },
    ],
    administrations,
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

interface Stats {
  perSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

function measure<T>(inputs: readonly T[], fn: (input: T) => unknown): Stats {
  for (let i = 0; i < WARMUP; i++) {
    fn(inputs[i % inputs.length] as T);
  }
  const samples = new Float64Array(N);
  let sink = 0;
  const began = performance.now();
  for (let i = 0; i < N; i++) {
    const input = inputs[i % inputs.length] as T;
    const t0 = process.hrtime.bigint();
    const out = fn(input);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    sink += out ? 1 : 0;
  }
  const elapsed = performance.now() - began;
  if (sink < 0) {
    console.log(sink);
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(N - 1, Math.floor(q * N))] as number;
  return { perSecond: (N / elapsed) * 1000, meanMs: elapsed / N, p50Ms: at(0.5), p99Ms: at(0.99) };
}

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const rate = (n: number): string => Math.round(n).toLocaleString('en-US');

const DAY_MIX_DATE = '2026-02-10';
const DAY_MIX_SEEDS = 8;
const TARGET_DAY_MIX_PER_CORE_SECOND = 20_000;

interface RoundRate {
  /** Encounters per second of this process's CPU time (user + system). */
  readonly perCpuSecond: number;
  readonly perWallSecond: number;
}

function timeRound(
  inputs: readonly CodingInput[],
  encounters: number,
  repeat: number,
  fn: (i: CodingInput) => unknown,
): RoundRate {
  const cpu = process.cpuUsage();
  const began = performance.now();
  let sink = 0;
  for (let r = 0; r < repeat; r++) {
    for (const input of inputs) {
      sink += fn(input) ? 1 : 0;
    }
  }
  const wallS = (performance.now() - began) / 1000;
  const used = process.cpuUsage(cpu);
  if (sink < 0) {
    console.log(sink);
  }
  const cpuS = (used.user + used.system) / 1e6;
  return { perCpuSecond: (encounters * repeat) / cpuS, perWallSecond: (encounters * repeat) / wallS };
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Issue 17's coding figure: the sandbox day's encounters, repeated. */
function dayMix(tables: CodingTables): void {
  const inputs: CodingInput[] = [];
  const coded: number[] = [];
  for (let seed = 1; seed <= DAY_MIX_SEEDS; seed++) {
    const mix = sandboxDayMix(DAY_MIX_DATE, seed);
    inputs.push(...mix.inputs);
    coded.push(...mix.codedEncounters);
  }
  const encounters = coded.reduce((a, b) => a + b, 0);
  const repeat = Math.max(1, Math.round(N / encounters));
  const settings = new Map<string, number>();
  for (const i of inputs) {
    settings.set(i.setting, (settings.get(i.setting) ?? 0) + 1);
  }
  console.log(
    `[day mix] ${inputs.length} patients' days (${DAY_MIX_SEEDS} seeds of the sandbox day, ${[...settings].map(([k, v]) => `${v} ${k}`).join(', ')}), ${encounters} coded encounters, ${inputs.reduce((n, i) => n + i.administrations.length, 0)} administrations; ${repeat} passes per round`,
  );
  const engine = (i: CodingInput): unknown => codeEncounters(i, tables);
  const baseline = (i: CodingInput): unknown => JSON.parse(JSON.stringify(i)) as unknown;
  timeRound(inputs, encounters, Math.max(1, Math.floor(repeat / 2)), engine);
  timeRound(inputs, encounters, Math.max(1, Math.floor(repeat / 2)), baseline);
  const engineRounds: RoundRate[] = [];
  const baselineRounds: RoundRate[] = [];
  for (let round = 0; round < 3; round++) {
    engineRounds.push(timeRound(inputs, encounters, repeat, engine));
    baselineRounds.push(timeRound(inputs, encounters, repeat, baseline));
  }
  // p99 per encounter: each input timed on its own, divided by its encounters.
  const perEncounterMs: number[] = [];
  for (let r = 0; r < repeat; r++) {
    inputs.forEach((input, k) => {
      const t0 = process.hrtime.bigint();
      codeEncounters(input, tables);
      perEncounterMs.push(Number(process.hrtime.bigint() - t0) / 1e6 / (coded[k] ?? 1));
    });
  }
  perEncounterMs.sort((a, b) => a - b);
  const p50 = perEncounterMs[Math.floor(perEncounterMs.length * 0.5)] ?? Number.NaN;
  const p99 =
    perEncounterMs[Math.min(perEncounterMs.length - 1, Math.floor(perEncounterMs.length * 0.99))] ??
    Number.NaN;
  const cpuRate = median(engineRounds.map((r) => r.perCpuSecond));
  const wallRate = median(engineRounds.map((r) => r.perWallSecond));
  const baseCpu = median(baselineRounds.map((r) => r.perCpuSecond));
  console.log(
    `[day mix] engine: ${rate(cpuRate)} encounters per CPU-second (rounds ${engineRounds.map((r) => rate(r.perCpuSecond)).join(', ')}), ${rate(wallRate)}/s wall; p50 ${fmt(p50)}, p99 ${fmt(p99)} per encounter`,
  );
  console.log(
    `[day mix] baseline (JSON round-trip of the same inputs): ${rate(baseCpu)} per CPU-second; engine costs ${(baseCpu / cpuRate).toFixed(1)}× reading the input once`,
  );
  console.log(
    `[day mix] target ≥ ${rate(TARGET_DAY_MIX_PER_CORE_SECOND)} encounters/s on one core: ${cpuRate >= TARGET_DAY_MIX_PER_CORE_SECOND ? 'met' : 'NOT met'}`,
  );
  recordFigure({
    bench: 'coding',
    figure: 'engine, sandbox day mix, per CPU-second (median of 3)',
    value: Math.round(cpuRate),
    unit: 'encounters/s',
    baseline: { name: 'JSON round-trip of the same inputs', value: Math.round(baseCpu) },
    target: '≥ 20,000/s on one core',
    met: cpuRate >= TARGET_DAY_MIX_PER_CORE_SECOND,
  });
  recordFigure({
    bench: 'coding',
    figure: 'engine p99 per encounter, sandbox day mix',
    value: Number(p99.toFixed(3)),
    unit: 'ms',
  });
}

function main(): void {
  const tables = loadCodingTables();
  const now = new Date('2025-03-11T00:00:00Z');
  console.log(
    `coding bench: N=${N} timed encounters per phase, warm-up ${WARMUP}, ${VARIANTS} distinct days per size`,
  );
  const rows: string[][] = [];
  let p99At5 = Number.NaN;
  for (const size of SIZES) {
    const inputs = Array.from({ length: VARIANTS }, (_, v) => day(tables, size, v));
    const resources: Resource[][] = inputs.map((i) => bundleResources(toFhirBundle(i, { tables })));
    const lines = inputs.reduce((n, i) => n + codeEncounters(i, tables).lines.length, 0) / VARIANTS;

    console.log(`[${size} adm] ${lines.toFixed(1)} charge lines per encounter on average; engine…`);
    const engine = measure(inputs, (i) => codeEncounters(i, tables));
    console.log(`[${size} adm] baseline (JSON round-trip)…`);
    const baseline = measure(inputs, (i) => JSON.parse(JSON.stringify(i)) as unknown);
    console.log(`[${size} adm] extract only…`);
    const extract = measure(resources, (r) => extractCodingInput(r));
    console.log(`[${size} adm] extract + engine + emit…`);
    const full = measure(resources, (r) => {
      const extracted = extractCodingInput(r);
      const result = codeEncounters(extracted.input, tables);
      const ctx = {
        patient: { reference: extracted.patient ?? 'Patient/unknown' },
        setting: extracted.input.setting,
        now,
      };
      return [toDraftClaim(result, ctx), toChargeItems(result, ctx), toOutcome(result)];
    });
    if (size === 5) {
      p99At5 = engine.p99Ms;
      recordFigure({
        bench: 'coding',
        figure: 'engine, 5 administrations per encounter (wall)',
        value: Math.round(engine.perSecond),
        unit: 'encounters/s',
        baseline: { name: 'JSON round-trip of the input', value: Math.round(baseline.perSecond) },
      });
      recordFigure({
        bench: 'coding',
        figure: 'engine p99 per encounter, 5 administrations',
        value: Number(engine.p99Ms.toFixed(3)),
        unit: 'ms',
        baseline: { name: 'JSON round-trip p99', value: Number(baseline.p99Ms.toFixed(3)) },
        target: `≤ ${TARGET_P99_MS_AT_5} ms`,
        met: engine.p99Ms <= TARGET_P99_MS_AT_5,
      });
    }
    rows.push(
      [
        `${size}`,
        'engine',
        rate(engine.perSecond),
        fmt(engine.p50Ms),
        fmt(engine.p99Ms),
        `${(engine.meanMs / baseline.meanMs).toFixed(1)}×`,
      ],
      [
        `${size}`,
        'baseline: JSON round-trip',
        rate(baseline.perSecond),
        fmt(baseline.p50Ms),
        fmt(baseline.p99Ms),
        '1.0×',
      ],
      [
        `${size}`,
        'extract only',
        rate(extract.perSecond),
        fmt(extract.p50Ms),
        fmt(extract.p99Ms),
        `${(extract.meanMs / baseline.meanMs).toFixed(1)}×`,
      ],
      [
        `${size}`,
        'extract + engine + emit',
        rate(full.perSecond),
        fmt(full.p50Ms),
        fmt(full.p99Ms),
        `${(full.meanMs / baseline.meanMs).toFixed(1)}×`,
      ],
    );
  }

  const header = ['adm/enc', 'phase', 'encounters/s', 'p50', 'p99', 'mean ÷ baseline'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) {
    console.log(line(r));
  }
  console.log('');
  dayMix(tables);
  const ok = p99At5 <= TARGET_P99_MS_AT_5;
  console.log('');
  console.log(
    `engine p99 at 5 administrations: ${fmt(p99At5)} (target <= ${TARGET_P99_MS_AT_5} ms): ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
}

main();
