/**
 * Posting a received 835 file (one job, ./jobs.ts): the file is read again as a stream, and the
 * transaction sets its verdicts say to post (./intake.ts) are posted claim payment by claim
 * payment (./post-claim-payment.ts), then each as a PaymentReconciliation (./reconciliation.ts)
 * written with its last batch. A job posts at most `limit` claim payments and enqueues the next
 * one (starting where it stopped, with the point in the file to resume reading at:
 * src/x12/835/resume835.ts) in the transaction of its last batch: a file of any size is posted in
 * short steps, parsed once in all, each step resumable after a crash (payments already posted are
 * found by their stable ids and skipped). The reconciliation's details of payments an earlier job
 * posted are read back from their EOBs. Nothing of a rejected or duplicate transaction set is
 * posted.
 */
import { createReadStream } from 'node:fs';
import type { DocumentReference, ExplanationOfBenefit, PaymentReconciliation } from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import type { BatchOperation, StoredResource, TenantId } from '../store/port.ts';
import { read835Resumable } from '../x12/835/resume835.ts';
import type { Header835 } from '../x12/835/types.ts';
import { fromClaimPayment835 } from './claim-payment.ts';
import { claimPaymentId, reconciliationId } from './identity.ts';
import { fileOf, reportOf } from './intake.ts';
import type { TransactionVerdict } from './intake.ts';
import type { RemittancePostJob } from './jobs.ts';
import { REMITTANCE_POST_QUEUE, remittancePostKey } from './jobs.ts';
import type { PaymentSource, PostingContext, PostResult } from './post-claim-payment.ts';
import { ClaimPaymentWriter } from './post-claim-payment.ts';
import type { ClaimPaymentDetail } from './reconciliation.ts';
import { buildPaymentReconciliation } from './reconciliation.ts';
import { isNotFound, readOptional } from '../store/read-optional.ts';
import { ID_PATIENT_CONTROL_NUMBER } from '../contract/remittance.ts';

export interface FilePostingContext extends PostingContext {
  readonly remittanceDir: string;
  readonly tenants: () => readonly TenantConfig[];
  /** Claim payments per job (default 5,000) and per transaction (default 64). */
  readonly paymentsPerJob?: number;
  readonly batchSize?: number;
  /** Called after each written batch with the claim payments handled so far in this job. */
  readonly onProgress?: (handled: number) => void;
}

export interface FilePostingResult {
  readonly posted: number;
  readonly unmatched: number;
  readonly already: number;
  readonly reconciliations: readonly string[];
  /** The job that continues the file, when this one stopped before its end. */
  readonly next?: RemittancePostJob;
}

async function exists(ctx: PostingContext, tenant: TenantId, type: string, id: string): Promise<boolean> {
  try {
    await ctx.store.resources.read(tenant, type, id);
    return true;
  } catch (err) {
    if (isNotFound(err)) {
      return false;
    }
    throw err;
  }
}

/**
 * The details of the first `count` payments of a transaction set, which earlier jobs of this file
 * posted: read back from their EOBs (the patient control number, the amount, the Claim it was
 * matched to; an unmatched one names none). Read at the transaction set's end only, a few at a time.
 */
