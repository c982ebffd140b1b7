/**
 * How prior authorization requests are kept in the tenant's store, with their version history and
 * an AuditEvent for every write:
 * - a *case* per order and payer (id `pas-…`, derived from tenant, payer and order: the same order never
 *   opens two);
 * - each submission to the payer (the initial request, each Claim Update) is a Claim `{case}-{n}`
 *   with `use = preauthorization`, exactly the Claim sent plus two Dripline extensions — where it
 *   stands (`pas-state`, its versions are its history) and the order version it was built from;
 * - the payer's answer is one ClaimResponse per case (id = the case), a new version for every new
 *   answer (pended → approved...), its `request` pointing at the submission it answers and
 *   `insurer.identifier` at the payer: the preauthorization ClaimResponse src/claims/authorizations.ts
 *   reads, so claims carry its number;
 * - every message as sent or received (request, answer, notification, inquiry) is a DocumentReference
 *   with the exact bytes;
 * - a person's work (a denial, a request for more information, a payer error, an answer that is not
 *   PAS) is a Task per case.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Claim, ClaimResponse, DocumentReference, Resource, Task } from '@medplum/fhirtypes';
import { buildAuditEvent, patientsOf } from '../../fhir/audit.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import type { PasStatus } from './response.ts';
import {
  CS_PRIOR_AUTH_TASK,
  EXT_PAS_PAYER,
  EXT_PAS_SOURCE,
  EXT_PAS_STATE,
  ID_PAS_MESSAGE,
  ID_PAS_PAYER_RESPONSE,
} from '../../contract/pas.ts';

export const PRIOR_AUTH_QUEUE = 'prior-auth';

/** Where a submission stands: prepared (kept, not yet answered), then the payer's answer, or superseded by an update. */
export type PasState = 'prepared' | PasStatus | 'superseded' | 'unanswered';

const sha = (text: string, length = 20): string =>
  createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);

/** The case of an order at a payer; the tenant is part of it, so no two tenants' requests share an id (they travel as Bundle and trace ids). */
export function caseIdFor(tenant: string, payerId: string, order: string): string {
  return `pas-${sha(`${tenant}|${payerId}|${order}`)}`;
}

export const submissionId = (caseId: string, n: number): string => `${caseId}-${n}`;

/** The case a submission id belongs to (the inverse of submissionId). */
export const caseIdOf = (submission: string): string => submission.slice(0, submission.lastIndexOf('-'));

const OWN = new Set<string>([EXT_PAS_STATE, EXT_PAS_SOURCE, EXT_PAS_PAYER]);

export function stateOf(claim: Claim): PasState | undefined {
  return claim.extension?.find((e) => e.url === EXT_PAS_STATE)?.valueCode as PasState | undefined;
}

export function sourceOf(claim: Claim): string | undefined {
  return claim.extension?.find((e) => e.url === EXT_PAS_SOURCE)?.valueString;
}

export function payerOf(claim: Claim): string | undefined {
  return claim.extension?.find((e) => e.url === EXT_PAS_PAYER)?.valueString;
}

/** The Claim as kept: as sent, with where it stands (and, first time, what it was built from and for whom). */
export function withState<T extends Claim>(
  claim: T,
  state: PasState,
  origin?: { source: string; payer: string },
): T {
  const others = (claim.extension ?? []).filter(
    (e) => e.url !== EXT_PAS_STATE && (origin === undefined || !OWN.has(e.url)),
  );
  return {
    ...claim,
    extension: [
      ...others,
      { url: EXT_PAS_STATE, valueCode: state },
      ...(origin
        ? [
            { url: EXT_PAS_SOURCE, valueString: origin.source },
            { url: EXT_PAS_PAYER, valueString: origin.payer },
          ]
        : []),
    ],
  };
}

/** The Claim as sent (Dripline's own extensions removed). */
export function asSent(claim: Claim & { id: string }): Claim & { id: string } {
  const { meta: _meta, ...rest } = claim;
  const extension = (claim.extension ?? []).filter((e) => !OWN.has(e.url));
  return {
    ...rest,
    meta: { profile: claim.meta?.profile ?? [] },
    ...(extension.length > 0 ? { extension } : { extension: undefined }),
  };
}

/** The case's submissions, oldest first. */
export async function submissionsOf(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  caseId: string,
): Promise<(Claim & StoredResource)[]> {
  const out: (Claim & StoredResource)[] = [];
  for (let n = 1; ; n++) {
    try {
      out.push(
        (await store.resources.read(tenant, 'Claim', submissionId(caseId, n))) as Claim & StoredResource,
      );
    } catch {
      return out;
    }
  }
}

