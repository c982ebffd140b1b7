/**
 * Analytics benchmark: every measure of /api/analytics over a year of a busy infusion clinic.
 *
 *   npm run bench:analytics             # BENCH_ANALYTICS=50000 claims (each with its remittance)
 *
 * The tenant holds N claims served through 2026 (five payers, three locations, eight drugs), each
 * with its posted payment (ExplanationOfBenefit: ~78 % paid, 12 % partly paid, 10 % denied), the
 * drug ChargeItem it bills, a denial or underpayment work item where due, appeals for a third of the
 * denials and an authorization for one claim in five, in the embedded store. Measured in the same
 * run:
 * 1. the first answer (reads every claim, payment, Task, ClaimResponse and ChargeItem once);
 * 2. each measure over the whole year, by payer and by drug, ROUNDS times, with ten new payments
 *    posted before each round (so every answer also reads the changes): p50, p95, max;
 * 3. baseline: the same answer from a reader that reads everything again each time (no kept facts).
 * Target: p95 < 1 s for every measure. Peak RSS at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { MEASURES } from '../../src/analytics/measures.ts';
import { AnalyticsService } from '../../src/analytics/service.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { CS_APPEAL_LEVEL, CS_APPEAL_OUTCOME, CS_APPEAL_OUTPUT } from '../../src/contract/appeals.ts';
import {
  CS_WORK_ITEM,
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_STATE,
} from '../../src/contract/canonical.ts';
import { CS_WORK_ITEM_INPUT, CS_WORK_ITEM_STATE } from '../../src/contract/recovery.ts';
import { buildExplanationOfBenefit } from '../../src/remittance/eob.ts';
import type { PostedAdjustment, PostedLine } from '../../src/remittance/posted.ts';
import { patientShareOf } from '../../src/remittance/posted.ts';
import type { BatchOperation } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { recordFigure } from './results.ts';

const N = Math.max(1000, Number(process.env['BENCH_ANALYTICS'] ?? 50_000));
const ROUNDS = Math.max(5, Number(process.env['BENCH_ANALYTICS_ROUNDS'] ?? 20));
const TENANT = 'bench';
/** Claims written together (with their payments and the rest), a minute of store time apart. */
const BATCH = 50;
const PAYERS = ['medicare', 'medicaid', 'aetna', 'bluecross', 'united'];
const LOCATIONS = ['north', 'south', 'downtown'];
const DRUGS: readonly [string, number][] = [
  ['J1745', 10],
  ['J9035', 40],
  ['J2505', 1],
  ['J0897', 1],
  ['J1569', 20],
  ['J9312', 100],
  ['J3380', 300],
  ['J0129', 75],
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
const dayOf = (i: number): string =>
  new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);

function claimOf(i: number): Claim & { id: string } {
  const [drug, units] = DRUGS[i % DRUGS.length] as [string, number];
  const day = dayOf(i);
  return {
    resourceType: 'Claim',
    id: `c${i}`,
    extension: [
      { url: EXT_CLAIM_FREQUENCY, valueCode: '1' },
      { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
      { url: EXT_CLAIM_PAYER, valueString: PAYERS[i % PAYERS.length] },
    ],
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: `Patient/p${i % 4000}` },
    billablePeriod: { start: day, end: day },
    created: `${day}T21:00:00Z`,
    provider: { display: 'Bench clinic' },
    priority: { coding: [{ code: 'normal' }] },
    facility: { reference: `Location/${LOCATIONS[i % LOCATIONS.length] as string}` },
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: { reference: `Coverage/cov${i % 4000}` },
        ...(i % 5 === 0 ? { preAuthRef: [`PA${i}`] } : {}),
      },
    ],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: drug }] },
        servicedDate: day,
        quantity: { value: units },
        net: { value: units * 10, currency: 'USD' },
      },
      {
        sequence: 2,
        productOrService: { coding: [{ code: '96365' }] },
        servicedDate: day,
        quantity: { value: 1 },
        net: { value: 250, currency: 'USD' },
      },
      {
        sequence: 3,
        productOrService: { coding: [{ code: '96366' }] },
        servicedDate: day,
        quantity: { value: 2 },
        net: { value: 120, currency: 'USD' },
      },
    ],
    total: { value: units * 10 + 370, currency: 'USD' },
  };
}

