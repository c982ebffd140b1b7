/**
 * Reading a payer's answer to an eligibility request, whichever channel it came by, into one of
 * three outcomes: an answer (a CoverageEligibilityResponse to this request, as Dripline keeps it),
 * a refusal (a 4xx, with the payer's OperationOutcome), or an answer that cannot be read (not FHIR,
 * not a valid CoverageEligibilityResponse, about another request; a 271 with broken envelopes or
 * segments the TR3 does not have), with an OperationOutcome that says what is wrong. Pure.
 */
import { normalizeErrorString, validateResource } from '@medplum/core';
import type {
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  OperationOutcome,
  Reference,
} from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../fhir/definitions.ts';
import { read271 } from '../../x12/271/read271.ts';
import { normalizeReference } from '../../store/search-index.ts';
import { responseFrom271, traceOf } from './from-271.ts';
import type { PayerAnswer } from './payer-client.ts';

export type ReadAnswer =
  | { readonly kind: 'answered'; readonly response: CoverageEligibilityResponse & { id: string } }
  | { readonly kind: 'refused'; readonly outcome: OperationOutcome }
  | { readonly kind: 'invalid'; readonly outcome: OperationOutcome };

export function problem(
  code: 'invalid' | 'structure' | 'not-found' | 'processing',
  text: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

const invalid = (text: string): ReadAnswer => ({ kind: 'invalid', outcome: problem('structure', text) });

function refusal(answer: PayerAnswer): ReadAnswer {
  try {
    const body = JSON.parse(answer.text) as { resourceType?: string };
    if (body.resourceType === 'OperationOutcome') {
      return { kind: 'refused', outcome: body as OperationOutcome };
    }
  } catch {
    // not JSON: described below
  }
  return {
    kind: 'refused',
    outcome: problem(
      'processing',
      `the payer refused the request with HTTP ${answer.status}${answer.text ? `: ${answer.text.slice(0, 300)}` : ''}`,
    ),
  };
}

/** The CoverageEligibilityResponse in an operation's answer: the resource, a Bundle entry, or Parameters `return`. */
function responseIn(body: unknown): CoverageEligibilityResponse | OperationOutcome | undefined {
  const resource = body as {
    resourceType?: string;
    entry?: { resource?: { resourceType?: string } }[];
    parameter?: { name?: string; resource?: { resourceType?: string } }[];
  };
  if (
    resource.resourceType === 'CoverageEligibilityResponse' ||
    resource.resourceType === 'OperationOutcome'
  ) {
    return resource as CoverageEligibilityResponse | OperationOutcome;
  }
  const inner =
    resource.resourceType === 'Bundle'
      ? resource.entry?.map((e) => e.resource).find((r) => r?.resourceType === 'CoverageEligibilityResponse')
      : resource.resourceType === 'Parameters'
        ? resource.parameter?.find((p) => p.name === 'return')?.resource
        : undefined;
  return inner?.resourceType === 'CoverageEligibilityResponse'
    ? (inner as CoverageEligibilityResponse)
    : undefined;
}

function sameReference(reference: Reference | undefined, expected: string): boolean {
  const normalized = normalizeReference(reference?.reference ?? '');
  return normalized === expected;
}

/** A FHIR payer's answer to `request` (sent as a Bundle to CoverageEligibilityRequest/$submit). */
export function readFhirAnswer(
  answer: PayerAnswer,
  request: CoverageEligibilityRequest & { id: string },
  context: { readonly responseId: string; readonly payerBase: string },
): ReadAnswer {
  if (answer.status >= 300) {
    return refusal(answer);
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return invalid(`the payer's answer (HTTP ${answer.status}) is not JSON`);
  }
  const found = responseIn(body);
  if (!found) {
    const type = (body as { resourceType?: unknown }).resourceType;
    return invalid(
      `the payer answered with ${typeof type === 'string' ? type : 'something'} instead of a CoverageEligibilityResponse`,
    );
  }
  if (found.resourceType === 'OperationOutcome') {
    return { kind: 'refused', outcome: found };
  }
  try {
    loadFhirDefinitions();
    validateResource(found);
  } catch (err) {
    return invalid(
      `the payer's CoverageEligibilityResponse is not valid FHIR R4: ${normalizeErrorString(err)}`.slice(
        0,
        600,
      ),
    );
  }
  const own = `CoverageEligibilityRequest/${request.id}`;
  const trace = traceOf(request);
  const answersThis =
    sameReference(found.request, own) ||
    (trace !== undefined &&
      (found.request.identifier?.value === trace || (found.identifier ?? []).some((i) => i.value === trace)));
  if (!answersThis) {
    return invalid(
      `the payer's CoverageEligibilityResponse answers ${found.request.reference ?? found.request.identifier?.value ?? 'an unnamed request'}, not this request (${own})`,
    );
  }
  const coverage = request.insurance?.[0]?.coverage.reference ?? '';
  const payerId = found.id;
  const { meta: _meta, id: _id, ...content } = found;
  return {
    kind: 'answered',
    response: {
      ...content,
      id: context.responseId,
      identifier: [
        ...(found.identifier ?? []),
        ...(payerId ? [{ system: `${context.payerBase}/CoverageEligibilityResponse`, value: payerId }] : []),
      ],
      // Kept under Dripline's own references (the payer may name them by the URLs they were sent under).
      patient: request.patient,
      request: { reference: own },
      insurance: (found.insurance ?? []).map((entry) =>
        normalizeReference(entry.coverage.reference ?? '') === coverage
          ? { ...entry, coverage: { reference: coverage } }
          : entry,
      ),
    },
  };
}

/** An X12 payer's answer: the 271 transaction that answers the 270 sent (BHT03 returned), mapped. */
export async function readX12Answer(
  answer: PayerAnswer,
  request: CoverageEligibilityRequest & { id: string },
  context: { readonly responseId: string; readonly reference: string; readonly now: Date },
): Promise<ReadAnswer> {
  if (answer.status >= 300) {
    return refusal(answer);
  }
  const read = await read271(answer.text);
  if (!read.ok) {
    return invalid(`the payer's 271 cannot be read: ${read.problem}`);
  }
  const mine = read.responses.filter((r) => r.reference === context.reference);
  const response = mine[0] ?? (read.responses.length === 1 ? read.responses[0] : undefined);
  if (!response || mine.length > 1) {
    return invalid(
      `the 271 holds ${read.responses.length} transaction(s) and ${mine.length} return this inquiry's reference (BHT03 ${context.reference})`,
    );
  }
  return {
    kind: 'answered',
    response: responseFrom271({ request, response, id: context.responseId, now: context.now }),
  };
}