export type MessageKind = 'request' | 'answer' | 'notification' | 'inquiry' | 'inquiry-answer';

const KIND_TEXT: Readonly<Record<MessageKind, string>> = {
  request: 'PAS request Bundle sent (Claim/$submit)',
  answer: 'Payer answer to Claim/$submit',
  notification: 'PAS subscription notification received',
  inquiry: 'PAS inquiry Bundle sent (Claim/$inquire)',
  'inquiry-answer': 'Payer answer to Claim/$inquire',
};

/** One message exactly as sent or received. Its id derives from the bytes (the same message is kept once), or is given. */
export const requestDocumentId = (claimId: string): string => `pasreq-${claimId}`;

export function messageDocument(input: {
  /** Default: derived from the bytes. Requests are kept under `requestDocumentId(claim)`. */
  readonly id?: string;
  readonly kind: MessageKind;
  readonly text: string;
  readonly contentType?: string;
  readonly status?: number;
  readonly claim?: string;
  readonly patient?: string;
  readonly now: Date;
}): DocumentReference & { id: string } {
  const id = input.id ?? `pasmsg-${sha(`${input.kind}|${input.claim ?? ''}|${input.text}`, 32)}`;
  const bytes = Buffer.from(input.text, 'utf8');
  return {
    resourceType: 'DocumentReference',
    id,
    identifier: [{ system: ID_PAS_MESSAGE, value: id }],
    status: 'current',
    type: { text: KIND_TEXT[input.kind] },
    ...(input.patient ? { subject: { reference: input.patient } } : {}),
    date: input.now.toISOString(),
    description: `${KIND_TEXT[input.kind]}${input.status !== undefined ? ` (HTTP ${input.status})` : ''}`,
    content: [
      {
        attachment: {
          contentType: input.contentType ?? 'application/fhir+json',
          data: bytes.toString('base64'),
          size: bytes.length,
          hash: createHash('sha1').update(bytes).digest('base64'),
        },
      },
    ],
    ...(input.claim ? { context: { related: [{ reference: input.claim }] } } : {}),
  };
}

/** The text of a kept message. */
export function messageText(document: DocumentReference): string {
  return Buffer.from(document.content[0]?.attachment.data ?? '', 'base64').toString('utf8');
}

export type PasTaskCode =
  | 'denied'
  | 'more-information'
  | 'payer-error'
  | 'payer-refused'
  | 'invalid-answer'
  | 'cannot-request'
  | 'unknown-answer'
  | 'subscription-left';

const TASK_TEXT: Readonly<Record<PasTaskCode, string>> = {
  denied: 'Prior authorization denied',
  'more-information': 'The payer needs more information for a prior authorization',
  'payer-error': 'The payer could not be reached for, or could not process, a prior authorization request',
  'payer-refused': 'The payer refused a prior authorization request',
  'invalid-answer': 'A payer answer is not a valid PAS response',
  'cannot-request': 'A prior authorization request cannot be made',
  'unknown-answer': 'A PAS answer names no request of this tenant',
  'subscription-left': 'A PAS subscription Dripline does not use may be left at the payer',
};

/**
 * Work items about the exchange with the payer, not about what was asked: the payer could not be
 * reached or could not process the request, or its answer could not be read. A readable answer
 * (a pend included) ends their cause; a denial's or a request for more information's stays.
 */
export const EXCHANGE_WORK: ReadonlySet<string> = new Set<PasTaskCode>(['payer-error', 'invalid-answer']);

/** The work item of a case (one per case; a new note on each new reason). */
export function taskWrite(input: {
  readonly id: string;
  readonly code: PasTaskCode;
  readonly note: string;
  readonly focus?: string;
  readonly patient?: string;
  readonly existing?: Task & StoredResource;
  readonly now: Date;
}): BatchOperation {
  const now = input.now.toISOString();
  const task: Task & { id: string } = {
    resourceType: 'Task',
    id: input.id,
    status: 'requested',
    intent: 'order',
    priority: input.code === 'denied' || input.code === 'more-information' ? 'urgent' : 'routine',
    code: { coding: [{ system: CS_PRIOR_AUTH_TASK, code: input.code }], text: TASK_TEXT[input.code] },
    ...(input.focus ? { focus: { reference: input.focus } } : {}),
    ...(input.patient ? { for: { reference: input.patient } } : {}),
    authoredOn: input.existing?.authoredOn ?? now,
    lastModified: now,
    note: [...(input.existing?.note ?? []), { time: now, text: input.note }],
  };
  return input.existing
    ? {
        op: 'update',
        resource: task,
        options: { ifMatchVersion: input.existing.meta.versionId, upsert: false },
      }
    : { op: 'create', resource: task, options: { id: task.id } };
}