function line(
  seq: number,
  code: string,
  units: number,
  submitted: number,
  paid: number,
  adjustments: PostedAdjustment[],
): PostedLine {
  return {
    position: seq,
    itemSequence: seq,
    matchedBy: 'item-sequence',
    procedure: { qualifier: 'HC', code, modifiers: [] },
    units,
    submitted,
    allowed: cents(paid + patientShareOf(adjustments).total),
    allowedReported: true,
    paid,
    patientResponsibility: patientShareOf(adjustments),
    adjustments,
    remarks: [],
  };
}

/** The payment of claim i: paid (CO-45, PR-2), partly paid (drug line CO-197) or denied (CO-50). */
function paymentOf(
  claim: Claim & { id: string },
  i: number,
  id = `e${i}`,
): ExplanationOfBenefit & { id: string } {
  const kind = i % 10 === 3 ? 'denied' : i % 25 === 7 || i % 25 === 8 || i % 25 === 9 ? 'partial' : 'paid';
  const lines = (claim.item ?? []).map((item) => {
    const code = item.productOrService.coding?.[0]?.code ?? '';
    const submitted = item.net?.value ?? 0;
    const units = item.quantity?.value ?? 1;
    if (kind === 'denied' || (kind === 'partial' && item.sequence === 1)) {
      return line(item.sequence, code, units, submitted, 0, [
        { group: 'CO', carc: kind === 'denied' ? '50' : '197', amount: submitted },
      ]);
    }
    const allowed = cents(submitted * 0.8);
    const coinsurance = cents(allowed * 0.2);
    // One payment in 30 comes in $5 short of the contract (an underpayment).
    const paid = cents(allowed - coinsurance - (i % 30 === 11 ? 5 : 0));
    return line(item.sequence, code, units, submitted, paid, [
      { group: 'CO', carc: '45', amount: cents(submitted - allowed + (i % 30 === 11 ? 5 : 0)) },
      { group: 'PR', carc: '2', amount: coinsurance },
    ]);
  });
  const all = lines.flatMap((l) => l.adjustments);
  const paid = cents(lines.reduce((s, l) => s + l.paid, 0));
  const date = new Date(
    Date.parse(`${claim.billablePeriod?.start ?? ''}T12:00:00Z`) + (14 + (i % 30)) * 86_400_000,
  )
    .toISOString()
    .slice(0, 10);
  return buildExplanationOfBenefit({
    id,
    draft: {
      channel: 'x12-835',
      position: 1,
      patientControlNumber: claim.id,
      payerClaimNumber: `ICN${i}`,
      status: '1',
      outcome: kind === 'denied' ? 'denied' : kind === 'partial' ? 'partially-paid' : 'paid',
      submitted: cents(lines.reduce((s, l) => s + l.submitted, 0)),
      paid,
      patientResponsibility: patientShareOf(all),
      adjustments: [],
      remarks: [],
      lines,
      paymentDate: date,
    },
    lines,
    claim,
    payer: { id: PAYERS[i % PAYERS.length] as string, name: 'Payer' },
    remittance: { id: `pr${Math.floor(i / 100)}`, trace: `T${Math.floor(i / 100)}` },
    created: `${date}T15:00:00Z`,
  });
}

