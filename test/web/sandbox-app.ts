/**
 * The browser tests' world: the sandbox (EHR, payers, Dripline) on this test run's clock with its
 * day replayed at once, Dripline on "localhost" and the EHR on 127.0.0.1 — two sites, so the app
 * is a cross-site iframe as in a real EHR — and a Chromium to drive it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DriplineConfig, TenantConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { Logger } from '../../src/logger.ts';
import { runSandbox, SANDBOX_TENANT } from '../../src/sandbox/index.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import type { Clock } from '../../src/time/clock.ts';
import { clockEnv } from '../support/clock.ts';
import { onFreePort } from '../support/free-port-retry.ts';
import type { Browser } from './chromium.ts';
import { launchChromium } from './chromium.ts';
import { localSandboxConfig } from '../../src/sandbox/local-config.ts';

export interface SandboxApp {
  readonly config: DriplineConfig;
  readonly run: SandboxRun;
  readonly browser: Browser;
  /** Where Dripline (and so the app) answers. */
  readonly appUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the sandbox with `patients` patients in a temporary data folder and waits for its day;
 * its logs go to `logger` (at `logLevel`), none by default. `afterReplay` (what the tests wait for
 * in the replayed day) runs while Chromium finishes starting: neither needs the other, and the
 * start of Chromium takes longer than the sandbox's. `now` is the clock every party runs on (else
 * the test run's), `sandboxTenant` settings are added to the sandbox tenant's (e.g. a bill hold),
 * and `browserTimeZone` is Chromium's zone (else the machine's).
 */
export async function startSandboxApp(
  prefix: string,
  patients: number,
  {
    logger = createLogger('silent'),
    logLevel = 'silent',
    afterReplay,
    now,
    sandboxTenant,
    browserTimeZone,
  }: {
    logger?: Logger;
    logLevel?: string;
    afterReplay?: (run: SandboxRun) => Promise<unknown>;
    now?: Clock;
    sandboxTenant?: Partial<TenantConfig>;
    browserTimeZone?: string;
  } = {},
): Promise<SandboxApp> {
  // A parallel test file can take the probed port before the app listens: tried again on another.
  return onFreePort(async (port) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    const appUrl = `http://localhost:${port}`;
    const loaded = localSandboxConfig({
      dataDir: dir,
      port,
      patients,
      logLevel,
      publicHost: 'localhost',
      env: clockEnv(),
    });
    const config: DriplineConfig = sandboxTenant
      ? {
          ...loaded,
          tenants: loaded.tenants.map((t) => (t.id === SANDBOX_TENANT ? { ...t, ...sandboxTenant } : t)),
        }
      : loaded;
    let run: SandboxRun | undefined;
    let browser: Browser | undefined;
    const stop = async (): Promise<void> => {
      await browser?.close();
      await run?.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    // Chromium starts while the sandbox replays its day (neither needs the other).
    const launching = launchChromium(undefined, browserTimeZone ? { timezoneId: browserTimeZone } : {}).then(
      (launched) => (browser = launched),
    );
    try {
      // The claim sweep's timer at its default 5 s: the browser tests read states a faster sweep
      // moves on (a work item's correction-sent before the corrected claim is paid and resolves it),
      // and ask for the sweep they wait on (`claims.sweepNow()`) rather than for the timer.
      run = await runSandbox(config, logger, now ? { now } : {});
      await run.replayed;
      await afterReplay?.(run);
      return { config, run, browser: await launching, appUrl, stop };
    } catch (err) {
      await launching.catch(() => undefined);
      await stop();
      throw err;
    }
  });
}
