/**
 * One eligibility check: for each coverage of the patient (primary first), unless an answer is
 * still fresh, ask the payer — the request and the exact message kept before anything is sent, so a
 * retry sends the same bytes — keep its answer, and raise or close the coverage's work item from the
 * findings (./findings.ts). The same answer shape whatever the channel (FHIR, or X12 270/271).
 *
 * Fresh (mode `if-stale`): an answer for the coverage from the last `freshDays` days (the tenant's
 * calendar), given after the Coverage was last changed. Mode `pre-visit`: an answer from the day
 * before the visit or later. Mode `now` (API, CLI): always ask.
 */
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  DocumentReference,
  Encounter,
  Medication,
  MedicationRequest,
  OperationOutcome,
  Organization,
  Patient,
  RelatedPerson,
  Task,
} from '@medplum/fhirtypes';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { TenantConfig } from '../../config/config.ts';
import { eligibilityFreshDays, tenantCalendarZone } from '../../config/config.ts';
import type { WorkFinding } from '../../fhir/work-items.ts';
import { workItemCompletion, workItemWrite } from '../../fhir/work-items.ts';
import type { Logger } from '../../logger.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { normalizeReference } from '../../store/search-index.ts';
import { addDays, localDate } from '../../time/zone.ts';
import { write270 } from '../../x12/270/write270.ts';
import { EDI_X12, nextControlNumbers } from '../../x12/interchange.ts';
import { otherSubscriberOf } from '../../x12/837/subscriber.ts';
import { matchPayer, payorOrganizationRef } from '../payer-match.ts';
import type { ReadAnswer } from './answers.ts';
import { readFhirAnswer, readX12Answer } from './answers.ts';
import { eligibilityFinding, eligibilityFindings } from './findings.ts';
import type { EligibilityEndpoint, EligibilityPayerPort } from './payer-client.ts';
import { eligibilityEndpointOf } from './payer-client.ts';
import {
  ELIGIBILITY_TASK_CODE,
  eligibilityTaskId,
  latestAnswers,
  messageDocument,
  messageIdFor,
  messageText,
  requestIdFor,
  responseIdFor,
  writeWithAudit,
} from './records.ts';
import type { EligibilityAsk } from './request.ts';
import { eligibilityRequest, inquiryOf } from './request.ts';
import { serviceTypesFor } from './service-types.ts';
import type { EligibilitySummary } from './summary.ts';
import { summarize } from './summary.ts';
import type { VisitContext } from './visit.ts';
import { visitContext } from './visit.ts';
import { readOptional } from '../../store/read-optional.ts';

export type CheckMode = 'if-stale' | 'pre-visit' | 'now';

/** A job of the eligibility queue. */
export interface EligibilityJob {
  readonly kind: 'check';
  /** "Patient/id". */
  readonly patient: string;
  readonly mode: CheckMode;
  /** Why (for the work item's note): "order received", "visit tomorrow", "asked by …". */
  readonly reason: string;
  /** Pre-visit: the visit's day (YYYY-MM-DD). */
  readonly visitDate?: string;
  readonly encounter?: string;
  readonly order?: string;
}

export interface CheckDeps {
  readonly store: Store;
  readonly tables: CodingTables;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly logger: Logger;
  /** A tenant's configuration, its payers included (the sandbox adds its payers at run time). */
  readonly tenant: (tenant: TenantId) => TenantConfig | undefined;
  readonly port: (tenant: TenantId, endpoint: EligibilityEndpoint) => EligibilityPayerPort;
}

export type CoverageState = 'fresh' | 'answered' | 'refused' | 'invalid' | 'not-asked';

export interface CoverageOutcome {
  /** "Coverage/id". */
  readonly coverage: string;
  /** The tenant's payer slug, when one matched. */
  readonly payer?: string;
  readonly state: CoverageState;
  readonly request?: string;
  readonly response?: string;
  readonly summary?: EligibilitySummary;
  readonly findings: readonly WorkFinding[];
}

export interface CheckResult {
  readonly patient: string;
  readonly date?: string;
  readonly outcomes: readonly CoverageOutcome[];
  /** Why nothing was asked, when nothing was. */
  readonly note?: string;
}

/** Not yet: the job is tried again later (its data has not arrived). */
export class NotYetError extends Error {
  readonly retryable = true;
}

