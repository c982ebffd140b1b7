/**
 * The configuration of a sandbox run on this machine (`npm run sandbox:day`, its benchmark, the
 * tests that start the whole sandbox): Dripline on 127.0.0.1:`port` with its data in `dataDir`, and
 * the sandbox EHR seeding a day of `patients` patients, replayed at `replaySpeed` (0: all at once,
 * as soon as the subscriptions are active; -1: not replayed). The EHR notifies PUBLIC_URL, so it
 * names the real port; `publicHost` "localhost" makes Dripline another site than the EHR
 * (127.0.0.1), as the billers' app is in a real EHR's iframe.
 */
import { loadConfig } from '../config/config.ts';
import type { DriplineConfig } from '../config/config.ts';

export interface LocalSandboxOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly patients: number;
  readonly replaySpeed?: number;
  readonly logLevel?: string;
  readonly publicHost?: 'localhost' | '127.0.0.1';
  /** More settings (e.g. CLOCK_OFFSET_MS), as environment variables. */
  readonly env?: NodeJS.ProcessEnv;
}

export function localSandboxConfig(options: LocalSandboxOptions): DriplineConfig {
  return loadConfig({
    DATA_DIR: options.dataDir,
    PORT: String(options.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://${options.publicHost ?? '127.0.0.1'}:${options.port}`,
    LOG_LEVEL: options.logLevel ?? 'warn',
    SANDBOX_REPLAY_SPEED: String(options.replaySpeed ?? 0),
    SANDBOX_PATIENTS: String(options.patients),
    ...options.env,
  });
}
