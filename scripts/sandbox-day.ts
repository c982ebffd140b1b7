/**
 * `npm run sandbox:day`: the whole flow on one seeded day, then its figures. Starts Dripline in
 * sandbox mode on a temporary data directory (the sandbox EHR and payer in process), replays the
 * day at once, waits while ingest, charge capture, claim building and submission run (printing
 * progress), and prints the funnel: administrations → charges → claims, what the scrubber held and
 * why, what the payer accepted the first time, denial reasons, billed and paid — and, against the
 * day's declared deliberate errors, the first-pass clean rate of the claims without one and the
 * share of seeded errors caught by the rule meant for each. The day starts with coverage
 * (src/sandbox/day-coverage.ts): eligibility for every patient and Da Vinci PAS for the orders that
 * need it, before the claim workflow starts; the claims an authorization obtained that day saved
 * from a denial are listed after the funnel. Then it does what a
 * biller would: records the prior authorizations the payers gave for the claims held for want of
 * one, waits for the workflow to rebuild, rescrub and send them, and prints the funnel again.
 *
 * It ends with appeals due, a statement run and the day's analytics (./sandbox-day-recovery.ts).
 *
 * The day runs on an accelerated clock (`advancingClock`, src/time/clock.ts) that Dripline and the
 * sandbox parties share: whenever all that is left is a timer — the next claim sweep, the
 * held-claim recheck, the X12 payer's processing time — the day moves the clock over it instead of
 * sleeping, and otherwise waits on conditions. Each phase's wall time is printed as it ends, and
 * the breakdown at the end (./sandbox-day-phases.ts); `npm run bench:day` runs the same day.
 *
 * Environment: SANDBOX_PATIENTS (default 36), SANDBOX_DAY_TIMEOUT_S (default 300),
 * SANDBOX_DAY_KEEP=1 (or --keep) keeps the data folder, SANDBOX_DAY_REAL_TIME=1 (or --real-time)
 * runs the day on the system clock, sleeping through every timer (the same figures, slower).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  CoverageEligibilityResponse,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { ELIGIBILITY_QUEUE, ELIGIBILITY_TASK_CODE } from '../src/coverage/eligibility/records.ts';
import { authorizationOnFile } from '../src/coverage/authorizations.ts';
import { claimFunnel } from '../src/claims/funnel.ts';
import type { ClaimState } from '../src/claims/types.ts';
import { claimFrequencyOf } from '../src/claims/workflow/identity.ts';
import { CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from '../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../src/claims/workflow/state.ts';
import { isDenial } from '../src/claims/workflow/submission.ts';
import { CLAIM_TASK_CODE, findingsOfTask } from '../src/claims/workflow/tasks.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../src/ingest/jobs.ts';
import { createLogger } from '../src/logger.ts';
import { runSandbox, SANDBOX_TENANT, seededPayers } from '../src/sandbox/index.ts';
import type { SandboxRun } from '../src/sandbox/index.ts';
import { dayOutcome, observeDay, rates } from '../src/sandbox/day-outcome.ts';
import type { DayOutcome } from '../src/sandbox/day-outcome.ts';
import type { Store, StoredResource } from '../src/store/port.ts';
import { searchAll } from '../src/store/search-all.ts';
import { freePort } from '../src/http/free-port.ts';
import { loadCodingTables } from '../src/coding/tables/load.ts';
import { PRIOR_AUTH_QUEUE } from '../src/coverage/pas/records.ts';
import { isSilenceCheck } from '../src/coverage/pas/subscription-check.ts';
import { coverageFigures, coverageSettled, savedFromDenial } from '../src/sandbox/day-coverage.ts';
import { reportRemittance, X12PayerWait } from './sandbox-day-remittance.ts';
import { keepDataFolder, reportRecovery } from './sandbox-day-recovery.ts';
import { beforeDeadline, DayPhases } from './sandbox-day-phases.ts';
import { advancingClock, systemClock } from '../src/time/clock.ts';
import type { AdvancingClock } from '../src/time/clock.ts';
import { DEFAULT_RECHECK_MS, DEFAULT_SWEEP_MS } from '../src/claims/workflow/context.ts';
import { localSandboxConfig } from '../src/sandbox/local-config.ts';

function all<T extends Resource>(store: Store, type: T['resourceType']): Promise<(T & StoredResource)[]> {
  return searchAll<T>(store, SANDBOX_TENANT, type);
}

async function pendingJobs(store: Store, queue: string): Promise<number> {
  const ready = await store.jobs.listJobs(SANDBOX_TENANT, queue, 'ready', 10_000);
  const leased = await store.jobs.listJobs(SANDBOX_TENANT, queue, 'leased', 10_000);
  // A kept PAS subscription's silence check always waits for its time: not work under way.
  return [...ready, ...leased].filter((j) => !isSilenceCheck(j)).length;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** What eligibility found on the day: answers by what they say, and the work items raised. */