function extrasOf(claim: Claim & { id: string }, i: number): Resource[] {
  const day = claim.billablePeriod?.start ?? '';
  const [drug, units] = DRUGS[i % DRUGS.length] as [string, number];
  const out: Resource[] = [
    {
      resourceType: 'ChargeItem',
      id: `ch${i}`,
      status: 'billable',
      code: { coding: [{ code: drug }] },
      subject: { reference: `Patient/p${i % 4000}` },
      occurrenceDateTime: `${day}T10:00:00-05:00`,
      quantity: { value: units + (i % 7 === 0 ? 1 : 0) },
    } satisfies ChargeItem,
  ];
  const workItem = (kind: 'denial' | 'underpayment', dollars: number, state: string): Task => ({
    resourceType: 'Task',
    id: `w${i}`,
    status: 'ready',
    intent: 'order',
    code: { coding: [{ system: CS_WORK_ITEM, code: kind }] },
    businessStatus: { coding: [{ system: CS_WORK_ITEM_STATE, code: state }] },
    focus: { reference: `Claim/${claim.id}` },
    authoredOn: `${day}T20:00:00Z`,
    input: [
      {
        type: { coding: [{ system: CS_WORK_ITEM_INPUT, code: 'dollars-at-stake' }] },
        valueMoney: { value: dollars, currency: 'USD' },
      },
    ],
  });
  if (i % 10 === 3) {
    out.push(workItem('denial', claim.total?.value ?? 0, 'open'));
    if (i % 30 === 3) {
      out.push({
        resourceType: 'Task',
        id: `a${i}`,
        status: 'completed',
        intent: 'order',
        code: { coding: [{ system: CS_APPEAL_LEVEL, code: 'redetermination' }] },
        businessStatus: {
          coding: [{ system: CS_APPEAL_OUTCOME, code: i % 60 === 3 ? 'overturned' : 'upheld' }],
        },
        focus: { reference: `Claim/${claim.id}` },
        authoredOn: `${day}T21:00:00Z`,
        ...(i % 60 === 3
          ? {
              output: [
                {
                  type: { coding: [{ system: CS_APPEAL_OUTPUT, code: 'recovered' }] },
                  valueMoney: { value: 300, currency: 'USD' },
                },
              ],
            }
          : {}),
      } satisfies Task);
    }
  } else if (i % 30 === 11) {
    out.push(workItem('underpayment', 15, i % 60 === 11 ? 'recovered' : 'open'));
  }
  if (i % 5 === 0) {
    out.push({
      resourceType: 'ClaimResponse',
      id: `pa${i}`,
      status: 'active',
      type: { coding: [{ code: 'professional' }] },
      use: 'preauthorization',
      patient: { reference: `Patient/p${i % 4000}` },
      created: `${day}T09:00:00Z`,
      insurer: { identifier: { value: PAYERS[i % PAYERS.length] as string } },
      outcome: 'complete',
    } satisfies ClaimResponse);
  }
  return out;
}