/**
 * Writes a work item (a new one, or a note on the one there) with its AuditEvent, as every PAS
 * write; `alongside`: writes of the same transaction the work item is about (a message it names), which
 * the AuditEvent names too.
 */
export async function writeWork(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  at: { readonly payer: string; readonly now: Date; readonly publicUrl: string },
  input: Omit<Parameters<typeof taskWrite>[0], 'existing' | 'now'>,
  alongside: readonly BatchOperation[] = [],
): Promise<void> {
  const existing = await readOptional<Task>(store, tenant, 'Task', input.id);
  const write = taskWrite({ ...input, ...(existing ? { existing } : {}), now: at.now });
  const written = [...alongside, write];
  await store.resources.writeBatch(tenant, [
    ...written,
    auditWrite({
      id: randomUUID(),
      now: at.now,
      payer: at.payer,
      created: !existing,
      resources: written.flatMap((o) => ('resource' in o ? [o.resource] : [])),
      publicUrl: at.publicUrl,
    }),
  ]);
}

/** Closes a case's open work item (the payer has now decided). */
export function taskDone(existing: Task & StoredResource, note: string, now: Date): BatchOperation {
  return {
    op: 'update',
    resource: {
      ...existing,
      status: 'completed',
      lastModified: now.toISOString(),
      note: [...(existing.note ?? []), { time: now.toISOString(), text: note }],
    },
    options: { ifMatchVersion: existing.meta.versionId, upsert: false },
  };
}

/**
 * Completes the payer's work item `taskId` with `note`, and its AuditEvent, when it is still open
 * (a person has not completed or cancelled it); nothing otherwise. The conditional update (the
 * version read) makes a person's change in between win.
 */
export async function completeOpenWorkItem(
  ctx: { readonly store: Store; readonly now: () => Date; readonly publicUrl: string },
  tenant: TenantId,
  payerId: string,
  taskId: string,
  note: string,
): Promise<void> {
  const task = await readOptional<Task>(ctx.store, tenant, 'Task', taskId);
  if (task?.status !== 'requested') {
    return;
  }
  const now = ctx.now();
  const done = taskDone(task, note, now);
  await ctx.store.resources.writeBatch(tenant, [
    done,
    auditWrite({
      id: randomUUID(),
      now,
      payer: payerId,
      created: false,
      resources: 'resource' in done ? [done.resource] : [],
      publicUrl: ctx.publicUrl,
    }),
  ]);
}

/** An AuditEvent for writes of the resources (PHI) Dripline's prior authorization work makes. */
export function auditWrite(input: {
  readonly id: string;
  readonly now: Date;
  readonly payer: string;
  readonly created: boolean;
  readonly resources: readonly Resource[];
  readonly publicUrl: string;
}): BatchOperation {
  const event = buildAuditEvent({
    id: input.id,
    now: input.now,
    interaction: input.created ? 'create' : 'update',
    outcome: '0',
    clientId: `prior-auth/${input.payer}`,
    resources: input.resources.map((r) => `${r.resourceType}/${r.id ?? ''}`),
    patients: input.resources.flatMap((r) => patientsOf(r)),
    publicUrl: input.publicUrl,
  });
  return { op: 'create', resource: event, options: { id: event.id } };
}

/**
 * Dripline's copy of a payer's ClaimResponse: the payer's content, under the case's id, its
 * `request` the submission it answers, its patient Dripline's, its insurer the payer id (what the
 * claims capability matches authorizations by), the payer's own ids kept as identifiers. A
 * cancelled request's answer is `cancelled`: it authorizes nothing any more.
 */
export function responseCopy(input: {
  readonly caseId: string;
  readonly payerResponse: ClaimResponse;
  readonly submission: string;
  readonly patient: string;
  readonly payer: { readonly payerId: string; readonly name: string };
  readonly cancelled: boolean;
}): ClaimResponse & { id: string } {
  const { payerResponse } = input;
  return {
    ...payerResponse,
    id: input.caseId,
    meta: payerResponse.meta?.profile ? { profile: payerResponse.meta.profile } : {},
    identifier: [
      ...(payerResponse.identifier ?? []),
      ...(payerResponse.id ? [{ system: ID_PAS_PAYER_RESPONSE, value: payerResponse.id }] : []),
    ],
    status: input.cancelled ? 'cancelled' : 'active',
    patient: { reference: input.patient },
    insurer: { identifier: { value: input.payer.payerId }, display: input.payer.name },
    request: { reference: `Claim/${input.submission}` },
  };
}