async function reportEligibility(store: Store, asked: { fhir: number; x12: number }): Promise<void> {
  const answers = await all<CoverageEligibilityResponse>(store, 'CoverageEligibilityResponse');
  const said = (r: CoverageEligibilityResponse): string =>
    r.outcome === 'error'
      ? 'not verified'
      : r.insurance?.[0]?.inforce === false
        ? 'not in force'
        : 'in force';
  const counts: Record<string, number> = {};
  for (const r of answers) {
    counts[said(r)] = (counts[said(r)] ?? 0) + 1;
  }
  console.log(
    `eligibility: ${asked.fhir} FHIR and ${asked.x12} X12 (270/271) inquiries answered; ${answers.length} answers kept ${JSON.stringify(counts)}`,
  );
  const tasks = (await all<Task>(store, 'Task')).filter(
    (t) => t.code?.coding?.some((c) => c.code === ELIGIBILITY_TASK_CODE) && t.status !== 'completed',
  );
  for (const task of tasks) {
    for (const finding of findingsOfTask(task)) {
      console.log(`  work item ${task.focus?.reference ?? '?'}: ${finding.ruleId}: ${finding.message}`);
    }
  }
}

/** The funnel of the sandbox tenant, printed. */
async function report(store: Store): Promise<void> {
  const administrations = (await all(store, 'MedicationAdministration')).length;
  const charges = (await all<ChargeItem>(store, 'ChargeItem')).filter((c) => c.status === 'billable').length;
  const claims = await all<Claim>(store, 'Claim');
  const firstScrub = new Map<string, ClaimState>();
  for (const claim of claims) {
    const history = await store.resources.history(SANDBOX_TENANT, 'Claim', claim.id);
    const first = history.resources
      .map((v) => claimStateOf(v as Claim))
      .reverse()
      .find((s) => s === 'held' || s === 'ready');
    if (first) {
      firstScrub.set(claim.id, first);
    }
  }
  const responses = (await all<ClaimResponse>(store, 'ClaimResponse'))
    .filter((r) => r.use !== 'preauthorization')
    .sort((a, b) => a.meta.lastUpdated.localeCompare(b.meta.lastUpdated));
  const tasks = (await all<Task>(store, 'Task')).filter((t) =>
    t.code?.coding?.some((c) => c.code === CLAIM_TASK_CODE),
  );
  const funnel = claimFunnel({
    claims,
    firstScrub,
    responses,
    tasks,
    stateOf: claimStateOf,
    frequencyOf: claimFrequencyOf,
    findingsOf: findingsOfTask,
    isDenial,
  });
  console.log(`administrations ${administrations} → billable charges ${charges} → claims ${funnel.claims}`);
  console.log(`claims by state: ${JSON.stringify(funnel.byState)}`);
  console.log(
    `scrub: ${funnel.cleanOnFirstScrub}/${funnel.originals} original claims clean on first scrub (${pct(funnel.rates.scrubPass)}); ` +
      `errors that held the rest, by rule: ${JSON.stringify(funnel.heldByRule)}`,
  );
  console.log(
    `payer: ${funnel.acceptedFirstPass}/${funnel.answered} answered claims accepted on first pass ` +
      `(clean-claim rate ${pct(funnel.rates.cleanClaim)}, denial rate ${pct(funnel.rates.denial)}); ` +
      `denial reasons (CARC → claims): ${JSON.stringify(funnel.deniedByCarc)}`,
  );
  console.log(`billed ${usd(funnel.billed)} on original claims; paid ${usd(funnel.paid)}`);
}

