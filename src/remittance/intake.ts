/**
 * Receiving an 835 (from the API, the command line or a tenant's inbox), in one streaming pass:
 * the bytes go to a spool file as they arrive while the reader (src/x12/835) parses and balances
 * them, so a file of any size is never held in memory. Then, per transaction set, a verdict:
 *
 * - `rejected`: it broke a rule (balancing, a bad amount or date, an unknown segment...), its
 *   payee is not this tenant's billing provider, its payer is not one of the tenant's payers, or
 *   its payer and trace number were received before with other amounts (a conflict);
 * - `duplicate`: the same payer, trace number and amounts were received before (whatever the
 *   delimiters, line breaks or envelopes): nothing changes;
 * - `post`: it will be posted.
 *
 * An input that is not well-formed X12 or whose envelopes do not check out (counts, controls, an
 * interchange cut short) is refused whole: nothing is kept. When something is to be posted, the
 * spool file is synced and kept, and a DocumentReference describing it (with the verdicts) is
 * written in one transaction with the posting job (./post-file.ts): acknowledged means durable.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DocumentReference } from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import type { Store, TenantId } from '../store/port.ts';
import { read835 } from '../x12/835/read835.ts';
import type { Finding835, TransactionSummary835 } from '../x12/835/types.ts';
import { X12SyntaxError } from '../x12/parse.ts';
import { amountsKey, identifyPayer, payeeProblem, reconciliationId, remittanceKey } from './identity.ts';
import { REMITTANCE_POST_QUEUE, remittancePostKey } from './jobs.ts';
import type { RemittancePostJob } from './jobs.ts';
import { ID_REMITTANCE_AMOUNTS, ID_REMITTANCE_FILE, ID_REMITTANCE } from '../contract/remittance.ts';

export const EDI_X12 = 'application/edi-x12';

/** What was concluded of one transaction set. */
export interface TransactionVerdict {
  readonly transaction: number;
  /** ST02, and the interchange it came in (ISA13). */
  readonly controlNumber: string;
  readonly interchange: string;
  readonly action: 'post' | 'duplicate' | 'rejected';
  readonly trace?: string;
  /** The tenant payer that paid (config id). */
  readonly payer?: string;
  readonly key?: string;
  readonly amountsKey?: string;
  /** The PaymentReconciliation it is (or was) posted as. */
  readonly reconciliation?: string;
  readonly claims: number;
  readonly paid: number;
  readonly payment?: number;
  readonly findings: readonly Finding835[];
  readonly errorCount: number;
  readonly warningCount: number;
}

export interface RemittanceReport {
  readonly received: string;
  readonly source: string;
  readonly name?: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The input was not well-formed X12 (or its envelopes failed): the fault, and nothing was kept. */
  readonly refused?: Finding835;
  readonly transactions: readonly TransactionVerdict[];
}

export type IntakeResult =
  | { readonly outcome: 'accepted'; readonly document: string; readonly report: RemittanceReport }
  | { readonly outcome: 'duplicate' | 'rejected' | 'refused'; readonly report: RemittanceReport };

/** The input is larger than the configured limit: nothing was kept. */
export class RemittanceTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`the remittance is larger than ${limit} bytes`);
    this.name = 'RemittanceTooLargeError';
    this.limit = limit;
  }
}

export interface IntakeDeps {
  readonly store: Store;
  /** Where received files are kept: `{remittanceDir}/{tenant}/files/{id}.835`. */
  readonly remittanceDir: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly now: () => Date;
  readonly maxBytes: number;
  /** Called when a posting job was enqueued (wakes the worker). */
  readonly notify?: () => void;
}

/** Where a tenant's received files are kept. */
export function filesDir(remittanceDir: string, tenant: TenantId): string {
  return path.join(remittanceDir, tenant, 'files');
}

/** The spool file of a received remittance (DocumentReference id). */
export function fileOf(remittanceDir: string, tenant: TenantId, document: string): string {
  return path.join(filesDir(remittanceDir, tenant), `${document}.835`);
}

/** The report kept with a received file. */
export function reportOf(document: DocumentReference): RemittanceReport | undefined {
  const data = document.content.find((c) => c.attachment.contentType === 'application/json')?.attachment.data;
  return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as RemittanceReport) : undefined;
}

