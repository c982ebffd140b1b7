/**
 * Claim sweep benchmark: how long the claim workflow's sweep takes on a tenant with a history.
 *
 *   npm run bench:sweep                 # BENCH_SWEEP=5000 billed encounters (and charges, claims)
 *
 * The tenant holds N finished, billed office encounters (one billable ChargeItem and one
 * adjudicated Claim each) in the embedded store. Measured in the same run:
 * 1. full scan (the sweep at start, and every `fullScanMs`): reads every encounter, charge and claim;
 * 2. change scan, nothing new: reads what changed since the previous sweep;
 * 3. change scan after 10 new encounters finish with charges: finds them and enqueues their builds;
 * and, as the baseline, a full scan over the same data with the 10 new ones. The ratio full ÷
 * change is what the change scan saves on every sweep (every 5 s by default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChargeItem, Claim, Encounter } from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { createLogger } from '../../src/logger.ts';
import type { BatchOperation } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { EXT_CLAIM_INPUTS, EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { recordFigure } from './results.ts';

const N = Math.max(100, Number(process.env['BENCH_SWEEP'] ?? 5000));
const TENANT = 'bench';
const NEW = 10;
/** Encounters written together (one visit day's worth), five minutes of history apart. */
const BATCH = 50;

const tenant: TenantConfig = {
  id: TENANT,
  name: 'Bench clinic',
  connections: [],
  coding: {},
  billing: {
    name: 'Bench Clinic',
    npi: '1234567893',
    taxonomy: '261QI0500X',
    taxId: '123456789',
    address: { line: ['1 Main St'], city: 'Columbus', state: 'OH', postalCode: '432151234' },
  },
  // X12 channel: built claims wait for a batch, nothing is sent anywhere.
  payers: [
    {
      id: 'payer',
      name: 'Bench Payer',
      payerId: 'BP1',
      kind: 'commercial',
      channel: 'x12',
      timelyFilingDays: 365,
    },
  ],
};

function encounterOf(i: number, day: string): Encounter & { id: string } {
  return {
    resourceType: 'Encounter',
    id: `enc-${i}`,
    status: 'finished',
    class: { code: 'AMB' },
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    subject: { reference: `Patient/pat-${i}` },
    period: { start: `${day}T09:00:00Z`, end: `${day}T11:00:00Z` },
  };
}

function chargeOf(i: number, day: string): ChargeItem & { id: string } {
  return {
    resourceType: 'ChargeItem',
    id: `ci-${i}`,
    status: 'billable',
    code: { coding: [{ system: SYSTEMS.cpt, code: '96365' }] },
    subject: { reference: `Patient/pat-${i}` },
    context: { reference: `Encounter/enc-${i}` },
    occurrenceDateTime: `${day}T09:00:00Z`,
    quantity: { value: 1 },
  };
}

function claimOf(i: number, day: string): Claim & { id: string } {
  return {
    resourceType: 'Claim',
    id: `claim-${i}`,
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: `Patient/pat-${i}` },
    created: `${day}T17:00:00Z`,
    provider: { display: 'Bench Clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov-${i}` } }],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ system: SYSTEMS.cpt, code: '96365' }] },
        encounter: [{ reference: `Encounter/enc-${i}` }],
        servicedDate: day,
      },
    ],
    extension: [
      // One claim in ten waits for a person (held): the recheck looks at those.
      { url: EXT_CLAIM_STATE, valueCode: i % 10 === 0 ? 'held' : 'adjudicated' },
      { url: EXT_CLAIM_INPUTS, valueString: 'as-scrubbed' },
      { url: EXT_CLAIM_PAYER, valueString: 'payer' },
    ],
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