const idOf = (reference: string | undefined, type: string): string | undefined => {
  const normalized = normalizeReference(reference ?? '');
  return normalized?.startsWith(`${type}/`) ? normalized.slice(type.length + 1) : undefined;
};

export async function runCheck(
  deps: CheckDeps,
  tenant: TenantId,
  job: EligibilityJob,
  jobKey: string,
): Promise<CheckResult> {
  const config = deps.tenant(tenant);
  if (!config || config.payers.length === 0) {
    return { patient: job.patient, outcomes: [], note: 'the tenant has no payers configured' };
  }
  const patientId = idOf(job.patient, 'Patient');
  const patient = patientId
    ? await readOptional<Patient>(deps.store, tenant, 'Patient', patientId)
    : undefined;
  if (!patient) {
    throw new NotYetError(`${job.patient} is not stored (yet)`);
  }
  const now = deps.now();
  const zone = tenantCalendarZone(config);
  const visit = await readVisit(deps, tenant, job, zone, now);
  if (visit.cancelled) {
    return { patient: job.patient, date: visit.date, outcomes: [], note: 'the visit was cancelled' };
  }
  const coverages = (
    await searchAll<Coverage>(deps.store, tenant, 'Coverage', [
      { code: 'beneficiary', kind: 'reference', values: [`Patient/${patient.id}`] },
    ])
  )
    .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || a.id.localeCompare(b.id));
  if (coverages.length === 0) {
    const finding = eligibilityFinding(
      'eligibility-no-coverage',
      `No active Coverage is on file for Patient/${patient.id} (${job.reason}).`,
    );
    await writeTask(deps, tenant, `Patient/${patient.id}`, patient.id, [finding], job, undefined);
    return { patient: job.patient, date: visit.date, outcomes: [] };
  }
  const answers = await latestAnswers(deps.store, tenant, `Patient/${patient.id}`);
  const payersOnFile: string[] = [];
  const matched: {
    coverage: Coverage & StoredResource;
    endpoint?: EligibilityEndpoint;
    payerName?: string;
    payerId?: string;
    organization?: Organization;
  }[] = [];
  for (const coverage of coverages) {
    const orgId = idOf(payorOrganizationRef(coverage), 'Organization');
    const organization = orgId
      ? await readOptional<Organization>(deps.store, tenant, 'Organization', orgId)
      : undefined;
    const payer = matchPayer(config.payers, coverage, organization);
    if (payer) {
      payersOnFile.push(payer.payerId);
    }
    const endpoint = payer ? eligibilityEndpointOf(payer) : undefined;
    matched.push({
      coverage,
      ...(endpoint ? { endpoint } : {}),
      ...(payer ? { payerName: payer.name, payerId: payer.payerId } : {}),
      ...(organization ? { organization } : {}),
    });
  }
  const outcomes: CoverageOutcome[] = [];
  for (const entry of matched) {
    outcomes.push(
      await checkCoverage(deps, tenant, config, {
        job,
        jobKey,
        patient,
        visit,
        zone,
        now,
        ...entry,
        payersOnFile,
        known: answers.get(`Coverage/${entry.coverage.id}`),
      }),
    );
  }
  return { patient: job.patient, date: visit.date, outcomes };
}

async function readVisit(
  deps: CheckDeps,
  tenant: TenantId,
  job: EligibilityJob,
  zone: string,
  now: Date,
): Promise<VisitContext> {
  const encounterId = idOf(job.encounter, 'Encounter');
  const orderId = idOf(job.order, 'MedicationRequest');
  const order = orderId
    ? await readOptional<MedicationRequest>(deps.store, tenant, 'MedicationRequest', orderId)
    : undefined;
  const orderEncounter = idOf(order?.encounter?.reference, 'Encounter');
  const encounter =
    encounterId || orderEncounter
      ? await readOptional<Encounter>(deps.store, tenant, 'Encounter', encounterId ?? orderEncounter ?? '')
      : undefined;
  const medicationId = idOf(order?.medicationReference?.reference, 'Medication');
  const medication = medicationId
    ? await readOptional<Medication>(deps.store, tenant, 'Medication', medicationId)
    : undefined;
  return visitContext({
    ...(encounter ? { encounter } : {}),
    ...(order ? { order } : {}),
    ...(medication ? { medication } : {}),
    ...(job.visitDate ? { visitDate: job.visitDate } : {}),
    tables: deps.tables,
    zone,
    now,
  });
}

