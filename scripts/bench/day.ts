/**
 * The sandbox day benchmark (issue 17 target 5: "the whole day — ingest → coding → coverage →
 * claims → remittance — in ≤ 2 minutes with an accelerated clock, same results as real time").
 *
 *   npm run bench:day           # SANDBOX_PATIENTS=36, as `npm run sandbox:day`
 *
 * Runs `npm run sandbox:day`'s day in this process (its printout and phase breakdown included;
 * the modules are loaded before it, so its time starts at the parties' start), then, as the
 * same-run baseline, starts the same parties alone — sandbox EHR (seeded, not replaying), payers,
 * Dripline, until its subscriptions at the EHR are active — and stops them: the ratio says how many "starts" the day's work costs. Peak RSS is
 * this process's high-water mark (the day and the baseline, one after the other).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/http/free-port.ts';
import { createLogger } from '../../src/logger.ts';
import { runSandbox, waitForActiveSubscriptions } from '../../src/sandbox/index.ts';
import { runSandboxDay } from '../sandbox-day.ts';
import { recordFigure } from './results.ts';
import { localSandboxConfig } from '../../src/sandbox/local-config.ts';

const TARGET_MS = 120_000;

/**
 * The sandbox parties started as the day starts them, until Dripline's subscriptions at the EHR
 * are active (where the day's replay begins), then stopped: ms.
 */
async function partiesAlone(patients: string): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-day-'));
  const port = await freePort();
  const config = localSandboxConfig({ dataDir: dir, port, patients: Number(patients), replaySpeed: -1 });
  const started = performance.now();
  try {
    const run = await runSandbox(config, createLogger('warn'), {
      claims: false,
      sandboxPriorAuth: {},
      sandboxX12Payer: { delayMs: 2000 },
    });
    if (!(await waitForActiveSubscriptions(run.server, 60_000))) {
      throw new Error('the sandbox subscriptions did not become active');
    }
    await run.ehr.idle();
    await run.stop();
    return performance.now() - started;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const patients = process.env['SANDBOX_PATIENTS'] ?? '36';
  const phases = await runSandboxDay({ patients });
  const dayMs = phases.totalMs();
  const baselineMs = await partiesAlone(patients);
  console.log(
    `\nbench:day: the day ${(dayMs / 1000).toFixed(1)} s; the parties started alone ${(baselineMs / 1000).toFixed(1)} s ` +
      `(ratio ${(dayMs / baselineMs).toFixed(1)})`,
  );
  recordFigure({
    bench: 'day',
    figure: `sandbox day, ${patients} patients, accelerated clock (wall)`,
    value: Math.round(dayMs) / 1000,
    unit: 's',
    baseline: { name: 'the parties started alone', value: Math.round(baselineMs) / 1000 },
    target: '≤ 120 s',
    met: dayMs <= TARGET_MS,
  });
  for (const phase of phases.phases()) {
    recordFigure({
      bench: 'day',
      figure: `phase: ${phase.name}`,
      value: Math.round(phase.ms) / 1000,
      unit: 's',
    });
  }
}

await main();