const quantile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-analytics-'));
  // The history was stamped a batch a minute up to ten minutes ago; the measured run is stamped now.
  const historyStart = Date.now() - 600_000 - Math.ceil(N / BATCH) * 60_000;
  let clock = new Date(historyStart);
  const store = await openSqliteStore({ path: path.join(dir, 'dripline.db'), now: () => clock });
  try {
    const started = performance.now();
    let written = 0;
    for (let from = 0; from < N; from += BATCH) {
      const ops: BatchOperation[] = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) {
        const claim = claimOf(i);
        for (const resource of [claim, paymentOf(claim, i), ...extrasOf(claim, i)]) {
          ops.push({ op: 'create', resource, options: { id: resource.id as string } });
        }
      }
      written += ops.length;
      clock = new Date(historyStart + (from / BATCH) * 60_000);
      await store.resources.writeBatch(TENANT, ops);
      if (from % 2500 === 0 || from + BATCH >= N) {
        process.stdout.write(`\rseeding: ${Math.min(N, from + BATCH)}/${N} claims (${written} resources)`);
      }
    }
    console.log(` in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    clock = new Date();
    const tick = setInterval(() => (clock = new Date()), 1);
    const now = (): Date => new Date('2026-12-31T15:00:00Z');
    const service = new AnalyticsService({ store, now });
    const year = { from: '2026-01-01', to: '2026-12-31' };

    let t = performance.now();
    await service.measure(tenant, 'clean-claim-rate', year);
    const coldMs = performance.now() - t;
    console.log(
      `first answer (reads the whole year once): ${coldMs.toFixed(0)} ms`,
      service.reader.lastStats.read,
    );

    if (process.env['BENCH_ANALYTICS_PROFILE']) {
      for (let k = 0; k < 3; k++) {
        t = performance.now();
        await service.reader.data(TENANT, 'America/New_York');
        const readMs = performance.now() - t;
        t = performance.now();
        await service.measure(tenant, 'denial-rate', year);
        console.log(
          `refresh ${readMs.toFixed(1)} ms, refresh + measure ${(performance.now() - t).toFixed(1)} ms`,
          service.reader.lastStats.read,
        );
      }
    }
    const times = new Map<string, number[]>();
    let extra = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Ten new payments posted since the last round: each answer reads them.
      const ops: BatchOperation[] = [];
      for (let k = 0; k < 10; k++, extra++) {
        const i = extra % N;
        ops.push({
          op: 'create',
          resource: paymentOf(claimOf(i), i + 1, `late${extra}`),
          options: { id: `late${extra}` },
        });
      }
      await store.resources.writeBatch(TENANT, ops);
      for (const name of MEASURES) {
        for (const by of [undefined, 'payer', 'drug'] as const) {
          t = performance.now();
          await service.measure(tenant, name, { ...year, ...(by ? { by } : {}) });
          const key = `${name}${by ? ` by ${by}` : ''}`;
          times.set(key, [...(times.get(key) ?? []), performance.now() - t]);
        }
      }
      process.stdout.write(`\rmeasuring: round ${round + 1}/${ROUNDS}`);
    }
    console.log('');

    // Baseline: no kept facts, every answer reads the year again.
    const baselineTimes: number[] = [];
    for (let k = 0; k < 3; k++) {
      const fresh = new AnalyticsService({ store, now });
      t = performance.now();
      await fresh.measure(tenant, 'denial-rate', { ...year, by: 'payer' });
      baselineTimes.push(performance.now() - t);
    }
    clearInterval(tick);

    console.log(`\n${N} claims with remittances, ${written} resources, year 2026, ${ROUNDS} rounds:`);
    console.log(
      `${'measure'.padEnd(40)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
    );
    let worst = 0;
    for (const [key, xs] of times) {
      const p95 = quantile(xs, 0.95);
      worst = Math.max(worst, p95);
      console.log(
        `${key.padEnd(40)} ${quantile(xs, 0.5).toFixed(1).padStart(8)} ${p95.toFixed(1).padStart(8)} ${Math.max(
          ...xs,
        )
          .toFixed(1)
          .padStart(8)}`,
      );
    }
    const baseline = quantile(baselineTimes, 0.5);
    const denialP95 = quantile(times.get('denial-rate by payer') ?? [], 0.95);
    console.log(
      `\nbaseline (reads everything each time), denial-rate by payer: ${baseline.toFixed(0)} ms (median of 3)`,
    );
    console.log(`baseline ÷ kept facts (p95, same measure): ${(baseline / denialP95).toFixed(1)}x`);
    console.log(
      `worst p95 over all measures and slices: ${worst.toFixed(1)} ms (target < 1000 ms): ${worst < 1000 ? 'met' : 'NOT met'}`,
    );
    recordFigure({
      bench: 'analytics',
      figure: `worst p95 of every measure and slice, ${N} claims, a year`,
      value: Math.round(worst),
      unit: 'ms',
      baseline: {
        name: 're-reading the year each answer (denial-rate by payer)',
        value: Math.round(baseline),
      },
      target: '< 1000 ms',
      met: worst < 1000,
    });
    recordFigure({
      bench: 'analytics',
      figure: 'first answer (reads the year once)',
      value: Math.round(coldMs),
      unit: 'ms',
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
