/**
 * Statement throughput benchmark (issue 15's benchmark: "statement run for 10,000 patients, PDFs
 * per second printed").
 *
 *   npm run bench:statements            # BENCH_STATEMENTS_N=10000 patients
 *
 * The tenant holds N patients in a temporary embedded store, each with one adjudicated claim and
 * its posted payment (ExplanationOfBenefit: three service lines, CO-45 write-down and a PR-2
 * co-insurance, so every patient owes something, paid ten days ago). Measured in the same run:
 * 1. the statement run (`runStatements`, as `POST /api/statements/run` and the CLI do it): read
 *    every balance, write each Account and Invoice with their AuditEvent, render and write each
 *    PDF: statements (= PDFs) per second;
 * 2. baseline: N trivial one-page pdfkit documents (one line of text) written to files, one after
 *    the other: PDFs per second — the floor that pdfkit and the file system set.
 * No target is stated for the rate; peak RSS is printed at the end (./results.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Claim, ExplanationOfBenefit, Patient } from '@medplum/fhirtypes';
import PDFDocument from 'pdfkit';
import type { TenantConfig } from '../../src/config/config.ts';
import { EXT_CLAIM_FREQUENCY, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { buildExplanationOfBenefit } from '../../src/remittance/eob.ts';
import type { PostedAdjustment, PostedLine } from '../../src/remittance/posted.ts';
import { patientShareOf } from '../../src/remittance/posted.ts';
import { runStatements } from '../../src/remittance/statements/run.ts';
import type { BatchOperation } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { peakRssMb, recordFigure } from './results.ts';

const N = Math.max(10, Number(process.env['BENCH_STATEMENTS_N'] ?? 10_000));
const TENANT = 'bench';
const BATCH = 100;
const LINES: readonly [string, number, number][] = [
  ['J1745', 10, 900],
  ['96365', 1, 250],
  ['96366', 2, 120],
];

const tenant: TenantConfig = {
  id: TENANT,
  name: 'Bench clinic',
  timeZone: 'America/New_York',
  connections: [],
  coding: {},
  payers: [],
};

const cents = (x: number): number => Math.round(x * 100) / 100;

function patientOf(i: number): Patient & { id: string } {
  return {
    resourceType: 'Patient',
    id: `p${i}`,
    name: [{ given: ['Pat'], family: `Bench${i}` }],
    birthDate: '1960-01-01',
  };
}

function claimOf(i: number, day: string): Claim & { id: string } {
  return {
    resourceType: 'Claim',
    id: `c${i}`,
    extension: [
      { url: EXT_CLAIM_FREQUENCY, valueCode: '1' },
      { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
    ],
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: `Patient/p${i}` },
    billablePeriod: { start: day, end: day },
    created: `${day}T21:00:00Z`,
    provider: { display: 'Bench clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov${i}` } }],
    item: LINES.map(([code, units, net], k) => ({
      sequence: k + 1,
      productOrService: { coding: [{ code }] },
      servicedDate: day,
      quantity: { value: units },
      net: { value: net, currency: 'USD' },
    })),
    total: { value: LINES.reduce((s, [, , net]) => s + net, 0), currency: 'USD' },
  };
}

/** The payment of claim i: every line allowed at 80 % (CO-45), 20 % of that the patient's (PR-2). */
function paymentOf(claim: Claim & { id: string }, i: number, paidOn: string): ExplanationOfBenefit {
  const lines: PostedLine[] = (claim.item ?? []).map((item) => {
    const submitted = item.net?.value ?? 0;
    const allowed = cents(submitted * 0.8);
    const coinsurance = cents(allowed * 0.2 + (i % 7));
    const adjustments: PostedAdjustment[] = [
      { group: 'CO', carc: '45', amount: cents(submitted - allowed) },
      { group: 'PR', carc: '2', amount: coinsurance },
    ];
    return {
      position: item.sequence,
      itemSequence: item.sequence,
      matchedBy: 'item-sequence',
      procedure: { qualifier: 'HC', code: item.productOrService.coding?.[0]?.code ?? '', modifiers: [] },
      units: item.quantity?.value ?? 1,
      submitted,
      allowed,
      allowedReported: true,
      paid: cents(allowed - coinsurance),
      patientResponsibility: patientShareOf(adjustments),
      adjustments,
      remarks: [],
    };
  });
  const all = lines.flatMap((l) => l.adjustments);
  return buildExplanationOfBenefit({
    id: `e${i}`,
    draft: {
      channel: 'x12-835',
      position: 1,
      patientControlNumber: claim.id,
      payerClaimNumber: `ICN${i}`,
      status: '1',
      outcome: 'paid',
      submitted: cents(lines.reduce((s, l) => s + l.submitted, 0)),
      paid: cents(lines.reduce((s, l) => s + l.paid, 0)),
      patientResponsibility: patientShareOf(all),
      adjustments: [],
      remarks: [],
      lines,
      paymentDate: paidOn,
    },
    lines,
    claim,
    payer: { id: 'medicare', name: 'Payer' },
    remittance: { id: `pr${Math.floor(i / 100)}`, trace: `T${Math.floor(i / 100)}` },
    created: `${paidOn}T15:00:00Z`,
  });
}

