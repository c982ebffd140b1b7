/**
 * Claims benchmark.
 *
 *   npm run bench:claims                      # BENCH_CLAIMS=10000 claims in the batch 837P
 *   BENCH_CLAIMS=50000 npm run bench:claims
 *   BENCH_BUILD=2000 BENCH_837=0 npm run bench:claims   # build + scrub only (no 837 batch)
 *
 * 1. Build + scrub (when src/claims/build.ts and src/claims/scrub.ts are present, imported
 *    dynamically; otherwise reported as skipped): claims per second of buildClaim alone and of
 *    buildClaim + scrubClaim (which validates each claim against FHIR R4 and the dripline-claim
 *    profile: the compiled fast check of src/fhir/fast-conformance.ts, @medplum/core's validator
 *    only when it is not sure), over office infusion encounters (4 charge lines: 96365, 96366,
 *    J1745 with NDC, J1745-JW with NDC), after a warm-up.
 * 2. Batch 837P: write837 of N office-infusion claims (src/claims/x12-samples.ts, generated lazily)
 *    streamed through Readable.from → fs.WriteStream into /tmp, timed, with rss and heapUsed sampled
 *    every 100 claims and every 5 ms, in ~64 KiB chunks (chunkSize, as the batch route). Baseline in the same run: the same number of bytes of fixed
 *    text, in chunks of the same average size, through the same kind of stream to the same
 *    directory. The ratio writer / baseline is the writer's cost in units of "just writing the bytes".
 * 3. Streaming proof: the same batch at N/10 claims; peak heapUsed above the pre-run level should be
 *    about the same for both sizes (a writer holding the file would grow ~10x).
 */
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChargeItem, Condition, Encounter, Extension } from '@medplum/fhirtypes';
import type * as BuildModule from '../../src/claims/build.ts';
import type * as ScrubModule from '../../src/claims/scrub.ts';
import type * as ScrubRulesModule from '../../src/claims/scrub/rules.ts';
import type { ClaimContext } from '../../src/claims/types.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import { officeInfusionContext, SAMPLE_PAYER, SAMPLE_PROVIDER } from '../../src/claims/x12-samples.ts';
import { write837 } from '../../src/x12/837/write837.ts';
import type { Write837Options } from '../../src/x12/837/types.ts';
import { EXT_CHARGE_MODIFIER, EXT_NDC_QUANTITY } from '../../src/contract/canonical.ts';
import { recordFigure } from './results.ts';

const N = Math.max(1000, Number(process.env['BENCH_CLAIMS'] ?? 10000));
const BUILD_N = Math.max(500, Number(process.env['BENCH_BUILD'] ?? 5000));
/** BENCH_837=0 skips parts 2 and 3 (the batch 837P), e.g. when profiling build + scrub. */
const WITH_837 = process.env['BENCH_837'] !== '0';
const OUT_DIR = '/tmp';
/** write837's chunkSize: transactions coalesced into ~64 KiB writes (as the batch route does). */
const CHUNK = 64 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------------
// 1. Build and scrub
// ---------------------------------------------------------------------------------------------

const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';

