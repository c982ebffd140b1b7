/**
 * X12 channel hand-over: the `ready` claims of an X12-channel payer become one 837 batch file for
 * the clearinghouse, kept as a DocumentReference (the file itself as its attachment, with size and
 * SHA-1) and the claims move to `submitted` in the same transaction. Downloading the batch again
 * gives the same bytes, so a lost response loses nothing; a claim is in at most one batch.
 *
 * The 835 remittance that moves the claims on is posted by src/remittance; acknowledgments
 * (999 / 277CA) are not read yet.
 */
import { createHash } from 'node:crypto';
import type { DocumentReference } from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import type { TenantId } from '../store/port.ts';
import { kindFor, write837 } from '../x12/837/write837.ts';
import type { X12Kind } from '../x12/837/types.ts';
import type { ClaimContext } from './types.ts';
import { ClaimConflictError } from './workflow/submission.ts';
import type { ClaimWorkflowWorker } from './workflow/worker.ts';
import { EDI_X12 } from './x12-routes.ts';
import type { X12RouterDeps } from './x12-routes.ts';
import { ID_X12_INTERCHANGE } from '../contract/canonical.ts';

/** At most this many claims go in one batch file (a later call takes the rest). */
export const MAX_BATCH_CLAIMS = 1000;

export interface X12BatchDeps {
  readonly x12: Pick<X12RouterDeps, 'listClaimIds' | 'envelope' | 'loadClaimContext'>;
  readonly workflow: Pick<ClaimWorkflowWorker, 'markSentInBatch'>;
  readonly tenants: () => readonly TenantConfig[];
  readonly now?: () => Date;
}

export type X12BatchResult =
  | {
      readonly ok: true;
      readonly document: string;
      readonly interchangeControlNumber: string;
      readonly kind: X12Kind;
      readonly payer: string;
      readonly claims: readonly string[];
      readonly skipped: readonly string[];
      readonly bytes: number;
    }
  | { readonly ok: false; readonly status: 400 | 404 | 409; readonly message: string };

/** Builds, stores and hands over the batch of `payer`'s ready claims of `kind`. */
export async function createX12Batch(
  deps: X12BatchDeps,
  tenant: TenantId,
  request: { payer: string; kind: X12Kind; clientId: string },
): Promise<X12BatchResult> {
  const now = deps.now ?? ((): Date => new Date());
  const payer = deps
    .tenants()
    .find((t) => t.id === tenant)
    ?.payers.find((p) => p.id === request.payer);
  if (!payer) {
    return { ok: false, status: 404, message: `No payer "${request.payer}" is configured for this tenant` };
  }
  if (payer.channel !== 'x12') {
    return {
      ok: false,
      status: 409,
      message: `${payer.name} is a FHIR-channel payer: its claims are sent by Claim/$submit, not in X12 batches`,
    };
  }
  const ids = (
    await deps.x12.listClaimIds(tenant, { kind: request.kind, payer: payer.id, state: 'ready' })
  ).slice(0, MAX_BATCH_CLAIMS);
  if (ids.length === 0) {
    return { ok: false, status: 404, message: `No ready ${request.kind} claims for ${payer.name}` };
  }
  const skipped: string[] = [];
  const included: string[] = [];
  async function* contexts(): AsyncGenerator<ClaimContext> {
    for (const id of ids) {
      const ctx = await deps.x12.loadClaimContext(tenant, id);
      if (!ctx) {
        skipped.push(`${id}:not-found`);
      } else if (kindFor(ctx) !== request.kind) {
        skipped.push(`${id}:other-kind`);
      } else {
        included.push(id);
        yield ctx;
      }
    }
  }
  const envelope = await deps.x12.envelope(tenant, request.kind, payer.id);
  const at = now();
  let text = '';
  for await (const chunk of write837(contexts(), {
    ...envelope,
    kind: request.kind,
    now: at,
    onError: (id, error) => {
      skipped.push(`${id}:invalid (${error.message})`);
      const at = included.indexOf(id);
      if (at >= 0) {
        included.splice(at, 1);
      }
    },
  })) {
    text += chunk;
  }
  if (included.length === 0) {
    return {
      ok: false,
      status: 409,
      message: `None of the ready claims could be rendered: ${skipped.join(', ')}`,
    };
  }
  const isa = String(envelope.controlNumbers.isa).padStart(9, '0');
  const bytes = Buffer.from(text, 'ascii');
  const id = `x12-${request.kind.toLowerCase()}-${isa}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
  const document: DocumentReference & { id: string } = {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    docStatus: 'final',
    identifier: [{ system: ID_X12_INTERCHANGE, value: isa }],
    type: { text: `X12 005010 ${request.kind} claim batch` },
    date: at.toISOString(),
    description: `${included.length} claim(s) for ${payer.name} (payer id ${payer.payerId}), handed to the clearinghouse`,
    content: [
      {
        attachment: {
          contentType: EDI_X12,
          data: bytes.toString('base64'),
          size: bytes.length,
          hash: createHash('sha1').update(bytes).digest('base64'),
          title: `claims-${isa}.x12`,
          creation: at.toISOString(),
        },
      },
    ],
    context: { related: included.map((c) => ({ reference: `Claim/${c}` })) },
  };
  try {
    await deps.workflow.markSentInBatch(tenant, included, {
      document,
      clientId: request.clientId,
      reason: `handed to the clearinghouse in X12 ${request.kind} batch, interchange ${isa}`,
    });
  } catch (err) {
    if (err instanceof ClaimConflictError) {
      return { ok: false, status: 409, message: `${err.message}: build the batch again` };
    }
    throw err;
  }
  return {
    ok: true,
    document: `DocumentReference/${id}`,
    interchangeControlNumber: isa,
    kind: request.kind,
    payer: payer.id,
    claims: included.map((c) => `Claim/${c}`),
    skipped,
    bytes: bytes.length,
  };
}

/** The 837 file of a stored batch (undefined when the document is not an X12 batch). */
export function batchFileOf(document: DocumentReference): { text: Buffer; title: string } | undefined {
  const attachment = document.content[0]?.attachment;
  if (attachment?.contentType !== EDI_X12 || attachment.data === undefined) {
    return undefined;
  }
  return {
    text: Buffer.from(attachment.data, 'base64'),
    title: attachment.title ?? `${document.id ?? 'batch'}.x12`,
  };
}