/** A trivial one-page PDF (one line of text), as bytes. */
function trivialPdf(i: number): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'LETTER', margin: 54 });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.font('Helvetica').fontSize(10).text(`Statement ${i}`);
  doc.end();
  return done;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-statements-'));
  const store = await openSqliteStore({ path: path.join(dir, 'dripline.db') });
  try {
    const now = new Date();
    const day = (offsetDays: number): string =>
      new Date(now.getTime() - offsetDays * 86_400_000).toISOString().slice(0, 10);
    const seeded = performance.now();
    for (let from = 0; from < N; from += BATCH) {
      const ops: BatchOperation[] = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) {
        const claim = claimOf(i, day(24));
        for (const resource of [patientOf(i), claim, paymentOf(claim, i, day(10))]) {
          ops.push({ op: 'create', resource, options: { id: resource.id as string } });
        }
      }
      await store.resources.writeBatch(TENANT, ops);
    }
    console.log(
      `seeded ${N} patients (Patient, Claim, ExplanationOfBenefit each) in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
    );

    const started = performance.now();
    const run = await runStatements(
      {
        store,
        publicUrl: 'http://bench.invalid',
        now: () => new Date(),
        tenants: () => [tenant],
        dataDir: dir,
      },
      TENANT,
      { clientId: 'bench:statements' },
    );
    const runSeconds = (performance.now() - started) / 1000;
    const pdfs = run.statements.filter((s) => s.pdf !== undefined).length;
    const written = readdirSync(path.join(dir, 'statements', TENANT, run.cycle)).length;
    if (run.statements.length !== N || pdfs !== N || written !== N) {
      throw new Error(
        `expected ${N} statements and PDFs, got ${run.statements.length} / ${pdfs} / ${written} files`,
      );
    }
    const rate = pdfs / runSeconds;
    console.log(
      `statement run: ${run.statements.length} statements, ${pdfs} PDFs in ${runSeconds.toFixed(1)} s: ${rate.toFixed(0)} PDFs/s (peak RSS so far ${peakRssMb()} MB)`,
    );

    const baseDir = path.join(dir, 'baseline');
    mkdirSync(baseDir);
    const baseStarted = performance.now();
    for (let i = 0; i < N; i++) {
      writeFileSync(path.join(baseDir, `${i}.pdf`), await trivialPdf(i), { mode: 0o600 });
    }
    const baseSeconds = (performance.now() - baseStarted) / 1000;
    const baseRate = N / baseSeconds;
    console.log(
      `baseline: ${N} trivial one-page pdfkit PDFs written in ${baseSeconds.toFixed(1)} s: ${baseRate.toFixed(0)} PDFs/s; ` +
        `the statement run is ${(rate / baseRate).toFixed(2)}× the baseline`,
    );
    recordFigure({
      bench: 'statements',
      figure: `statement run, ${N} patients (PDFs)`,
      value: Math.round(rate),
      unit: 'PDFs/s',
      baseline: { name: 'trivial one-page pdfkit PDFs', value: Math.round(baseRate) },
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