function encounterInputs(i: number): {
  encounters: Encounter[];
  conditions: Condition[];
  chargeItems: ChargeItem[];
} {
  const subject = { reference: `Patient/pat-${i}` };
  const conditions: Condition[] = ['K50.012', 'K50.90'].map((code, k) => ({
    resourceType: 'Condition',
    id: `cond-${i}-${k}`,
    subject,
    code: { coding: [{ system: ICD, code }] },
  }));
  const encounters: Encounter[] = [
    {
      resourceType: 'Encounter',
      id: `enc-${i}`,
      status: 'finished',
      class: { code: 'AMB' },
      subject,
      period: { start: '2026-11-02T09:00:00Z', end: '2026-11-02T12:30:00Z' },
      diagnosis: conditions.map((c, k) => ({
        condition: { reference: `Condition/${c.id ?? ''}` },
        rank: k + 1,
      })),
    },
  ];
  const line = (
    k: number,
    system: 'cpt' | 'hcpcs',
    code: string,
    units: number,
    extra: { modifiers?: string[]; ndc?: [string, number] } = {},
  ): ChargeItem => {
    const extension: Extension[] = [
      ...(extra.modifiers ?? []).map((m) => ({ url: EXT_CHARGE_MODIFIER, valueCoding: { code: m } })),
      ...(extra.ndc
        ? [{ url: EXT_NDC_QUANTITY, valueQuantity: { value: extra.ndc[1], unit: 'UN', code: 'UN' } }]
        : []),
    ];
    return {
      resourceType: 'ChargeItem',
      id: `ci-${i}-${k}`,
      status: 'billable',
      extension,
      code: {
        coding: [
          {
            system:
              system === 'cpt'
                ? 'http://www.ama-assn.org/go/cpt'
                : 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
            code,
          },
        ],
      },
      subject,
      context: { reference: `Encounter/enc-${i}` },
      occurrenceDateTime: '2026-11-02',
      quantity: { value: units },
      reason: [{ coding: [{ system: ICD, code: 'K50.012' }] }],
      ...(extra.ndc
        ? {
            productCodeableConcept: {
              coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: extra.ndc[0] }],
            },
          }
        : {}),
    };
  };
  return {
    encounters,
    conditions,
    chargeItems: [
      line(1, 'cpt', '96365', 1),
      line(2, 'cpt', '96366', 2),
      line(3, 'hcpcs', 'J1745', 40, { ndc: ['57894003001', 4] }),
      line(4, 'hcpcs', 'J1745', 2, { modifiers: ['JW'], ndc: ['57894003001', 0.2] }),
    ],
  };
}