interface CoverageInput {
  readonly job: EligibilityJob;
  readonly jobKey: string;
  readonly patient: Patient & StoredResource;
  readonly visit: VisitContext;
  readonly zone: string;
  readonly now: Date;
  readonly coverage: Coverage & StoredResource;
  readonly endpoint?: EligibilityEndpoint;
  readonly payerName?: string;
  readonly payerId?: string;
  readonly payersOnFile: readonly string[];
  readonly known?: { response: CoverageEligibilityResponse & StoredResource; summary: EligibilitySummary };
}

/** Whether the latest answer still stands for this check (see the module comment). */
export function isFresh(
  known: { readonly created?: string } | undefined,
  coverage: StoredResource,
  input: {
    readonly mode: CheckMode;
    readonly today: string;
    readonly visitDate?: string;
    readonly freshDays: number;
    readonly zone: string;
  },
): boolean {
  if (!known?.created || input.mode === 'now') {
    return false;
  }
  // Instants compare as instants: a payer writes `created` with its own offset.
  if (Date.parse(known.created) < Date.parse(coverage.meta.lastUpdated)) {
    return false;
  }
  const answered = localDate(known.created, input.zone);
  const since =
    input.mode === 'pre-visit' && input.visitDate
      ? addDays(input.visitDate, -1)
      : addDays(input.today, -input.freshDays);
  return answered >= since;
}

