/**
 * How eligibility checks are kept in the tenant's store, each write with an AuditEvent:
 * - the CoverageEligibilityRequest (id `elig-…`, derived from the job and the coverage, so a
 *   retried job keeps it) and the payer's answer as a CoverageEligibilityResponse (`{request}-r`);
 * - every message as sent and as received (the FHIR Bundle, the 270, the answer) as a
 *   DocumentReference with the exact bytes: a retry sends the same bytes again, and an answer
 *   that could not be read is kept as it came;
 * - the work item: one eligibility Task per coverage (or per patient when there is none), refreshed
 *   while the answer has findings, completed when a later answer has none.
 */
import { ID_X12_INTERCHANGE } from '../../contract/canonical.ts';
import { CS_X12_MESSAGE } from '../../contract/eligibility.ts';
import { createHash, randomUUID } from 'node:crypto';
import type {
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  DocumentReference,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { buildAuditEvent, patientsOf } from '../../fhir/audit.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { normalizeReference } from '../../store/search-index.ts';
import type { EligibilitySummary } from './summary.ts';
import { summarize } from './summary.ts';

export const ELIGIBILITY_QUEUE = 'eligibility';
export const ELIGIBILITY_TASK_CODE = 'eligibility-attention';

export const sha = (text: string, length = 24): string =>
  createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);

export const requestIdFor = (jobKey: string, coverage: string): string =>
  `elig-${sha(`${jobKey}|${coverage}`)}`;
export const responseIdFor = (requestId: string): string => `${requestId}-r`;
export const messageIdFor = (requestId: string, what: 'sent' | 'answer'): string => `${requestId}-${what}`;

/** One work item per coverage ("Coverage/id"), or per patient when the patient has none. */
export function eligibilityTaskId(subject: string): string {
  return `task-${sha(`${ELIGIBILITY_TASK_CODE}|${subject}`, 20)}`;
}

/** The create (or update, when `existing`) of a resource, with its AuditEvent. */
export function writeWithAudit(
  resource: Resource & { id: string },
  existing: StoredResource | undefined,
  context: { readonly clientId: string; readonly publicUrl: string; readonly now: Date },
): BatchOperation[] {
  const audit = buildAuditEvent({
    id: randomUUID(),
    now: context.now,
    interaction: existing ? 'update' : 'create',
    outcome: '0',
    clientId: context.clientId,
    resources: [`${resource.resourceType}/${resource.id}`],
    patients: patientsOf(resource),
    publicUrl: context.publicUrl,
  });
  return [
    existing
      ? {
          op: 'update',
          resource,
          options: { ifMatchVersion: existing.meta.versionId, upsert: false },
        }
      : { op: 'create', resource, options: { id: resource.id } },
    { op: 'create', resource: audit, options: { id: audit.id } },
  ];
}

/** A message as sent or received, byte for byte. */
export function messageDocument(input: {
  readonly id: string;
  readonly what: 'sent' | 'answer';
  /** 270/271 for X12; FHIR otherwise. */
  readonly kind: '270' | '271' | 'fhir';
  readonly text: string;
  readonly contentType: string;
  readonly request: string;
  readonly patient: string;
  /** ISA13 of an X12 interchange. */
  readonly interchange?: string;
  readonly now: Date;
  readonly description: string;
}): DocumentReference & { id: string } {
  const bytes = Buffer.from(input.text, 'utf8');
  const at = input.now.toISOString();
  return {
    resourceType: 'DocumentReference',
    id: input.id,
    status: 'current',
    docStatus: 'final',
    ...(input.interchange ? { identifier: [{ system: ID_X12_INTERCHANGE, value: input.interchange }] } : {}),
    type: {
      ...(input.kind !== 'fhir' ? { coding: [{ system: CS_X12_MESSAGE, code: input.kind }] } : {}),
      text:
        input.kind === '270'
          ? 'X12 005010X279A1 270 eligibility inquiry'
          : input.kind === '271'
            ? 'X12 005010X279A1 271 eligibility answer'
            : `FHIR eligibility ${input.what === 'sent' ? 'request' : 'answer'}`,
    },
    subject: { reference: input.patient },
    date: at,
    description: input.description,
    content: [
      {
        attachment: {
          contentType: input.contentType,
          data: bytes.toString('base64'),
          size: bytes.length,
          hash: createHash('sha1').update(bytes).digest('base64'),
          title: `${input.id}.${input.kind === 'fhir' ? 'json' : 'x12'}`,
          creation: at,
        },
      },
    ],
    context: { related: [{ reference: input.request }] },
  };
}

