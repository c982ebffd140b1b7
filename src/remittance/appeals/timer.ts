/**
 * The appeal deadline sweep on a timer (config `appealSweepMs`, default hourly; 0: off): every
 * tenant's open appeals are warned at 30 and 7 days left and escalated when missed without anyone
 * calling the API. The sweep is idempotent (./sweep.ts), so a sweep repeated after a restart, or
 * beside one asked for by the API, changes nothing twice. The first sweep runs at start; a sweep
 * still running when the next is due is not doubled; a failure is logged and the next one tries
 * again.
 */
import type { Logger } from '../../logger.ts';
import type { AppealDeps } from './actions.ts';
import type { SweepReport } from './sweep.ts';
import { sweepAppealDeadlines } from './sweep.ts';

export class AppealSweepTimer {
  readonly #deps: AppealDeps;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Sweeps finished since start (for tests and the log). */
  sweeps = 0;

  constructor(deps: AppealDeps, intervalMs: number, logger: Logger) {
    this.#deps = deps;
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  start(): void {
    if (this.#intervalMs <= 0 || this.#timer) {
      return;
    }
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    await this.#running;
  }

  #tick(): void {
    if (this.#running) {
      return;
    }
    this.#running = this.#sweepAll().finally(() => {
      this.#running = undefined;
    });
  }

  async #sweepAll(): Promise<void> {
    for (const tenant of this.#deps.tenants()) {
      try {
        const report: SweepReport = await sweepAppealDeadlines(this.#deps, tenant.id);
        if (report.warned.length > 0 || report.missed.length > 0) {
          this.#logger.info(
            { tenant: tenant.id, warned: report.warned.length, missed: report.missed.length },
            'appeal deadlines swept',
          );
        }
      } catch (err) {
        this.#logger.error({ tenant: tenant.id, err }, 'appeal deadline sweep failed; the next one retries');
      }
    }
    this.sweeps += 1;
  }
}