async function checkCoverage(
  deps: CheckDeps,
  tenant: TenantId,
  config: TenantConfig,
  input: CoverageInput,
): Promise<CoverageOutcome> {
  const { coverage, endpoint, job, now } = input;
  const coverageRef = `Coverage/${coverage.id}`;
  const label = `${coverageRef}${input.payerName ? ` (${input.payerName})` : ''}`;
  const dates = [input.visit.date];
  if (!endpoint || !config.billing) {
    const why = !input.payerId
      ? 'no configured payer matches it'
      : !config.billing
        ? 'the tenant has no billing provider to ask as'
        : `payer ${input.payerId} has no eligibility endpoint`;
    return {
      coverage: coverageRef,
      state: 'not-asked',
      findings: [eligibilityFinding('eligibility-not-asked', `${label}: eligibility was not asked: ${why}.`)],
    };
  }
  const today = localDate(now, input.zone);
  if (
    isFresh(input.known?.response, coverage, {
      mode: job.mode,
      today,
      ...(input.visit.date ? { visitDate: input.visit.date } : {}),
      freshDays: eligibilityFreshDays(config),
      zone: input.zone,
    })
  ) {
    const summary = input.known?.summary;
    return {
      coverage: coverageRef,
      payer: endpoint.payer,
      state: 'fresh',
      ...(summary ? { response: summary.response, summary } : {}),
      findings: [],
    };
  }
  const requestId = requestIdFor(input.jobKey, coverageRef);
  const responseId = responseIdFor(requestId);
  const stored = await readOptional<CoverageEligibilityResponse>(
    deps.store,
    tenant,
    'CoverageEligibilityResponse',
    responseId,
  );
  if (stored) {
    // A retry after the answer was kept: nothing is asked again.
    const summary = summarize(stored);
    return {
      coverage: coverageRef,
      payer: endpoint.payer,
      state: 'answered',
      request: `CoverageEligibilityRequest/${requestId}`,
      response: summary.response,
      summary,
      findings: findingsFor(input, label, summary, dates),
    };
  }
  const audit = { clientId: `eligibility/${endpoint.payer}`, publicUrl: deps.publicUrl, now };
  const keptRequest = await readOptional<CoverageEligibilityRequest>(
    deps.store,
    tenant,
    'CoverageEligibilityRequest',
    requestId,
  );
  const keptMessage = await readOptional<DocumentReference>(
    deps.store,
    tenant,
    'DocumentReference',
    messageIdFor(requestId, 'sent'),
  );
  let request: CoverageEligibilityRequest & { id: string };
  let sentText: string;
  if (keptRequest && keptMessage) {
    // A retry: the same request and the same bytes as the first attempt.
    request = keptRequest;
    sentText = messageText(keptMessage);
  } else {
    const subscriberRef = otherSubscriberOf(coverage, `Patient/${input.patient.id}`);
    const subscriber = subscriberRef
      ? await readOptional<Patient | RelatedPerson>(deps.store, tenant, subscriberRef.type, subscriberRef.id)
      : undefined;
    const ask: EligibilityAsk = {
      id: requestId,
      trace: requestId,
      patient: input.patient,
      coverage,
      ...(subscriber ? { subscriber } : {}),
      payer: { name: input.payerName ?? endpoint.payer, payerId: input.payerId ?? endpoint.receiverId },
      provider: config.billing,
      date: input.visit.date,
      serviceTypes: serviceTypesFor(input.visit),
      procedures: input.visit.procedures,
      now,
    };
    const built = keptRequest ?? eligibilityRequest(ask);
    let body: string;
    let interchange: string | undefined;
    try {
      if (endpoint.channel === 'fhir') {
        body = fhirBody(deps.publicUrl, built, input, subscriber);
      } else {
        const sender = { id: config.billing.taxId };
        const receiver = { id: endpoint.receiverId };
        const controlNumbers = await nextControlNumbers(deps.store.sequences, tenant, sender, receiver);
        interchange = String(controlNumbers.isa).padStart(9, '0');
        body = await write270([inquiryOf(ask)], {
          sender,
          receiver,
          controlNumbers,
          now,
          usage: endpoint.usage,
          reference: requestId,
        });
      }
    } catch (err) {
      // What the coverage or patient lacks (a member id, a name) cannot be asked about: a person fixes it.
      const finding = eligibilityFinding(
        'eligibility-rejected',
        `${label}: the inquiry cannot be written: ${(err as Error).message}.`,
      );
      await writeTask(deps, tenant, coverageRef, input.patient.id, [finding], job, undefined);
      return { coverage: coverageRef, payer: endpoint.payer, state: 'refused', findings: [finding] };
    }
    const document = messageDocument({
      id: messageIdFor(requestId, 'sent'),
      what: 'sent',
      kind: endpoint.channel === 'fhir' ? 'fhir' : '270',
      text: body,
      contentType: endpoint.channel === 'fhir' ? 'application/fhir+json' : EDI_X12,
      request: `CoverageEligibilityRequest/${requestId}`,
      patient: `Patient/${input.patient.id}`,
      ...(interchange ? { interchange } : {}),
      now,
      description: `eligibility inquiry to ${input.payerName ?? endpoint.payer} as sent`,
    });
    await deps.store.resources.writeBatch(tenant, [
      ...(keptRequest ? [] : writeWithAudit(built, undefined, audit)),
      ...writeWithAudit(document, undefined, audit),
    ]);
    request = built;
    sentText = body;
  }
  const answer = await deps.port(tenant, endpoint).send(sentText);
  const read: ReadAnswer =
    endpoint.channel === 'fhir'
      ? readFhirAnswer(answer, request, { responseId, payerBase: endpoint.url })
      : await readX12Answer(answer, request, { responseId, reference: requestId, now });
  const answerDocument = messageDocument({
    id: messageIdFor(requestId, 'answer'),
    what: 'answer',
    kind: endpoint.channel === 'fhir' ? 'fhir' : '271',
    text: answer.text,
    contentType: answer.contentType ?? (endpoint.channel === 'fhir' ? 'application/fhir+json' : EDI_X12),
    request: `CoverageEligibilityRequest/${requestId}`,
    patient: `Patient/${input.patient.id}`,
    now,
    description: `answer of ${input.payerName ?? endpoint.payer} (HTTP ${answer.status}) as received`,
  });
  const previousAnswer = await readOptional<DocumentReference>(
    deps.store,
    tenant,
    'DocumentReference',
    answerDocument.id,
  );
  const common = {
    coverage: coverageRef,
    payer: endpoint.payer,
    request: `CoverageEligibilityRequest/${requestId}`,
  };
  if (read.kind !== 'answered') {
    await deps.store.resources.writeBatch(tenant, writeWithAudit(answerDocument, previousAnswer, audit));
    const text = read.outcome.issue?.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; ') ?? '';
    const finding =
      read.kind === 'refused'
        ? eligibilityFinding('eligibility-rejected', `${label}: the payer refused the inquiry: ${text}.`)
        : eligibilityFinding(
            'eligibility-answer-invalid',
            `${label}: the payer's answer cannot be read: ${text}. It is kept as received (DocumentReference/${answerDocument.id}).`,
          );
    await writeTask(deps, tenant, coverageRef, input.patient.id, [finding], job, read.outcome);
    deps.logger.warn({ request: requestId, kind: read.kind }, 'eligibility answer not usable');
    return { ...common, state: read.kind, findings: [finding] };
  }
  const [written] = await deps.store.resources.writeBatch(tenant, [
    ...writeWithAudit(read.response, undefined, audit),
    ...writeWithAudit(answerDocument, previousAnswer, audit),
  ]);
  const response =
    written && (written.op === 'create' || written.op === 'update')
      ? (written.result.resource as CoverageEligibilityResponse)
      : read.response;
  const summary = summarize({ ...response, id: responseId });
  const findings = findingsFor(input, label, summary, dates);
  await writeTask(deps, tenant, coverageRef, input.patient.id, findings, job, undefined, summary);
  return { ...common, state: 'answered', response: summary.response, summary, findings };
}

