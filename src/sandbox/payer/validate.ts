/**
 * What the sandbox payer accepts at `Claim/$submit`: a Claim, or a PAS-style Bundle whose first
 * entry is the Claim (the other entries — Coverage, Patient, ... — are kept for lookups), or a
 * Parameters with a `resource` parameter holding either. The Claim must be valid FHIR R4
 * (@medplum/core structure validation) and submittable: status `active`, use `claim`, at least
 * one insurance and item, and every item with a unique sequence, a code, a positive quantity and
 * a date of service. Anything else is a 400 with an OperationOutcome listing every problem.
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { Claim, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

export type SubmitInput =
  | { readonly ok: true; readonly claim: Claim; readonly resources: readonly Resource[] }
  | { readonly ok: false; readonly outcome: OperationOutcome };

function issue(
  code: OperationOutcomeIssue['code'],
  text: string,
  expression?: string,
): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) };
}

function fail(issues: OperationOutcomeIssue[]): SubmitInput {
  return { ok: false, outcome: { resourceType: 'OperationOutcome', issue: issues } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}/;

export function parseSubmitBody(body: unknown): SubmitInput {
  if (!isObject(body) || typeof body['resourceType'] !== 'string') {
    return fail([
      issue('structure', 'Body must be a FHIR resource: a Claim, or a Bundle whose first entry is a Claim'),
    ]);
  }
  let resource = body as unknown as Resource;
  if (resource.resourceType === 'Parameters') {
    const inner = resource.parameter?.find((p) => p.name === 'resource')?.resource;
    if (!inner) {
      return fail([issue('required', 'Parameters must carry the Claim in a "resource" parameter')]);
    }
    resource = inner;
  }
  let resources: Resource[] = [];
  if (resource.resourceType === 'Bundle') {
    const entries = resource.entry ?? [];
    const first = entries[0]?.resource;
    if (first?.resourceType !== 'Claim') {
      return fail([
        issue('structure', "The Bundle's first entry must be the Claim", 'Bundle.entry[0].resource'),
      ]);
    }
    resources = entries.slice(1).flatMap((e) => (e.resource ? [e.resource] : []));
    resource = first;
  }
  if (resource.resourceType !== 'Claim') {
    return fail([issue('not-supported', `Claim/$submit takes a Claim, not a ${resource.resourceType}`)]);
  }
  const claim = resource;
  try {
    validateResource(claim);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return { ok: false, outcome: err.outcome };
    }
    throw err;
  }
  const issues: OperationOutcomeIssue[] = [];
  if (claim.status !== 'active') {
    issues.push(
      issue(
        'business-rule',
        `Claim.status must be active to be submitted (got ${claim.status})`,
        'Claim.status',
      ),
    );
  }
  if (claim.use !== 'claim') {
    issues.push(issue('not-supported', `Only use=claim is adjudicated here (got ${claim.use})`, 'Claim.use'));
  }
  if (!claim.insurance?.length) {
    issues.push(issue('required', 'Claim.insurance is required', 'Claim.insurance'));
  }
  const items = claim.item ?? [];
  if (items.length === 0) {
    issues.push(issue('required', 'The claim has no items', 'Claim.item'));
  }
  const sequences = new Set<number>();
  items.forEach((item, i) => {
    const at = `Claim.item[${i}]`;
    if (sequences.has(item.sequence)) {
      issues.push(issue('invalid', `Duplicate item sequence ${item.sequence}`, `${at}.sequence`));
    }
    sequences.add(item.sequence);
    if (!item.productOrService.coding?.some((c) => c.code && c.code.trim() !== '')) {
      issues.push(issue('required', 'The item has no procedure / product code', `${at}.productOrService`));
    }
    const qty = item.quantity?.value;
    if (typeof qty !== 'number' || !(qty > 0)) {
      issues.push(issue('required', 'The item needs a positive quantity', `${at}.quantity`));
    }
    const date = item.servicedDate ?? item.servicedPeriod?.start;
    if (!date || !DATE_RE.test(date)) {
      issues.push(issue('required', 'The item needs a date of service', `${at}.servicedDate`));
    }
    for (const [j, seq] of (item.diagnosisSequence ?? []).entries()) {
      if (!claim.diagnosis?.some((d) => d.sequence === seq)) {
        issues.push(
          issue(
            'invalid',
            `Diagnosis pointer ${seq} names no Claim.diagnosis`,
            `${at}.diagnosisSequence[${j}]`,
          ),
        );
      }
    }
  });
  if (issues.length > 0) {
    return fail(issues);
  }
  return { ok: true, claim, resources };
}
