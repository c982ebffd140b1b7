/**
 * 837 batch benchmark (issue 17, claims target): an 837P batch of 1,000,000 claims written to a file
 * as it is built (write837ToFile: 64 KiB chunks through a file stream, waited on when its buffer is
 * full), in < 60 s with peak RSS < 256 MB.
 *
 *   npm run bench:837                        # BENCH_837_N=1000000 claims, 3 rounds
 *   BENCH_837_N=100000 BENCH_837_ROUNDS=1 npm run bench:837
 *
 * The claims come from a generator of stored-shaped claims: each is the ClaimContext the batch
 * hand-over loads for a stored claim (src/claims/x12-samples.ts officeInfusionContext: a FHIR
 * Claim with four lines, one with an NDC, its Patient, Coverage and provider data), made one at a
 * time, so the figure is the writer and the file; reading claims from the store is bench:store's.
 * Over 999,999 claims the interchange holds a second functional group (GE01 has six digits).
 *
 * Per round, same process: the batch, then the baseline — the same number of bytes of fixed text
 * in chunks of the same size through the same kind of file stream to the same directory (the least
 * a writer of these bytes can cost). Median of the rounds. Peak RSS is the process's high-water
 * mark (getrusage), which covers the whole run.
 *
 * Memory: the writer holds one claim and one chunk (heap used stays under ~50 MB at any N), but at
 * this allocation rate V8 grows its young generation to its default maximum and keeps it: peak RSS
 * ~280 MB with defaults at 1,000,000 claims. A batch job run where memory is bounded caps it, as
 * `npm run bench:837` does with --max-semi-space-size=4 (peak RSS ~130 MB); run the script with
 * plain `node` to see the default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { officeInfusionContext, SAMPLE_PAYER, SAMPLE_PROVIDER } from '../../src/claims/x12-samples.ts';
import type { ClaimContext } from '../../src/claims/types.ts';
import { write837ToFile } from '../../src/x12/837/write837.ts';
import type { Write837Options } from '../../src/x12/837/types.ts';
import { peakRssMb, recordFigure } from './results.ts';

const N = Math.max(1000, Number(process.env['BENCH_837_N'] ?? 1_000_000));
const ROUNDS = Math.max(1, Number(process.env['BENCH_837_ROUNDS'] ?? 3));
const CHUNK = 64 * 1024;
const TARGET_S = 60;
const TARGET_RSS_MB = 256;

const OPTIONS: Write837Options = {
  kind: '837P',
  sender: { id: 'DRIPLINE01', name: SAMPLE_PROVIDER.name },
  receiver: { id: SAMPLE_PAYER.payerId, name: SAMPLE_PAYER.name },
  controlNumbers: { isa: 1, gs: 1 },
  now: new Date('2026-12-04T18:00:00Z'),
  usage: 'T',
  chunkSize: CHUNK,
};

function* storedClaims(n: number): Generator<ClaimContext> {
  for (let i = 1; i <= n; i++) {
    yield officeInfusionContext(i);
  }
}

async function fixedText(file: string, bytes: number): Promise<void> {
  const chunk = 'X'.repeat(CHUNK - 1) + '~';
  function* text(): Generator<string> {
    for (let written = 0; written < bytes; written += chunk.length) {
      yield bytes - written >= chunk.length ? chunk : chunk.slice(0, bytes - written);
    }
  }
  await pipeline(Readable.from(text()), createWriteStream(file, { flags: 'wx' }));
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dripline-bench-837-'));
  const batchS: number[] = [];
  const baselineS: number[] = [];
  let bytes = 0;
  try {
    console.log(`837P batch: ${N.toLocaleString('en-US')} claims, ${ROUNDS} round(s), into ${dir}`);
    for (let round = 1; round <= ROUNDS; round++) {
      const file = join(dir, `batch-${round}.x12`);
      let t = performance.now();
      bytes = await write837ToFile(storedClaims(N), OPTIONS, file);
      batchS.push((performance.now() - t) / 1000);
      rmSync(file);
      const fixed = join(dir, `fixed-${round}.txt`);
      t = performance.now();
      await fixedText(fixed, bytes);
      baselineS.push((performance.now() - t) / 1000);
      rmSync(fixed);
      console.log(
        `round ${round}: batch ${batchS.at(-1)?.toFixed(1)} s (${(bytes / 1024 / 1024).toFixed(0)} MB, ${Math.round(N / (batchS.at(-1) ?? 1)).toLocaleString('en-US')} claims/s); same bytes of fixed text ${baselineS.at(-1)?.toFixed(2)} s; peak RSS so far ${peakRssMb()} MB`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = median(batchS);
  const baseline = median(baselineS);
  const rss = peakRssMb();
  console.log('');
  console.log(
    `837P batch of ${N.toLocaleString('en-US')} claims: ${seconds.toFixed(1)} s median, ${Math.round(N / seconds).toLocaleString('en-US')} claims/s, ${(bytes / 1024 / 1024 / seconds).toFixed(0)} MB/s; baseline (same bytes, fixed text) ${baseline.toFixed(2)} s; writer / baseline ${(seconds / baseline).toFixed(1)}×`,
  );
  const fullSize = N >= 1_000_000;
  const metTime = fullSize && seconds < TARGET_S;
  const metRss = rss < TARGET_RSS_MB;
  console.log(
    `target: 1,000,000 claims < ${TARGET_S} s and peak RSS < ${TARGET_RSS_MB} MB: ${fullSize ? (metTime ? 'time met' : 'time NOT met') : `not measured at 1,000,000 (N=${N})`}, peak RSS ${rss} MB ${metRss ? 'met' : 'NOT met'}`,
  );
  recordFigure({
    bench: '837',
    figure: `837P batch of ${N.toLocaleString('en-US')} claims streamed to a file (median of ${ROUNDS})`,
    value: Number(seconds.toFixed(1)),
    unit: 's',
    baseline: { name: 'the same bytes of fixed text to a file', value: Number(baseline.toFixed(2)) },
    target: `1,000,000 claims < ${TARGET_S} s`,
    met: metTime,
  });
  recordFigure({
    bench: '837',
    figure: `837P batch of ${N.toLocaleString('en-US')} claims, peak RSS`,
    value: rss,
    unit: 'MB',
    target: `< ${TARGET_RSS_MB} MB`,
    met: metRss,
  });
}

await main();