async function main(): Promise<void> {
  loadFhirDefinitions();
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-sweep-'));
  // The history was written over the past days, a batch every few minutes; the run is stamped now.
  const historyStart = Date.now() - 3_600_000 - (N / BATCH) * 300_000;
  let clock = new Date(historyStart);
  const store = await openSqliteStore({ path: path.join(dir, 'dripline.db'), now: () => clock });
  try {
    const started = performance.now();
    for (let from = 0; from < N; from += BATCH) {
      const ops: BatchOperation[] = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) {
        const day = `2026-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
        for (const resource of [encounterOf(i, day), chargeOf(i, day), claimOf(i, day)]) {
          ops.push({ op: 'create', resource, options: { id: resource.id } });
        }
      }
      clock = new Date(historyStart + (from / BATCH) * 300_000);
      await store.resources.writeBatch(TENANT, ops);
      process.stdout.write(`\rseeding: ${Math.min(N, from + BATCH)}/${N} encounters, charges, claims`);
    }
    console.log(` (${((performance.now() - started) / 1000).toFixed(1)} s)`);

    const common = {
      store,
      tables: loadCodingTables(),
      logger: createLogger('silent'),
      publicUrl: 'http://localhost',
      tenants: [tenant],
      buildClaim,
      scrubClaim: (ctx: Parameters<typeof scrubClaim>[0], t: Parameters<typeof scrubClaim>[1]) =>
        scrubClaim(ctx, t),
      // The recheck of held claims is measured apart from the sweep.
      recheckMs: Number.MAX_SAFE_INTEGER,
    };
    clock = new Date();
    const tick = setInterval(() => (clock = new Date()), 1);
    const worker = new ClaimWorkflowWorker(common);
    const full = await timed(() => worker.sweep(TENANT));
    const unchanged = await timed(() => worker.sweep(TENANT));
    const ops: BatchOperation[] = [];
    for (let i = N; i < N + NEW; i++) {
      for (const resource of [encounterOf(i, '2026-11-25'), chargeOf(i, '2026-11-25')]) {
        ops.push({ op: 'create', resource, options: { id: resource.id } });
      }
    }
    await store.resources.writeBatch(TENANT, ops);
    const withNew = await timed(() => worker.sweep(TENANT));
    // Baseline: a worker that always scans everything, over the same data.
    const alwaysFull = new ClaimWorkflowWorker({ ...common, fullScanMs: 0 });
    await alwaysFull.sweep(TENANT); // warm
    const baseline = await timed(() => alwaysFull.sweep(TENANT));
    const queued = await store.jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'ready', 100);
    // The held-claim recheck: at start it gathers every held claim's inputs; afterwards only those
    // of patients whose data changed (here: none).
    const rechecking = new ClaimWorkflowWorker({ ...common, recheckMs: 0 });
    const recheckFull = await timed(() => rechecking.sweep(TENANT));
    const recheckChanged = await timed(() => rechecking.sweep(TENANT));

    recordFigure({
      bench: 'sweep',
      figure: `claim sweep, change scan with ${NEW} new encounters`,
      value: Number(withNew.ms.toFixed(1)),
      unit: 'ms',
      baseline: { name: 'full scan of the same data', value: Number(baseline.ms.toFixed(1)) },
    });
    const row = (name: string, r: { ms: number; value: number }): void => {
      console.log(`${name.padEnd(40)} ${r.ms.toFixed(1).padStart(9)} ms   builds enqueued ${r.value}`);
    };
    console.log(`\nsweep over a tenant with ${N} billed encounters (+ ${NEW} new in the third):`);
    row('full scan (first sweep)', full);
    row('change scan, nothing new', unchanged);
    row(`change scan, ${NEW} new encounters`, withNew);
    row('baseline: full scan, same data', baseline);
    console.log(`\nwith the recheck of the ${Math.ceil(N / 10)} held claims in the same sweep:`);
    row('full scan + full recheck (at start)', recheckFull);
    row('change scan + change recheck', recheckChanged);
    console.log(
      `\nfull ÷ change (nothing new): ${(baseline.ms / unchanged.ms).toFixed(1)}x; ` +
        `full ÷ change (${NEW} new): ${(baseline.ms / withNew.ms).toFixed(1)}x; ` +
        `builds queued for the new encounters: ${queued.length} (expected ${NEW}); ` +
        `recheck full ÷ change: ${(recheckFull.ms / recheckChanged.ms).toFixed(1)}x`,
    );
    if (queued.length !== NEW || withNew.value !== NEW) {
      throw new Error('the change scan did not find exactly the new encounters');
    }
    clearInterval(tick);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