/**
 * The day against its declared deliberate errors (src/sandbox/ehr/seed-data/plan.ts): the
 * first-pass clean rate of the claims without one, and the share caught by the rule meant for each.
 */
function reportOutcome(outcome: DayOutcome): void {
  const { clean, caught } = rates(outcome);
  console.log(
    `first-pass clean rate of claims without a seeded error: ${outcome.clean.passed}/${outcome.clean.total} (${pct(clean)})`,
  );
  console.log(
    `seeded errors caught by the rule meant for each: ${outcome.seeded.caught}/${outcome.seeded.total} (${pct(caught)}); by rule: ${JSON.stringify(outcome.byRule)}`,
  );
  for (const missed of outcome.seeded.missed) {
    console.log(`  missed: ${missed.encounter} ${missed.rule} (${missed.caughtBy}): ${missed.what}`);
  }
  for (const held of outcome.unexplained) {
    console.log(`  held for no seeded error: Claim/${held.claim} by ${held.rules.join(', ')}`);
  }
}

/** Held claims whose error findings include this rule. */
async function claimsHeldFor(store: Store, ruleId: string): Promise<(Claim & StoredResource)[]> {
  const tasks = (await all<Task>(store, 'Task')).filter((t) =>
    t.code?.coding?.some((c) => c.code === CLAIM_TASK_CODE),
  );
  const out: (Claim & StoredResource)[] = [];
  for (const claim of await all<Claim>(store, 'Claim')) {
    const task = tasks.find((t) => t.focus?.reference === `Claim/${claim.id}`);
    if (
      claimStateOf(claim) === 'held' &&
      task &&
      findingsOfTask(task).some((f) => f.severity === 'error' && f.ruleId === ruleId)
    ) {
      out.push(claim);
    }
  }
  return out;
}

/** The sandbox X12 payer's processing time before its 835 (on the day's clock). */
const X12_PAYER_DELAY_MS = 2000;

/**
 * Moves the day's clock forward by `ms` (default the sweep interval) and asks the claim worker for
 * a sweep (with the held-claim recheck when that is due), resolving once it has finished: nothing
 * was going to happen before it. The sweep asked for begins after the ask (`sweepNow`), so it sees
 * everything the look before it saw; no polling of the sweep counter.
 */
async function nextSweep(
  run: SandboxRun,
  clock: AdvancingClock,
  deadline: number,
  ms = DEFAULT_SWEEP_MS,
): Promise<void> {
  clock.advance(ms);
  await beforeDeadline('the claim sweep', run.server.claims.sweepNow(), deadline);
}

/**
 * Runs the day and prints it; resolves with its phases once everything is stopped. `since`: when
 * the day's time starts (epoch ms), default now; from the process start (`performance.timeOrigin`)
 * it counts loading the modules as the day's first phase.
 */
