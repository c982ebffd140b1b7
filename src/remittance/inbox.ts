/**
 * The per-tenant inbox: 835 files dropped (by an SFTP job, a clearinghouse client, a person) into
 * `{remittanceDir}/{tenant}/inbox/` are received like the API's (./intake.ts) and posted.
 *
 * A file is taken once it has not changed for `settleMs` (a writer still copying it is left alone;
 * names starting with `.` or ending in `.part`/`.tmp` are never taken). It is first moved into
 * `inbox/.processing/` (an atomic rename), then received; afterwards it goes to `inbox/done/` —
 * posted or already received — or `inbox/rejected/`, with its report beside it
 * (`<name>.report.json`: the verdict of each transaction set, the findings naming rule, segment and
 * position). After a crash, the files left in `.processing/` are received again: a remittance
 * already received is recognised by payer, trace number and amounts, so nothing posts twice.
 */
import { mkdirSync } from 'node:fs';
import { readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createReadStream } from 'node:fs';
import type { TenantConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import type { IntakeDeps } from './intake.ts';
import { receiveRemittance } from './intake.ts';

export interface InboxDeps {
  readonly intake: IntakeDeps;
  readonly tenants: () => readonly TenantConfig[];
  readonly logger: Logger;
  /** How long a file must stay unchanged before it is taken (default 2 s). */
  readonly settleMs?: number;
  /** How often the inboxes are looked at (default 5 s). */
  readonly pollMs?: number;
  /** Wall clock for the settle test (file times are the file system's). */
  readonly wallClock?: () => number;
}

/** A tenant's inbox directory. */
export function inboxDir(remittanceDir: string, tenant: string): string {
  return path.join(remittanceDir, tenant, 'inbox');
}

const IGNORED = /^\.|\.(part|tmp)$|\.report\.json$/;

export class RemittanceInbox extends LoopingWorker {
  readonly #deps: InboxDeps;

  constructor(deps: InboxDeps) {
    super({ name: 'remittance-inbox', logger: deps.logger, pollMs: deps.pollMs ?? 5_000 });
    this.#deps = deps;
  }

  /** Looks at every tenant's inbox once; returns the number of files received. */
  async runOnce(): Promise<number> {
    let handled = 0;
    for (const tenant of this.#deps.tenants()) {
      handled += await this.#tenant(tenant.id);
    }
    return handled;
  }

  async #tenant(tenant: string): Promise<number> {
    const inbox = inboxDir(this.#deps.intake.remittanceDir, tenant);
    const processing = path.join(inbox, '.processing');
    mkdirSync(processing, { recursive: true });
    const now = (this.#deps.wallClock ?? Date.now)();
    const settle = this.#deps.settleMs ?? 2_000;
    // Files a crash left half-handled first, then the settled new ones.
    const taken: string[] = (await readdir(processing)).filter((n) => !IGNORED.test(n));
    for (const entry of await readdir(inbox, { withFileTypes: true })) {
      if (!entry.isFile() || IGNORED.test(entry.name)) {
        continue;
      }
      const info = await stat(path.join(inbox, entry.name));
      if (now - info.mtimeMs < settle) {
        continue;
      }
      await rename(path.join(inbox, entry.name), path.join(processing, entry.name));
      taken.push(entry.name);
    }
    for (const name of taken) {
      await this.#receive(tenant, inbox, name);
    }
    return taken.length;
  }

  async #receive(tenant: string, inbox: string, name: string): Promise<void> {
    const from = path.join(inbox, '.processing', name);
    const result = await receiveRemittance(
      this.#deps.intake,
      tenant,
      createReadStream(from, { highWaterMark: 1 << 20 }),
      {
        source: 'inbox',
        name,
      },
    ).catch((err: unknown) => {
      // Too large, or the disk failed: the file moves to rejected with what happened.
      return { outcome: 'rejected' as const, error: err instanceof Error ? err.message : String(err) };
    });
    const ok = result.outcome === 'accepted' || result.outcome === 'duplicate';
    const target = path.join(inbox, ok ? 'done' : 'rejected');
    mkdirSync(target, { recursive: true });
    const report = 'report' in result ? result.report : { error: result.error };
    await writeFile(path.join(target, `${name}.report.json`), JSON.stringify(report, null, 2) + '\n');
    await rename(from, path.join(target, name));
    this.#deps.logger.info(
      {
        tenant,
        outcome: result.outcome,
        ...('document' in result ? { document: result.document } : {}),
      },
      'remittance file received from the inbox',
    );
  }
}
