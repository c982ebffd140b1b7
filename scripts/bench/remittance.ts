/**
 * Remittance benchmark (`npm run bench:remittance`), in one run:
 *
 * 1. parse + balance: a BENCH_BIG-claim 835 (default 100,000, about 60 MB) written to disk as a
 *    stream, then read and balanced as a stream (src/x12/835/read835.ts) — claim payments/s
 *    (target >= 50,000/s);
 * 2. intake of the same file as the API and the command line receive it (spooled, balanced,
 *    verdicts), and — with BENCH_FULL=1 — posted whole, in a process of its own (this script with
 *    BENCH_INTAKE_ONLY=<file>), with that process's peak RSS (target < 300 MB: the file is never
 *    held in memory whole);
 * 3. posting into the embedded store: BENCH_POST claims (default 5,000) waiting in `submitted`, one
 *    remittance paying them, posted by the same jobs the server runs — claims/s (target >= 1,000/s)
 *    — and the bare store write rate of the same number of ExplanationOfBenefits written in batches
 *    of the same size, measured in the same run, with the ratio.
 *
 * Memory: posting writes through the store port, which indexes without @medplum's FHIR
 * definitions (the same index rows either way), so the bench no longer loads them; the server
 * loads them for its FHIR API (about 280 MB of its baseline): BENCH_DEFINITIONS=1 loads them here
 * too. Each phase prints its peak heap (V8 objects) and peak external memory (buffers, outside
 * the heap) sampled every 100 ms, and the CPU seconds it took (wall time is shared with whatever
 * else runs on the machine; CPU time much less).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import type { Claim, ExplanationOfBenefit } from '@medplum/fhirtypes';
import { officeInfusionContext, SAMPLE_PAYER, SAMPLE_PROVIDER } from '../../src/claims/x12-samples.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { createLogger } from '../../src/logger.ts';
import { receiveRemittance } from '../../src/remittance/intake.ts';
import { createRemittance } from '../../src/remittance/wiring.ts';
import type { BatchOperation, Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { read835 } from '../../src/x12/835/read835.ts';
import type { ClaimPaymentInput, RemittanceInput } from '../../src/x12/835/write835.ts';
import { write835 } from '../../src/x12/835/write835.ts';
import { lineItemControlNumber } from '../../src/x12/837/lines-2400.ts';
import { recordFigure } from './results.ts';

const BIG = Math.max(1_000, Number(process.env['BENCH_BIG'] ?? 100_000));
const POST = Math.max(100, Number(process.env['BENCH_POST'] ?? 5_000));
const FULL = process.env['BENCH_FULL'] === '1';
const DEFINITIONS = process.env['BENCH_DEFINITIONS'] === '1';
const TENANT = 'bench';
const NOW = new Date('2026-12-04T15:00:00Z');
const TENANTS: readonly TenantConfig[] = [
  {
    id: TENANT,
    name: 'Bench infusion center',
    connections: [],
    coding: {},
    billing: SAMPLE_PROVIDER,
    payers: [{ ...SAMPLE_PAYER, usage: 'T' }],
  },
];

const cents = (x: number): number => Math.round(x * 100);

/** A payer's payment of a claim: each line allowed at 80% of its charge, CO-45 the rest. */
function paymentOf(claim: Claim & { id: string }, pcn: string): ClaimPaymentInput {
  const services = (claim.item ?? []).map((item) => {
    const charge = item.net?.value ?? 0;
    const allowed = cents(charge * 0.8) / 100;
    return {
      procedure: {
        qualifier: 'HC',
        code: item.productOrService.coding?.[0]?.code ?? '',
        modifiers: (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? ''),
      },
      charge,
      paid: allowed,
      units: item.quantity?.value ?? 1,
      dates: [{ qualifier: '472', value: item.servicedDate ?? '2026-11-02' }],
      adjustments: [{ group: 'CO', reason: '45', amount: (cents(charge) - cents(allowed)) / 100 }],
      references: [{ qualifier: '6R', value: lineItemControlNumber(claim.id, item) }],
      amounts: [{ qualifier: 'B6', value: allowed }],
      quantities: [],
      remarks: [],
      pharmacyRejects: [],
    };
  });
  return {
    patientControlNumber: pcn,
    status: '1',
    charge: services.reduce((s, l) => s + cents(l.charge), 0) / 100,
    paid: services.reduce((s, l) => s + cents(l.paid), 0) / 100,
    patientResponsibility: 0,
    filingIndicator: 'CI',
    payerClaimNumber: `ICN-${pcn}`,
    facilityType: '11',
    frequency: '1',
    adjustments: [],
    names: [{ entity: 'QC', entityType: '1', last: 'DOE', first: 'JANE', idQualifier: 'MI', id: 'M1' }],
    references: [],
    dates: [{ qualifier: '232', value: '2026-11-02' }],
    amounts: [],
    quantities: [],
    services,
  };
}