async function earlierDetails(
  ctx: PostingContext,
  tenant: TenantId,
  key: string,
  count: number,
): Promise<ClaimPaymentDetail[]> {
  const details: ClaimPaymentDetail[] = [];
  for (let first = 1; first <= count; first += 32) {
    const positions = Array.from({ length: Math.min(32, count - first + 1) }, (_, i) => first + i);
    details.push(
      ...(await Promise.all(
        positions.map(async (position): Promise<ClaimPaymentDetail> => {
          const id = claimPaymentId(key, position);
          const eob = await ctx.store.resources.read(tenant, 'ExplanationOfBenefit', id);
          if (eob.resourceType !== 'ExplanationOfBenefit') {
            throw new Error(`ExplanationOfBenefit/${id} is not an ExplanationOfBenefit`);
          }
          const claim = eob.claim?.reference?.replace(/^Claim\//, '');
          return {
            eob: id,
            ...(claim ? { claim } : {}),
            patientControlNumber:
              eob.identifier?.find((i) => i.system === ID_PATIENT_CONTROL_NUMBER)?.value ?? '',
            paid: eob.payment?.amount?.value ?? 0,
          };
        }),
      )),
    );
  }
  return details;
}

const before = (
  a: { transaction: number; position: number },
  b: { transaction: number; position: number },
): boolean => a.transaction < b.transaction || (a.transaction === b.transaction && a.position < b.position);

/** Runs one posting job of a received file. */
export async function postRemittanceFile(
  ctx: FilePostingContext,
  tenant: TenantId,
  job: RemittancePostJob,
): Promise<FilePostingResult> {
  const document = (await ctx.store.resources.read(
    tenant,
    'DocumentReference',
    job.document,
  )) as DocumentReference & StoredResource;
  const report = reportOf(document);
  if (!report) {
    throw new Error(`DocumentReference/${job.document} carries no remittance report`);
  }
  const config = ctx.tenants().find((t) => t.id === tenant);
  const verdicts = new Map<number, TransactionVerdict>(report.transactions.map((v) => [v.transaction, v]));
  const from = job.from ?? { transaction: 1, position: 1 };
  const limit = ctx.paymentsPerJob ?? 5_000;
  const writer = new ClaimPaymentWriter(ctx, tenant, ctx.batchSize ?? 64);
  const reconciliations: string[] = [];
  let handled = 0;
  let lastReported = 0;
  let current:
    | {
        verdict: TransactionVerdict;
        header: Header835;
        source: PaymentSource;
        /** The details of the payments this job read. */
        details: ClaimPaymentDetail[];
        /** Payments of the set an earlier job posted (its first ones; read back at the end). */
        earlier: number;
      }
    | undefined;
  let next: RemittancePostJob | undefined;
  const progress = (): void => {
    if (handled - lastReported >= (ctx.batchSize ?? 64)) {
      lastReported = handled;
      ctx.onProgress?.(handled);
    }
  };
  const file = fileOf(ctx.remittanceDir, tenant, job.document);
  const open = (start: number): AsyncIterable<Uint8Array> =>
    createReadStream(file, { start, highWaterMark: 16 * 1024 });
  for await (const event of read835Resumable(open, from.resume)) {
    if (event.type === 'header') {
      const verdict = verdicts.get(event.header.transaction);
      const payer = config?.payers.find((p) => p.id === verdict?.payer);
      current =
        verdict?.action === 'post' && verdict.key && payer && event.header.transaction >= from.transaction
          ? {
              verdict,
              header: event.header,
              details: [],
              // A resumed read starts after the payments of this set an earlier job posted.
              earlier: from.resume && event.header.transaction === from.transaction ? from.position - 1 : 0,
              source: {
                tenant,
                payer,
                remittance: { id: reconciliationId(verdict.key), trace: event.header.trace.number },
                ...(event.header.payee.idQualifier === 'XX' && event.header.payee.id
                  ? { payeeNpi: event.header.payee.id }
                  : {}),
              },
            }
          : undefined;
      if (verdict?.action === 'post' && !payer) {
        throw new Error(
          `payer ${verdict.payer ?? '?'} of transaction set ${event.header.transaction} is no longer configured`,
        );
      }
      continue;
    }
    if (!current) {
      continue;
    }
    if (event.type === 'claim') {
      const claim = event.claim;
      const at = { transaction: claim.transaction, position: claim.position };
      if (before(at, from)) {
        current.earlier++;
        continue; // posted by an earlier job of this file (read from the start: no resume point)
      }
      if (handled >= limit) {
        next = { document: job.document, from: { ...at, ...(event.resume ? { resume: event.resume } : {}) } };
        break;
      }
      const eob = claimPaymentId(current.verdict.key ?? '', claim.position);
      const detail: ClaimPaymentDetail = {
        eob,
        patientControlNumber: claim.patientControlNumber,
        paid: claim.paid,
      };
      const posted = await writer.add(
        fromClaimPayment835(claim, current.header.payment.date),
        eob,
        current.source,
      );
      const matched = posted.kind === 'unmatched' ? undefined : posted.claim;
      current.details.push(matched ? { ...detail, claim: matched } : detail);
      handled++;
      progress();
      continue;
    }
    // The transaction set's summary: its last payments and its PaymentReconciliation together.
    const { verdict, header, details } = current;
    const id = reconciliationId(verdict.key ?? '');
    const extra: BatchOperation[] = [];
    if (!(await exists(ctx, tenant, 'PaymentReconciliation', id))) {
      const earlier = await earlierDetails(ctx, tenant, verdict.key ?? '', current.earlier);
      // An unmatched payment of this job a biller has matched since (./manual-match.ts) names its
      // claim now; those of the batch not yet written cannot have been matched.
      for (const [i, detail] of details.entries()) {
        const eob =
          detail.claim === undefined
            ? await readOptional<ExplanationOfBenefit>(ctx.store, tenant, 'ExplanationOfBenefit', detail.eob)
            : undefined;
        const claim = eob?.claim?.reference?.replace(/^Claim\//, '');
        if (claim) {
          details[i] = { ...detail, claim };
        }
      }
      const reconciliation: PaymentReconciliation & { id: string } = buildPaymentReconciliation({
        id,
        key: verdict.key ?? '',
        amountsKey: verdict.amountsKey ?? '',
        header,
        payer: { id: current.source.payer.id, name: current.source.payer.name },
        claims: earlier.concat(details),
        providerAdjustments: event.summary.providerAdjustments,
        file: job.document,
        created: ctx.now().toISOString(),
      });
      extra.push({ op: 'create', resource: reconciliation, options: { id } });
    }
    await writer.flush(extra);
    reconciliations.push(id);
    current = undefined;
  }
  await writer.flush(
    next
      ? [
          {
            op: 'enqueue',
            job: {
              queue: REMITTANCE_POST_QUEUE,
              key: remittancePostKey(next),
              payload: next,
              maxAttempts: 20,
            },
          },
        ]
      : [],
  );
  ctx.onProgress?.(handled);
  const count = (kind: PostResult['kind']): number => writer.results.filter((r) => r.kind === kind).length;
  return {
    posted: count('posted'),
    unmatched: count('unmatched'),
    already: count('already'),
    reconciliations,
    ...(next ? { next } : {}),
  };
}