/** The bytes a kept message holds. */
export function messageText(document: DocumentReference): string {
  const data = document.content[0]?.attachment.data;
  return data === undefined ? '' : Buffer.from(data, 'base64').toString('utf8');
}

/** A kept answer and what it says. */
export interface EligibilityAnswer {
  readonly response: CoverageEligibilityResponse & StoredResource;
  readonly summary: EligibilitySummary;
}

/** The stored answers about a patient's coverages: the latest per "Coverage/id", with its summary. */
export async function latestAnswers(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  patient: string,
): Promise<Map<string, EligibilityAnswer>> {
  const filter = [{ code: 'patient', kind: 'reference' as const, values: [patient] }];
  const requests = await searchAll<CoverageEligibilityRequest>(
    store,
    tenant,
    'CoverageEligibilityRequest',
    filter,
  );
  const coverageOf = new Map(
    requests.map((r) => [
      `CoverageEligibilityRequest/${r.id}`,
      normalizeReference(r.insurance?.[0]?.coverage.reference ?? '') ?? '',
    ]),
  );
  const responses = await searchAll<CoverageEligibilityResponse>(
    store,
    tenant,
    'CoverageEligibilityResponse',
    filter,
  );
  const out = new Map<string, EligibilityAnswer>();
  for (const response of responses) {
    const coverage = coverageOf.get(normalizeReference(response.request.reference ?? '') ?? '');
    if (!coverage) {
      continue;
    }
    const known = out.get(coverage);
    // Instants compare as instants: a payer writes `created` with its own offset.
    const instant = (r: CoverageEligibilityResponse): number => Date.parse(r.created ?? '') || 0;
    if (!known || instant(known.response) < instant(response)) {
      out.set(coverage, { response, summary: summarize(response) });
    }
  }
  return out;
}

export function openTask(task: (Task & StoredResource) | undefined): (Task & StoredResource) | undefined {
  return task && task.status !== 'completed' && task.status !== 'cancelled' ? task : undefined;
}

/**
 * What work waiting for a check of the patient (a claim build) waits on: the eligibility worker
 * wakes the jobs deferred with this key (`JobQueue.wake`, in the tenant) when the check ends.
 */
export const eligibilityWaitKey = (patient: string): string => `eligibility-check|${patient}`;

/**
 * Whether an eligibility check of the patient is under way: a job being asked now, or due now and
 * not yet tried (not a pre-visit check waiting for its day), created within the last `withinMs`. A
 * claim about to be scrubbed waits for it a short while, so the scrubber reads the answer it is
 * about to get. A check that has failed and waits for its retry (a payer that is down or refusing)
 * holds nothing up: no answer is about to come. Nor does an older one.
 */
export async function eligibilityUnderWay(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  patient: string,
  now: Date,
  withinMs = 30_000,
): Promise<boolean> {
  // Only the checks asked for within the window: a backlog of older checks (a busy morning's
  // pre-visit checks) must not crowd the patient's recent one out of the page read.
  const createdSince = new Date(now.getTime() - withinMs).toISOString();
  for (const state of ['leased', 'ready'] as const) {
    const jobs = await store.jobs.listJobs(tenant, ELIGIBILITY_QUEUE, state, 1000, { createdSince });
    if (
      jobs.some(
        (j) =>
          (j.payload as { patient?: unknown } | undefined)?.patient === patient &&
          (state === 'leased' || (j.attempts === 0 && Date.parse(j.runAt) <= now.getTime())),
      )
    ) {
      return true;
    }
  }
  return false;
}