/** One remittance paying `claims`; BPR02 (the header is written first) is given up front. */
function remittance(claims: Iterable<ClaimPaymentInput>, trace: string, amount: number): RemittanceInput {
  return {
    header: {
      payment: { handling: 'I', amount, creditDebit: 'C', method: 'ACH', format: 'CCP', date: '2026-12-03' },
      trace: { type: '1', number: trace, originator: '1999999999' },
      references: [],
      payer: { name: 'ACME', references: [{ qualifier: '2U', value: SAMPLE_PAYER.payerId }], contacts: [] },
      payee: { name: 'RIVERBEND', idQualifier: 'XX', id: SAMPLE_PROVIDER.npi, references: [], contacts: [] },
    },
    claims,
    providerAdjustments: () => [],
  };
}

const OPTIONS = {
  sender: { id: 'ACMEHEALTH' },
  receiver: { id: 'RIVERBEND' },
  controlNumbers: { isa: 1, gs: 1 },
  now: NOW,
  usage: 'T' as const,
};

/** The claims of the big file: office-infusion claims 1..n (never stored: they go unmatched or are only parsed). */
function* bigClaims(n: number): Generator<ClaimPaymentInput> {
  const template = officeInfusionContext(1).claim;
  for (let i = 1; i <= n; i++) {
    yield paymentOf({ ...template, id: `clm-big-${i}` }, `clm-big-${i}`);
  }
}

async function writeFile(file: string, input: RemittanceInput): Promise<void> {
  const out = createWriteStream(file);
  for await (const chunk of write835([input], OPTIONS)) {
    if (!out.write(chunk)) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}

const rssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** Peak heap and external memory over a phase (sampled), and its CPU seconds. */
function phase(): { end: () => string } {
  let heap = 0;
  let external = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    external = Math.max(external, m.external + m.arrayBuffers);
  };
  sample();
  const timer = setInterval(sample, 100);
  const cpu = process.cpuUsage();
  return {
    end: () => {
      clearInterval(timer);
      sample();
      const used = process.cpuUsage(cpu);
      return `CPU ${((used.user + used.system) / 1e6).toFixed(2)} s; peak heap ${mb(heap)} MB, external ${mb(external)} MB, RSS so far ${rssMb()} MB`;
    },
  };
}

/** The remittance capability as the server wires it, on the bench's store, clock and tenant. */
function remittanceOn(store: Store, dir: string): ReturnType<typeof createRemittance> {
  return createRemittance({
    store,
    logger: createLogger('warn'),
    publicUrl: 'http://bench.invalid',
    dataDir: dir,
    tenants: () => TENANTS,
    tokenService: { verifyAccessToken: () => Promise.reject(new Error('unused')) },
    leaseMs: 600_000,
    now: () => NOW,
  });
}