function findingsFor(
  input: CoverageInput,
  label: string,
  summary: EligibilitySummary,
  dates: readonly string[],
): WorkFinding[] {
  return eligibilityFindings({
    summary,
    coverageLabel: label,
    ...(input.payerId && input.payerName
      ? { expectedPayer: { payerId: input.payerId, name: input.payerName } }
      : {}),
    payersOnFile: input.payersOnFile,
    dates,
  });
}

/** The Bundle sent to CoverageEligibilityRequest/$submit: the request first, then what it references. */
function fhirBody(
  publicUrl: string,
  request: CoverageEligibilityRequest & { id: string },
  input: CoverageInput,
  subscriber: (Patient | RelatedPerson) | undefined,
): string {
  const strip = <T extends { meta?: unknown }>(r: T): Omit<T, 'meta'> => {
    const { meta: _meta, ...rest } = r;
    return rest;
  };
  const resources = [
    strip(request),
    strip(input.patient),
    strip(input.coverage),
    ...(subscriber ? [strip(subscriber)] : []),
  ] as { resourceType: string; id?: string }[];
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: input.now.toISOString(),
    entry: resources.map((resource) => ({
      // RESTful fullUrls: the request's relative references (Patient/x, Coverage/y) resolve to these entries.
      fullUrl: `${publicUrl}/fhir/${resource.resourceType}/${resource.id ?? ''}`,
      resource,
    })),
  });
}

/** Raises (or refreshes) the subject's eligibility work item for findings; closes it when there are none. */
async function writeTask(
  deps: CheckDeps,
  tenant: TenantId,
  subject: string,
  patientId: string,
  findings: readonly WorkFinding[],
  job: EligibilityJob,
  outcome: OperationOutcome | undefined,
  summary?: EligibilitySummary,
): Promise<void> {
  const id = eligibilityTaskId(subject);
  const existing = await readOptional<Task>(deps.store, tenant, 'Task', id);
  const open = existing && existing.status !== 'completed' && existing.status !== 'cancelled';
  const now = deps.now();
  const actionable = findings.filter((f) => f.severity !== 'information');
  let operation: BatchOperation | undefined;
  if (actionable.length > 0) {
    operation = workItemWrite(
      id,
      {
        code: ELIGIBILITY_TASK_CODE,
        text: 'coverage needs attention before the visit',
        focus: subject,
        patient: `Patient/${patientId}`,
        priority: job.mode === 'pre-visit' ? 'asap' : 'routine',
        findings: actionable,
        note: `eligibility checked (${job.reason})`,
        ...(outcome ? { outcome } : {}),
      },
      existing,
      now,
    );
  } else if (open && existing) {
    operation = workItemCompletion(
      existing,
      `eligibility verified (${job.reason})${summary ? `: ${summary.disposition ?? 'no findings'}` : ''}`,
      now,
    );
  }
  if (!operation || !('resource' in operation)) {
    return;
  }
  await deps.store.resources.writeBatch(tenant, [
    operation,
    ...writeWithAudit(operation.resource as Task & { id: string }, undefined, {
      clientId: 'eligibility',
      publicUrl: deps.publicUrl,
      now,
    }).slice(1),
  ]);
}