/** Previously received remittances with this identity: their amounts fingerprints. */
async function receivedBefore(store: Store, tenant: TenantId, key: string): Promise<string[]> {
  const found = await store.resources.search(tenant, {
    resourceType: 'DocumentReference',
    filters: [{ code: 'identifier', kind: 'token', values: [{ system: ID_REMITTANCE, value: key }] }],
    sort: [],
    count: 100,
    offset: 0,
    total: false,
  });
  return found.resources.flatMap((d) =>
    ((d as DocumentReference).identifier ?? [])
      .filter((i) => i.system === ID_REMITTANCE_AMOUNTS && i.value?.startsWith(`${key}|`))
      .map((i) => (i.value ?? '').slice(key.length + 1)),
  );
}

function verdictOf(
  summary: TransactionSummary835,
  tenant: TenantConfig | undefined,
  seen: Map<string, string>,
  earlier: string[],
): TransactionVerdict {
  const header = summary.header;
  const findings = [...summary.findings];
  let errors = summary.errorCount;
  const reject = (rule: string, message: string): void => {
    errors++;
    findings.unshift({
      severity: 'error',
      rule,
      message,
      ...(header ? { segment: header.segment, segmentId: 'ST' } : {}),
    });
  };
  const base = {
    transaction: summary.transaction,
    controlNumber: header?.controlNumber ?? '',
    interchange: header?.envelope.interchangeControlNumber ?? '',
    claims: summary.claims,
    paid: summary.totalPaid,
    ...(header
      ? {
          payment: header.payment.creditDebit === 'D' ? -header.payment.amount : header.payment.amount,
          trace: header.trace.number,
        }
      : {}),
  };
  if (!header) {
    return {
      ...base,
      action: 'rejected',
      findings,
      errorCount: Math.max(errors, 1),
      warningCount: summary.warningCount,
    };
  }
  const payee = payeeProblem(header, tenant?.billing);
  if (payee) {
    reject('payee', payee);
  }
  const payer = identifyPayer(header, tenant?.payers ?? []);
  if (!payer) {
    reject(
      'payer',
      `the payer (${header.payer.name ?? 'unnamed'}) is not one of the tenant's payers: no configured payer id matches REF*2U, N1*PR04, TRN03 or BPR10`,
    );
  }
  if (errors > 0 || !payer) {
    return {
      ...base,
      ...(payer ? { payer: payer.id } : {}),
      action: 'rejected',
      findings,
      errorCount: errors,
      warningCount: summary.warningCount,
    };
  }
  const key = remittanceKey(payer.id, header.trace.number);
  const amounts = amountsKey(summary);
  const before = seen.get(key);
  const known = before !== undefined ? [before, ...earlier] : earlier;
  const verdict = {
    ...base,
    payer: payer.id,
    key,
    amountsKey: amounts,
    reconciliation: reconciliationId(key),
  };
  if (known.includes(amounts)) {
    return { ...verdict, action: 'duplicate', findings, errorCount: 0, warningCount: summary.warningCount };
  }
  if (known.length > 0) {
    reject(
      'conflict',
      `payer ${payer.id} and trace number ${header.trace.number} were received before with other amounts (${known[0] ?? ''}; now ${amounts}): a person must decide which stands`,
    );
    return {
      ...verdict,
      action: 'rejected',
      findings,
      errorCount: errors,
      warningCount: summary.warningCount,
    };
  }
  seen.set(key, amounts);
  return { ...verdict, action: 'post', findings, errorCount: 0, warningCount: summary.warningCount };
}