export async function runSandboxDay(
  options: {
    readonly patients?: string;
    readonly timeoutMs?: number;
    readonly since?: number;
    /** Never move the clock: sleep through every timer, as a real day would (to compare results). */
    readonly realTime?: boolean;
  } = {},
): Promise<DayPhases> {
  const patients = options.patients ?? '36';
  const timeoutMs = options.timeoutMs ?? 300_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-sandbox-day-'));
  const port = await freePort();
  const config = localSandboxConfig({ dataDir: dir, port, patients: Number(patients) });
  const started = Date.now();
  const deadline = started + timeoutMs;
  const phases = new DayPhases(options.since !== undefined ? { since: options.since } : {});
  if (options.since !== undefined) {
    phases.end('load: modules, FHIR definitions');
  }
  console.log(`sandbox day: ${patients} patients, data in ${dir}`);
  // The day's clock, shared by Dripline and the sandbox parties: the day moves it forward over the
  // intervals in which nothing happens but waiting for a timer (the claim sweep, the held-claim
  // recheck, the X12 payer's processing time), so the day runs faster than real time and does
  // the same things in the same order.
  const clock: AdvancingClock = options.realTime
    ? { now: systemClock(config.clockOffsetMs), advance: () => undefined, advancedMs: () => 0 }
    : advancingClock(config.clockOffsetMs);
  console.log(options.realTime ? 'clock: real time' : 'clock: accelerated (moved over idle timers)');
  // The payers take PAS; billing waits until the day's coverage work is done (below).
  const run = await runSandbox(config, createLogger('warn'), {
    now: clock.now,
    claims: false,
    sandboxPriorAuth: {},
    sandboxX12Payer: { delayMs: X12_PAYER_DELAY_MS, roundMs: 500 },
  });
  phases.end('start: sandbox EHR, payers, Dripline');
  try {
    await run.replayed;
    const store = run.server.store;
    await run.ehr.idle();
    phases.end('replay: the EHR sends the day');
    await coverageSettled(store, SANDBOX_TENANT, {
      timeoutMs: Math.max(0, deadline - Date.now()),
      pollMs: 250,
      onLook: (underWay) =>
        console.log(`  ${phases.elapsedS()} s: coverage under way ${JSON.stringify(underWay)}`),
    });
    phases.end('ingest and coverage: copies, charges, eligibility, PAS');
    const front = await coverageFigures(store, SANDBOX_TENANT);
    console.log(
      `coverage first: eligibility checked for ${front.eligibilityChecked} patients (${front.active} active, ${front.inactive} inactive, ${front.unverified} not verified); ` +
        `PAS ${JSON.stringify(front.pas)}; now billing`,
    );
    run.server.claims.start();
    // Settled: every queue idle, no claim between build and answer (the X12 payer's included), and
    // the claim count unchanged over three sweeps in a row. While something works, look every
    // 250 ms; once only the next sweep is left, move the clock to it (the sweep interval) and wait
    // until the worker has made it.
    const x12Payer = new X12PayerWait(run, clock, X12_PAYER_DELAY_MS);
    let stable = 0;
    let lastCount = -1;
    for (;;) {
      const queues = {
        ingest: await pendingJobs(store, INGEST_QUEUE),
        charges: await pendingJobs(store, ENCOUNTER_CHANGED_QUEUE),
        build: await pendingJobs(store, CLAIM_READY_QUEUE),
        submit: await pendingJobs(store, CLAIM_SUBMIT_QUEUE),
        eligibility: await pendingJobs(store, ELIGIBILITY_QUEUE),
        priorAuth: await pendingJobs(store, PRIOR_AUTH_QUEUE),
      };
      const claims = await all<Claim>(store, 'Claim');
      const busy =
        Object.values(queues).some((n) => n > 0) ||
        claims.some((c) => ['built', 'submitting'].includes(claimStateOf(c) ?? '')) ||
        (await x12Payer.outstanding(claims)) > 0;
      stable = !busy && claims.length === lastCount && claims.length > 0 ? stable + 1 : 0;
      lastCount = claims.length;
      console.log(
        `  ${phases.elapsedS()} s (clock +${(clock.advancedMs() / 1000).toFixed(0)} s): jobs waiting ${JSON.stringify(queues)}; ${claims.length} claims`,
      );
      if (stable >= 3) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`not settled after ${timeoutMs / 1000} s`);
      }
      if (busy) {
        await new Promise((r) => setTimeout(r, 250));
      } else {
        await nextSweep(run, clock, deadline);
      }
    }
    phases.end('billing: build, scrub, submit, FHIR answers');
    console.log(`\nsettled in ${phases.elapsedS()} s`);
    await reportEligibility(store, run.payer.eligibilityCounts());
    await report(store);
    const observed = await observeDay(store, SANDBOX_TENANT);
    const outcome = dayOutcome(run.ehr.seededErrors, observed.claims, observed.coding);
    reportOutcome(outcome);
    const saved = await savedFromDenial({
      store,
      tenant: SANDBOX_TENANT,
      payers: await seededPayers(run.ehr),
      tables: loadCodingTables(),
      since: new Date(started),
      stateOf: claimStateOf,
    });
    console.log(
      `claims saved from an authorization denial (a line needing prior auth, a number PAS obtained today): ${saved.length}`,
    );
    for (const claim of saved) {
      console.log(
        `  ${claim.claim} ${claim.codes.join('+')} under ${claim.numbers.join(', ')}: ${claim.state ?? '?'}`,
      );
    }
    // A seeded "missing prior auth" error on a saved claim was prevented, not missed.
    const savedEncounters = new Set(
      observed.claims
        .filter((c) => saved.some((x) => x.claim === `Claim/${c.id}`))
        .flatMap((c) => c.encounters),
    );
    const prevented = outcome.seeded.missed.filter(
      (e) => e.rule === 'prior-auth' && savedEncounters.has(`Encounter/${e.encounter}`),
    ).length;
    console.log(
      `of the seeded errors missed above, ${prevented} are missing authorizations PAS obtained before billing; ` +
        `seeded errors caught or prevented: ${outcome.seeded.caught + prevented}/${outcome.seeded.total}`,
    );

    phases.end('figures: funnel, outcome, saved claims');

    // The biller records the prior authorizations the payers gave (by phone or portal) for the
    // claims held for want of one: preauthorization ClaimResponses, as POST /fhir/ClaimResponse
    // would store them. The workflow's recheck rebuilds those claims with the numbers.
    const heldForAuth = await claimsHeldFor(store, 'prior-auth');
    if (heldForAuth.length > 0) {
      for (const [i, claim] of heldForAuth.entries()) {
        const dates = (claim.item ?? [])
          .map((it) => it.servicedDate ?? it.servicedPeriod?.start ?? '')
          .sort();
        await store.resources.create(
          SANDBOX_TENANT,
          authorizationOnFile({
            patient: claim.patient.reference ?? '',
            payerId: claim.insurer?.identifier?.value ?? '',
            number: `PA-SBX-${String(1000 + i)}`,
            start: (dates[0] ?? '').slice(0, 10),
            end: '2027-12-31',
            now: run.now(),
          }),
        );
      }
      console.log(
        `\nrecorded ${heldForAuth.length} prior authorization(s) for the claims held for want of one; waiting for the recheck (every ${DEFAULT_RECHECK_MS / 1000} s of the day's clock)...`,
      );
      const before = new Map(heldForAuth.map((c) => [c.id, c.meta.versionId]));
      for (;;) {
        const claims = await all<Claim>(store, 'Claim');
        const moved = claims.filter((c) => before.has(c.id) && c.meta.versionId !== before.get(c.id));
        const inFlight = claims.some((c) => ['built', 'submitting'].includes(claimStateOf(c) ?? ''));
        const submitWaiting = await pendingJobs(store, CLAIM_SUBMIT_QUEUE);
        const buildWaiting = await pendingJobs(store, CLAIM_READY_QUEUE);
        console.log(
          `  ${phases.elapsedS()} s (clock +${(clock.advancedMs() / 1000).toFixed(0)} s): ${moved.length}/${before.size} rebuilt; submissions waiting ${submitWaiting}`,
        );
        const idle = !inFlight && submitWaiting === 0 && buildWaiting === 0;
        if (moved.length === before.size && idle) {
          break;
        }
        if (Date.now() > deadline) {
          throw new Error(`not settled after ${timeoutMs / 1000} s`);
        }
        if (idle) {
          // Nothing happens before the next recheck: move the clock to it.
          await nextSweep(run, clock, deadline, DEFAULT_RECHECK_MS);
        } else {
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await report(store);
    }
    phases.end("the biller's authorizations: recheck, rebuild, resubmit");
    await reportRemittance(run, x12Payer, deadline);
    phases.end('remittance: 837 batches to the X12 payer, its 835s posted');
    await reportRecovery(run, config, dir);
    phases.end('ending: appeals, statement run, analytics');
  } finally {
    await run.stop();
    if (!keepDataFolder()) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  phases.end('stop');
  console.log(`\n${phases.summary()}`);
  return phases;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // From the process start: loading the modules and the FHIR definitions is part of the day's time.
  runSandboxDay({
    patients: process.env['SANDBOX_PATIENTS'] ?? '36',
    timeoutMs: Number(process.env['SANDBOX_DAY_TIMEOUT_S'] ?? '300') * 1000,
    since: performance.timeOrigin,
    realTime: process.env['SANDBOX_DAY_REAL_TIME'] === '1' || process.argv.includes('--real-time'),
  }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
