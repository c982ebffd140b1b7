/**
 * `dripline remit [--tenant <id>] <file.835>...`
 *
 * Receives payers' 835 files from disk the way `POST /api/remittance/835` does (streamed, balanced,
 * duplicate and payee checks, the same verdicts) and posts them at once in this process, printing
 * progress on standard error (bytes read, claim payments posted) and a JSON summary per file on
 * standard output. Exit 0 when every file was accepted or already received; 4 when one was
 * rejected or refused (its findings name the rule, the segment and its position).
 */
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { DriplineConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/port.ts';
import type { IntakeResult } from '../remittance/intake.ts';
import { receiveRemittance } from '../remittance/intake.ts';
import { createRemittance } from '../remittance/wiring.ts';
import { loadCodingTables } from '../coding/tables/load.ts';
import { createReferenceRates } from '../remittance/contracts/references.ts';
import type { WorkEngineDeps } from '../remittance/work/engine.ts';
import { createPaymentEvaluator, createRemittanceWorkHook } from '../remittance/work/engine.ts';
import { UsageError } from './client-command.ts';
import { chosenTenant } from './tenant-option.ts';
import { parseCommandLine } from './args.ts';

export const REMIT_USAGE = `Usage: dripline remit [--tenant <id>] <file.835>...

Receives and posts payers' 835 remittance files (X12 005010X221A1) for a tenant (default: the only
one configured), as POST /api/remittance/835 does; progress on stderr, a JSON summary per file on stdout.`;

export interface RemitArgs {
  readonly tenant?: string;
  readonly files: readonly string[];
}

export function parseRemitArgs(argv: string[]): RemitArgs {
  const parsed = parseCommandLine(argv, { tenant: { type: 'string' } }, REMIT_USAGE);
  if (parsed.positionals.length === 0) {
    throw new UsageError('remit needs at least one 835 file');
  }
  return {
    ...(parsed.values.tenant ? { tenant: parsed.values.tenant } : {}),
    files: parsed.positionals,
  };
}

export interface RemitSummary {
  readonly file: string;
  readonly outcome: IntakeResult['outcome'];
  readonly document?: string;
  readonly transactions: readonly {
    readonly transaction: number;
    readonly action: string;
    readonly trace?: string;
    readonly claims: number;
    readonly findings: readonly { rule: string; message: string; segment?: number; segmentId?: string }[];
  }[];
  readonly refused?: { rule: string; message: string; segment?: number };
  readonly posted: number;
  readonly unmatched: number;
}

/** Receives and posts each file in turn; `progress` gets one line at a time. */
export async function runRemit(
  args: RemitArgs,
  config: DriplineConfig,
  store: Store,
  logger: Logger,
  progress: (line: string) => void,
  now: () => Date = () => new Date(),
): Promise<RemitSummary[]> {
  const tenant = chosenTenant(config, args.tenant).id;
  // Posted as the server posts: work items (denials, underpayments) and expected vs paid on each EOB.
  const work: WorkEngineDeps = {
    tenants: () => config.tenants,
    references: createReferenceRates(loadCodingTables().cms),
    publicUrl: config.publicUrl,
  };
  const remittance = createRemittance({
    store,
    logger,
    publicUrl: config.publicUrl,
    dataDir: config.dataDir,
    tenants: () => config.tenants,
    tokenService: { verifyAccessToken: () => Promise.reject(new Error('no HTTP here')) },
    leaseMs: config.jobLeaseMs,
    now,
    hooks: [createRemittanceWorkHook(work)],
    evaluate: createPaymentEvaluator(work),
  });
  const summaries: RemitSummary[] = [];
  for (const file of args.files) {
    const name = path.basename(file);
    const size = statSync(file).size;
    let read = 0;
    let reported = 0;
    // Progress counted as the intake takes each chunk: a 'data' listener would set the stream
    // flowing before the intake iterates it, and a small file's only chunk was lost (refused as
    // an empty interchange) whenever it came first.
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        const bytes = chunk as Buffer;
        read += bytes.length;
        if (read - reported >= Math.max(size / 20, 1 << 20) || read === size) {
          reported = read;
          progress(
            `${name}: read ${Math.round((read / Math.max(size, 1)) * 100)}% (${read} of ${size} bytes)`,
          );
        }
        yield bytes;
      }
    };
    const result = await receiveRemittance(remittance.intake, tenant, counted(), { source: 'cli', name });
    let posted = 0;
    let unmatched = 0;
    if (result.outcome === 'accepted') {
      // Post now, in this process: the same jobs the server's worker would run.
      for (;;) {
        const step = await remittance.worker.runStep();
        if (step === undefined) {
          break;
        }
        posted += step.posted;
        unmatched += step.unmatched;
        progress(`${name}: posted ${posted} claim payment(s), ${unmatched} to the unmatched queue`);
      }
    }
    summaries.push({
      file,
      outcome: result.outcome,
      ...(result.outcome === 'accepted' ? { document: `DocumentReference/${result.document}` } : {}),
      transactions: result.report.transactions.map((t) => ({
        transaction: t.transaction,
        action: t.action,
        ...(t.trace ? { trace: t.trace } : {}),
        claims: t.claims,
        findings: t.findings.map((f) => ({
          rule: f.rule,
          message: f.message,
          ...(f.segment !== undefined ? { segment: f.segment } : {}),
          ...(f.segmentId ? { segmentId: f.segmentId } : {}),
        })),
      })),
      ...(result.report.refused
        ? {
            refused: {
              rule: result.report.refused.rule,
              message: result.report.refused.message,
              ...(result.report.refused.segment !== undefined
                ? { segment: result.report.refused.segment }
                : {}),
            },
          }
        : {}),
      posted,
      unmatched,
    });
  }
  return summaries;
}