/** Receives one remittance input (module comment). */
export async function receiveRemittance(
  deps: IntakeDeps,
  tenant: TenantId,
  input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  meta: { readonly source: string; readonly name?: string },
): Promise<IntakeResult> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const dir = filesDir(deps.remittanceDir, tenant);
  mkdirSync(dir, { recursive: true });
  const id = `remit-${randomUUID()}`;
  const spool = path.join(dir, `${id}.part`);
  const received = deps.now().toISOString();
  const hash = createHash('sha256');
  const sha1 = createHash('sha1');
  let bytes = 0;
  const handle = await open(spool, 'wx', 0o600);
  const verdicts: TransactionVerdict[] = [];
  const seen = new Map<string, string>();
  let refused: Finding835 | undefined;
  try {
    const maxBytes = deps.maxBytes;
    const tee = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of input) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        bytes += buffer.length;
        if (bytes > maxBytes) {
          throw new RemittanceTooLargeError(maxBytes);
        }
        hash.update(buffer);
        sha1.update(buffer);
        await handle.write(buffer);
        // Handed to the reader whole: it decodes a piece at a time and hands out each claim
        // payment as its segments complete it (test/remittance/intake-memory.test.ts).
        yield buffer;
      }
    };
    try {
      for await (const event of read835(tee())) {
        if (event.type !== 'summary') {
          continue;
        }
        const summary = event.summary;
        const key = summary.header && config ? identifyPayer(summary.header, config.payers) : undefined;
        const earlier =
          key && summary.header
            ? await receivedBefore(deps.store, tenant, remittanceKey(key.id, summary.header.trace.number))
            : [];
        verdicts.push(verdictOf(summary, config, seen, earlier));
      }
    } catch (err) {
      if (!(err instanceof X12SyntaxError)) {
        throw err;
      }
      const at = /segment (\d+) \(([A-Z0-9]{2,3})\)/.exec(err.message);
      refused = {
        severity: 'error',
        rule: /^X12 syntax at character \d+: segment \d+ \(/.test(err.message) ? 'envelope' : 'syntax',
        message: err.message,
        ...(at ? { segment: Number(at[1]), segmentId: at[2] } : {}),
      };
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(spool, { force: true });
    throw err;
  }
  await handle.close();
  const report: RemittanceReport = {
    received,
    source: meta.source,
    ...(meta.name ? { name: meta.name } : {}),
    bytes,
    sha256: hash.digest('hex'),
    ...(refused ? { refused } : {}),
    transactions: refused ? [] : verdicts,
  };
  const toPost = refused ? [] : verdicts.filter((v) => v.action === 'post');
  if (toPost.length === 0) {
    await rm(spool, { force: true });
    const duplicates = verdicts.some((v) => v.action === 'duplicate');
    const rejected = verdicts.some((v) => v.action === 'rejected');
    const outcome = refused ? 'refused' : duplicates && !rejected ? 'duplicate' : 'rejected';
    return { outcome, report };
  }
  await rename(spool, fileOf(deps.remittanceDir, tenant, id));
  const document: DocumentReference & { id: string } = {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    docStatus: 'final',
    identifier: [
      { system: ID_REMITTANCE_FILE, value: report.sha256 },
      ...toPost.flatMap((v) => [
        { system: ID_REMITTANCE, value: v.key ?? '' },
        { system: ID_REMITTANCE_AMOUNTS, value: `${v.key ?? ''}|${v.amountsKey ?? ''}` },
      ]),
    ],
    type: { text: 'X12 005010X221A1 835 remittance' },
    date: received,
    description: `${meta.source}${meta.name ? ` ${meta.name}` : ''}: ${verdicts.length} transaction set(s): ${toPost.length} to post, ${verdicts.filter((v) => v.action === 'duplicate').length} duplicate, ${verdicts.filter((v) => v.action === 'rejected').length} rejected`,
    content: [
      {
        attachment: {
          contentType: EDI_X12,
          url: `remittance-files/${tenant}/${id}.835`,
          size: bytes,
          hash: sha1.digest('base64'),
          title: meta.name ?? `${id}.835`,
          creation: received,
        },
      },
      {
        attachment: {
          contentType: 'application/json',
          data: Buffer.from(JSON.stringify(report), 'utf8').toString('base64'),
          title: 'report.json',
        },
      },
    ],
  };
  const job: RemittancePostJob = { document: id };
  await deps.store.resources.writeBatch(tenant, [
    { op: 'create', resource: document, options: { id } },
    {
      op: 'enqueue',
      job: { queue: REMITTANCE_POST_QUEUE, key: remittancePostKey(job), payload: job, maxAttempts: 20 },
    },
  ]);
  deps.notify?.();
  return { outcome: 'accepted', document: id, report };
}