async function benchBuildAndScrub(): Promise<void> {
  let build: typeof BuildModule;
  let scrub: typeof ScrubModule;
  let scrubRules: typeof ScrubRulesModule;
  let tables: CodingTables;
  try {
    build = await import('../../src/claims/build.ts');
    scrub = await import('../../src/claims/scrub.ts');
    scrubRules = await import('../../src/claims/scrub/rules.ts');
    tables = (await import('../../src/coding/tables/load.ts')).loadCodingTables();
  } catch (e) {
    console.log(`build + scrub: skipped (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    return;
  }
  const rules = scrubRules.loadClaimRules();
  const now = new Date('2026-11-03T08:00:00Z');
  const inputs = Array.from({ length: 256 }, (_, i) => {
    const sample = officeInfusionContext(i);
    return { sample, ...encounterInputs(i) };
  });
  const buildOne = (i: number): ClaimContext => {
    const input = inputs[i % inputs.length];
    if (!input) {
      throw new Error('no input');
    }
    const claim = build.buildClaim({
      id: `clm-bench-${i}`,
      setting: 'office',
      encounters: input.encounters,
      chargeItems: input.chargeItems,
      patient: input.sample.patient,
      coverages: input.sample.coverages,
      payer: SAMPLE_PAYER,
      provider: SAMPLE_PROVIDER,
      conditions: input.conditions,
      now,
      preAuthRefs: ['PA-2026-4411'],
    });
    return {
      ...input.sample,
      claim,
      encounters: input.encounters,
      chargeItems: input.chargeItems,
      conditions: input.conditions,
    };
  };
  for (let i = 0; i < Math.min(2000, BUILD_N); i++) {
    scrub.scrubClaim(buildOne(i), tables, rules);
  }
  let t = performance.now();
  for (let i = 0; i < BUILD_N; i++) {
    buildOne(i);
  }
  const buildMs = performance.now() - t;
  let findings = 0;
  t = performance.now();
  for (let i = 0; i < BUILD_N; i++) {
    findings += scrub.scrubClaim(buildOne(i), tables, rules).length;
  }
  const bothMs = performance.now() - t;
  console.log(
    `build:         ${BUILD_N} claims in ${buildMs.toFixed(0)} ms = ${Math.round(BUILD_N / (buildMs / 1000))} claims/s`,
  );
  console.log(
    `build + scrub: ${BUILD_N} claims in ${bothMs.toFixed(0)} ms = ${Math.round(BUILD_N / (bothMs / 1000))} claims/s` +
      ` (${(findings / BUILD_N).toFixed(1)} findings/claim)`,
  );
  // The scrubber's claim checks include validation against the claim profiles (compiled once).
  recordFigure({
    bench: 'claims',
    figure: 'build + scrub + profile validation',
    value: Math.round(BUILD_N / (bothMs / 1000)),
    unit: 'claims/s',
    baseline: { name: 'build alone', value: Math.round(BUILD_N / (buildMs / 1000)) },
    target: '≥ 2,000/s',
    met: BUILD_N / (bothMs / 1000) >= 2000,
  });
  // The built claims must also render: one through the writer, as a smoke check.
  let rendered = '';
  for await (const chunk of write837([buildOne(0)], { ...ENVELOPE, kind: '837P', lineBreaks: true })) {
    rendered += chunk;
  }
  const segments = rendered.split('\n').filter((l) => l.length > 0);
  console.log(
    `               a built claim renders as 837P: ${segments.length} segments, ` +
      `${segments.filter((l) => l.startsWith('LX*')).length} lines, ` +
      `${segments.filter((l) => l.startsWith('LIN*')).length} with NDC`,
  );
  if (process.env['BENCH_DUMP']) {
    console.log(rendered);
  }
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Streaming the batch 837P
// ---------------------------------------------------------------------------------------------

const ENVELOPE: Omit<Write837Options, 'kind'> = {
  sender: { id: 'DRIPLINE01', name: 'Dripline Billing Service' },
  receiver: { id: 'CLEARHOUSE', name: 'Clear House Inc' },
  controlNumbers: { isa: 1, gs: 1 },
  now: new Date('2026-11-26T18:00:00Z'),
  usage: 'T',
};

interface Run {
  readonly ms: number;
  readonly bytes: number;
  readonly chunks: number;
  readonly peakRss: number;
  readonly peakHeapAbove: number;
}

class MemorySampler {
  peakRss = 0;
  peakHeap = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 5);
  }
  sample(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakHeap = Math.max(this.peakHeap, m.heapUsed);
  }
  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

async function timedStream(
  source: () => AsyncIterable<string> | Iterable<string>,
  file: string,
  sampleHook?: (s: MemorySampler) => void,
): Promise<Run> {
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const sampler = new MemorySampler();
  sampleHook?.(sampler);
  let chunks = 0;
  async function* counted(): AsyncGenerator<string> {
    for await (const chunk of source()) {
      chunks++;
      yield chunk;
    }
  }
  const t = performance.now();
  await pipeline(Readable.from(counted()), createWriteStream(file));
  const ms = performance.now() - t;
  sampler.stop();
  const bytes = statSync(file).size;
  rmSync(file);
  return { ms, bytes, chunks, peakRss: sampler.peakRss, peakHeapAbove: sampler.peakHeap - heapBefore };
}

async function streamBatch(n: number): Promise<Run> {
  let sampler: MemorySampler | undefined;
  function* claims(): Generator<ClaimContext> {
    for (let i = 1; i <= n; i++) {
      if (i % 100 === 0) {
        sampler?.sample();
      }
      yield officeInfusionContext(i);
    }
  }
  return timedStream(
    () => write837(claims(), { ...ENVELOPE, kind: '837P', chunkSize: CHUNK }),
    `${OUT_DIR}/dripline-bench-837p-${n}.x12`,
    (s) => (sampler = s),
  );
}

async function streamFixed(bytes: number, chunks: number): Promise<Run> {
  const size = Math.max(1, Math.round(bytes / chunks));
  const fixed = 'X'.repeat(size - 1) + '~';
  let sampler: MemorySampler | undefined;
  function* text(): Generator<string> {
    let written = 0;
    let k = 0;
    while (written < bytes) {
      const chunk = written + size <= bytes ? fixed : fixed.slice(0, bytes - written);
      written += chunk.length;
      if (++k % 100 === 0) {
        sampler?.sample();
      }
      yield chunk;
    }
  }
  return timedStream(text, `${OUT_DIR}/dripline-bench-fixed-${bytes}.txt`, (s) => (sampler = s));
}

function report(label: string, r: Run, n?: number): void {
  const rate = n ? `, ${Math.round(n / (r.ms / 1000))} claims/s` : '';
  console.log(
    `${label.padEnd(22)} ${r.ms.toFixed(0).padStart(6)} ms  ${mb(r.bytes).padStart(9)}  ` +
      `${(r.bytes / 1024 / 1024 / (r.ms / 1000)).toFixed(1)} MB/s${rate}  ` +
      `peak rss ${mb(r.peakRss)}, peak heapUsed +${mb(r.peakHeapAbove)}`,
  );
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}, gc ${gc ? 'exposed' : 'not exposed (run with --expose-gc)'}`);
  await benchBuildAndScrub();
  if (!WITH_837) {
    console.log('batch 837P: skipped (BENCH_837=0)');
    return;
  }

  const small = Math.max(100, Math.round(N / 10));
  await streamBatch(small); // warm-up (JIT)
  const batch = await streamBatch(N);
  const baseline = await streamFixed(batch.bytes, batch.chunks);
  const batchSmall = await streamBatch(small);
  console.log('');
  console.log(`batch 837P, ${N} claims, streamed to ${OUT_DIR}:`);
  report(`write837 ${N}`, batch, N);
  report(`baseline fixed text`, baseline);
  report(`write837 ${small}`, batchSmall, small);
  console.log('');
  console.log(`writer / baseline time: ${(batch.ms / baseline.ms).toFixed(2)}x`);
  const seconds = batch.ms / 1000;
  recordFigure({
    bench: 'claims',
    figure: `837P batch of ${N.toLocaleString('en-US')} claims streamed`,
    value: Number(seconds.toFixed(1)),
    unit: 's',
    baseline: {
      name: 'writing the same bytes of fixed text',
      value: Number((baseline.ms / 1000).toFixed(1)),
    },
    // The 1,000,000-claim target is bench:837's; a smaller batch here has none to meet.
    ...(N >= 1_000_000
      ? {
          target: '1,000,000 claims < 60 s, peak RSS < 256 MB',
          met: seconds < 60 && batch.peakRss < 256 * 1024 * 1024,
        }
      : {}),
  });
  const ratio = batch.peakHeapAbove / Math.max(1, batchSmall.peakHeapAbove);
  console.log(
    `peak heapUsed above start: ${mb(batchSmall.peakHeapAbove)} at ${small} claims vs ${mb(batch.peakHeapAbove)} at ${N} ` +
      `(${ratio.toFixed(2)}x for ${N / small}x the claims; the file is ${mb(batch.bytes)}; fixed text: ` +
      `${mb(baseline.peakHeapAbove)}) — ` +
      (N < 10000
        ? 'too small to judge (young-generation garbage dominates below ~10 MB)'
        : ratio < 2
          ? 'streaming: memory stays flat'
          : 'NOT flat: check for buffering'),
  );
  // The writer's run includes making the ClaimContexts; their cost alone, for reading the ratio.
  const t = performance.now();
  let lines = 0;
  for (let i = 1; i <= N; i++) {
    lines += officeInfusionContext(i).claim.item?.length ?? 0;
  }
  console.log(
    `making the ${N} ClaimContexts alone (${lines} lines): ${(performance.now() - t).toFixed(0)} ms of the writer's run`,
  );
}

await main();