async function main(): Promise<void> {
  if (DEFINITIONS) {
    loadFhirDefinitions();
  }
  const baseline = Math.round(process.memoryUsage().rss / 1024 / 1024);
  console.log(
    `baseline RSS ${DEFINITIONS ? 'with' : 'without'} the FHIR definitions loaded: ${baseline} MB${DEFINITIONS ? '' : ' (BENCH_DEFINITIONS=1 loads them, as the server does)'}`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-remit-'));
  try {
    // 1. parse + balance a BIG-claim file.
    const bigFile = path.join(dir, 'big.835');
    const perClaim = paymentOf(officeInfusionContext(1).claim, 'x').paid;
    await writeFile(bigFile, remittance(bigClaims(BIG), 'BIG-1', (cents(perClaim) * BIG) / 100));
    const size = statSync(bigFile).size;
    let measured = phase();
    let started = performance.now();
    let claims = 0;
    let errors = 0;
    for await (const event of read835(createReadStream(bigFile, { highWaterMark: 1 << 20 }))) {
      if (event.type === 'claim') {
        claims++;
      } else if (event.type === 'summary') {
        errors += event.summary.errorCount;
      }
    }
    const parseSeconds = (performance.now() - started) / 1000;
    const parseMemory = measured.end();
    // Baseline: the least work that touches every segment — read the file and count terminators.
    started = performance.now();
    let segments = 0;
    for await (const chunk of createReadStream(bigFile, { highWaterMark: 1 << 20 })) {
      const bytes = chunk as Buffer;
      for (let at = bytes.indexOf(0x7e); at !== -1; at = bytes.indexOf(0x7e, at + 1)) {
        segments++;
      }
    }
    const scanSeconds = (performance.now() - started) / 1000;
    console.log(
      `baseline: read the file and count its ${segments} segment terminators in ${scanSeconds.toFixed(2)} s = ${Math.round(claims / scanSeconds)} claims/s`,
    );
    recordFigure({
      bench: 'remittance',
      figure: `835 parse + balance, ${BIG.toLocaleString('en-US')} claims`,
      value: Math.round(claims / parseSeconds),
      unit: 'claims/s',
      baseline: { name: 'read the file, count segments', value: Math.round(claims / scanSeconds) },
      target: '≥ 50,000/s',
      met: claims / parseSeconds >= 50_000,
    });
    console.log(
      `parse + balance: ${claims} claim payments (${(size / 1e6).toFixed(1)} MB, ${errors} errors) in ${parseSeconds.toFixed(2)} s = ${Math.round(claims / parseSeconds)} claims/s (target >= 50,000); ${parseMemory}`,
    );

    // 3. posting BENCH_POST stored claims, and the bare store write rate of as many EOBs.
    // The store keeps the bench's clock: claims stored "now" precede the payment dated NOW.
    const store = await openSqliteStore({ path: path.join(dir, 'store.sqlite'), now: () => NOW });
    try {
      const template = officeInfusionContext(1).claim;
      const stored: (Claim & { id: string })[] = [];
      for (let i = 1; i <= POST; i += 200) {
        const ops: BatchOperation[] = [];
        for (let j = i; j < Math.min(i + 200, POST + 1); j++) {
          const claim: Claim & { id: string } = {
            ...template,
            id: `clm-post-${j}`,
            extension: [
              { url: EXT_CLAIM_STATE, valueCode: 'submitted' },
              { url: EXT_CLAIM_PAYER, valueString: SAMPLE_PAYER.id },
            ],
          };
          stored.push(claim);
          ops.push({ op: 'create', resource: claim, options: { id: claim.id } });
        }
        await store.resources.writeBatch(TENANT, ops);
      }
      const postFile = path.join(dir, 'post.835');
      const payments = stored.map((c) => paymentOf(c, c.id));
      await writeFile(
        postFile,
        remittance(payments, 'POST-1', payments.reduce((s, p) => s + cents(p.paid), 0) / 100),
      );
      const remit = remittanceOn(store, dir);
      measured = phase();
      started = performance.now();
      const received = await receiveRemittance(remit.intake, TENANT, createReadStream(postFile), {
        source: 'bench',
      });
      let posted = 0;
      for (let step = await remit.worker.runStep(); step; step = await remit.worker.runStep()) {
        posted += step.posted;
      }
      const postSeconds = (performance.now() - started) / 1000;
      const postMemory = measured.end();
      const postRate = posted / postSeconds;
      // The bare store: as many EOB-sized resources, written in batches of 64 like posting's.
      const eob = (
        await store.resources.search(TENANT, {
          resourceType: 'ExplanationOfBenefit',
          filters: [],
          sort: [],
          count: 1,
          offset: 0,
          total: false,
        })
      ).resources[0] as ExplanationOfBenefit | undefined;
      started = performance.now();
      for (let i = 0; i < POST; i += 64) {
        const ops: BatchOperation[] = [];
        for (let j = i; j < Math.min(i + 64, POST); j++) {
          ops.push({
            op: 'create',
            resource: { ...(eob as ExplanationOfBenefit), id: `bare-${j}` },
            options: { id: `bare-${j}` },
          });
        }
        await store.resources.writeBatch(TENANT, ops);
      }
      const bareSeconds = (performance.now() - started) / 1000;
      const bareRate = POST / bareSeconds;
      console.log(
        `posting: ${received.outcome}, ${posted} claims posted in ${postSeconds.toFixed(2)} s = ${Math.round(postRate)} claims/s (target >= 1,000); bare store writes of as many EOBs ${Math.round(bareRate)}/s; ratio posting/bare ${(postRate / bareRate).toFixed(2)}; posting ${postMemory}`,
      );

      recordFigure({
        bench: 'remittance',
        figure: `835 posting, ${POST.toLocaleString('en-US')} claims`,
        value: Math.round(postRate),
        unit: 'claims/s',
        baseline: { name: 'bare store writes of as many EOBs', value: Math.round(bareRate) },
        target: '≥ 1,000/s',
        met: postRate >= 1000,
      });

      // 2. the big file through the intake, in a process of its own: the figure is the intake's
      // peak RSS, not the high-water mark phases 1 and 3 left in this one.
      const child = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, BENCH_INTAKE_ONLY: bigFile, BENCH_RESULTS: '' },
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      const intake = JSON.parse(
        child
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .at(-1) ?? '{}',
      ) as IntakeReport;
      console.log(
        `${BIG}-claim 835 in a process of its own: intake ${intake.outcome}${FULL ? `, ${intake.posted} claim payments posted (unmatched queue)` : ' (BENCH_FULL=1 also posts it)'} in ${intake.seconds.toFixed(2)} s; CPU ${intake.cpuSeconds.toFixed(2)} s; RSS ${intake.startRssMb} MB before the file, peak ${intake.peakRssMb} MB (target < 300 MB)`,
      );
      recordFigure({
        bench: 'remittance',
        figure: `835 intake of ${BIG.toLocaleString('en-US')} claims${FULL ? ' and its posting' : ''}, peak RSS of its own process`,
        value: intake.peakRssMb,
        unit: 'MB',
        baseline: { name: 'the same process before reading the file', value: intake.startRssMb },
        target: '< 300 MB',
        met: intake.peakRssMb < 300,
      });
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface IntakeReport {
  readonly outcome: string;
  readonly posted: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly startRssMb: number;
  readonly peakRssMb: number;
}

/** Phase 2 alone (BENCH_INTAKE_ONLY=<file>): the file through the intake into a fresh store; one JSON line. */
async function intakeOnly(file: string): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-intake-'));
  const store = await openSqliteStore({ path: path.join(dir, 'store.sqlite'), now: () => NOW });
  try {
    const remit = remittanceOn(store, dir);
    const startRssMb = rssMb();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const received = await receiveRemittance(
      remit.intake,
      TENANT,
      createReadStream(file, { highWaterMark: 1 << 20 }),
      { source: 'bench' },
    );
    let posted = 0;
    if (FULL) {
      for (let step = await remit.worker.runStep(); step; step = await remit.worker.runStep()) {
        posted += step.posted + step.unmatched;
      }
    }
    const used = process.cpuUsage(cpu);
    const report: IntakeReport = {
      outcome: received.outcome,
      posted,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
      startRssMb,
      peakRssMb: rssMb(),
    };
    console.log(JSON.stringify(report));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const intakeFile = process.env['BENCH_INTAKE_ONLY'];
await (intakeFile ? intakeOnly(intakeFile) : main());
