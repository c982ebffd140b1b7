/**
 * Validation of PAS messages against the PAS 2.2.1 profiles (profiles/pas/, written from the IG's
 * published rules by scripts/profiles/pas-definitions.ts), before Dripline sends a request and
 * when it reads an answer; the sandbox payer checks what it receives with the same code.
 *
 * Speed: @medplum/core's `validateResource(resource, { profile })` parses the StructureDefinition on
 * every call (~5–10 ms a profile). Each profile is parsed once here instead
 * (`parseStructureDefinition`) and kept in @medplum/core's type table (`getAllDataTypes()`) under a
 * type name of its own (a URL no FHIR type has), then resources are validated with
 * `validateTypedValue` against that type. A test checks the compiled form reports what
 * `validateResource(..., { profile })` reports.
 *
 * Bundle rules the profiles cannot state are checked here: every entry against the profile of its
 * role (the Claim's patient is the beneficiary, its insurer the insurer...), every reference of every
 * entry resolved inside the Bundle (spec-13, spec-18), fullUrls that are REST URLs agreeing with
 * their resource's type and id (spec-16).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getAllDataTypes,
  parseStructureDefinition,
  normalizeErrorString,
  OperationOutcomeError,
  validateTypedValue,
} from '@medplum/core';
import type {
  Bundle,
  BundleEntry,
  OperationOutcome,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../fhir/definitions.ts';
import { PAS_PROFILE } from '../../contract/pas.ts';

const PAS_PROFILES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../profiles/pas');
/** Prefix of the type names the compiled profiles are registered under (never a real FHIR type). */
const COMPILED = 'DriplineCompiledProfile:';

let definitions: Map<string, StructureDefinition> | undefined;

/** The PAS StructureDefinitions by canonical URL, read once per process. */
export function pasProfiles(): ReadonlyMap<string, StructureDefinition> {
  if (!definitions) {
    loadFhirDefinitions();
    const loaded = new Map<string, StructureDefinition>();
    for (const file of readdirSync(PAS_PROFILES_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const sd = JSON.parse(readFileSync(path.join(PAS_PROFILES_DIR, file), 'utf8')) as StructureDefinition;
      loaded.set(sd.url, sd);
    }
    definitions = loaded;
  }
  return definitions;
}

/**
 * The type name a PAS profile is validated as: parsed on the first validation against it, kept under
 * a name of its own; its inner types stay out of the global table (registering them with loadDataType
 * would replace base R4 types such as BundleEntry). Parsing all 18 when the first was needed cost
 * ~110–160 ms of CPU; a process needs those of the messages it sends and reads (an exchange without
 * inquiries or updates never needs theirs). A profile that does not parse throws, as it did at load.
 */
function compiledPasType(sd: StructureDefinition): string {
  const type = `${COMPILED}${sd.id ?? ''}`;
  const types = getAllDataTypes();
  if (!Object.hasOwn(types, type)) {
    types[type] = parseStructureDefinition(sd);
  }
  return type;
}

function issuesOf(err: unknown, prefix: string | undefined): OperationOutcomeIssue[] {
  const issues =
    err instanceof OperationOutcomeError
      ? (err.outcome.issue ?? [])
      : [
          {
            severity: 'error' as const,
            code: 'processing' as const,
            details: { text: normalizeErrorString(err) },
          },
        ];
  // Warnings (e.g. @medplum/core's reference type check, which cannot resolve urn:uuid or absolute
  // references) come with the errors when there are any: only errors make a resource nonconformant.
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  return prefix === undefined
    ? errors
    : errors.map((i) => ({ ...i, expression: (i.expression ?? []).map((e) => `${prefix}.${e}`) }));
}

/** Errors of `resource` against one PAS profile (compiled), paths prefixed with `at` when given. */
export function validateAgainst(
  resource: Resource,
  profileUrl: string,
  at?: string,
): OperationOutcomeIssue[] {
  const sd = pasProfiles().get(profileUrl);
  if (!sd?.id) {
    return [{ severity: 'error', code: 'not-supported', details: { text: `No PAS profile ${profileUrl}` } }];
  }
  if (resource.resourceType !== sd.type) {
    return [
      {
        severity: 'error',
        code: 'invalid',
        details: {
          text: `${resource.resourceType} cannot conform to ${sd.title ?? profileUrl} (a ${sd.type ?? ''})`,
        },
        ...(at ? { expression: [at] } : {}),
      },
    ];
  }
  const type = compiledPasType(sd);
  try {
    return validateTypedValue({ type, value: resource }).filter((i) => i.severity === 'error');
  } catch (err) {
    return issuesOf(err, at);
  }
}

/** "Type/id" of a REST fullUrl, or undefined (urn:uuid, anything else). */
function restTail(fullUrl: string): { base: string; type: string; id: string } | undefined {
  const match = /^(https?:\/\/.+)\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(fullUrl);
  return match ? { base: match[1] ?? '', type: match[2] ?? '', id: match[3] ?? '' } : undefined;
}

/** The entry a reference made from `from` points at, per FHIR R4 Bundle reference resolution. */
export function resolveInBundle(
  bundle: Bundle,
  from: string | undefined,
  reference: string,
): BundleEntry | undefined {
  const entries = bundle.entry ?? [];
  if (/^(urn:|https?:)/.test(reference)) {
    return entries.find((e) => e.fullUrl === reference);
  }
  const base = from ? restTail(from)?.base : undefined;
  if (base) {
    return entries.find((e) => e.fullUrl === `${base}/${reference}`);
  }
  return undefined;
}

function referencesIn(value: unknown, out: string[]): string[] {
  if (Array.isArray(value)) {
    value.forEach((v) => referencesIn(v, out));
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') {
        if (!child.startsWith('#')) {
          out.push(child);
        }
      } else if (key !== 'resource') {
        referencesIn(child, out);
      }
    }
  }
  return out;
}

const issue = (
  text: string,
  expression: string,
  code: OperationOutcomeIssue['code'] = 'invalid',
): OperationOutcomeIssue => ({
  severity: 'error',
  code,
  details: { text },
  expression: [expression],
});

/**
 * Structure every PAS Bundle shares: fullUrls agree with their resources; with `closure`, every
 * reference resolves inside (requests: spec-13; a response need not include the Claim it answers).
 */
function checkEntries(bundle: Bundle, closure: boolean): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  (bundle.entry ?? []).forEach((entry, i) => {
    const at = `Bundle.entry[${i}]`;
    const tail = entry.fullUrl ? restTail(entry.fullUrl) : undefined;
    if (entry.fullUrl && !tail && !/^urn:uuid:[0-9a-f-]{36}$/i.test(entry.fullUrl)) {
      issues.push(
        issue(`fullUrl ${entry.fullUrl} is neither a REST URL nor urn:uuid (spec-16)`, `${at}.fullUrl`),
      );
    }
    if (
      tail &&
      entry.resource &&
      (tail.type !== entry.resource.resourceType || tail.id !== entry.resource.id)
    ) {
      issues.push(
        issue(
          `fullUrl ${entry.fullUrl ?? ''} does not name the entry’s ${entry.resource.resourceType}/${entry.resource.id ?? '(no id)'}`,
          `${at}.fullUrl`,
        ),
      );
    }
    // spec-66: the Claim an update relates to is included, but not the one that Claim relates to.
    const resource =
      i > 0 && entry.resource?.resourceType === 'Claim'
        ? { ...entry.resource, related: undefined }
        : entry.resource;
    for (const reference of closure ? referencesIn(resource, []) : []) {
      if (!resolveInBundle(bundle, entry.fullUrl, reference)) {
        issues.push(
          issue(`${reference} is referenced but not in the Bundle (spec-13)`, `${at}.resource`, 'not-found'),
        );
      }
    }
  });
  return issues;
}

/** The profile each entry of a request Bundle must meet, by the role the Claim gives it. */
function requestRoles(bundle: Bundle): Map<number, string> {
  const roles = new Map<number, string>();
  const entries = bundle.entry ?? [];
  const claimEntry = entries[0];
  const claim = claimEntry?.resource?.resourceType === 'Claim' ? claimEntry.resource : undefined;
  const indexOf = (reference: string | undefined, from = claimEntry?.fullUrl): number =>
    reference === undefined ? -1 : entries.findIndex((e) => e === resolveInBundle(bundle, from, reference));
  const role = (i: number, profile: string): void => {
    if (i >= 0 && !roles.has(i)) {
      roles.set(i, profile);
    }
  };
  if (claim) {
    roles.set(0, claim.related?.length ? PAS_PROFILE.claimUpdate : PAS_PROFILE.claim);
    role(indexOf(claim.patient.reference), PAS_PROFILE.beneficiary);
    role(indexOf(claim.insurer?.reference), PAS_PROFILE.insurer);
    role(indexOf(claim.provider.reference), PAS_PROFILE.requestor);
    for (const insurance of claim.insurance ?? []) {
      role(indexOf(insurance.coverage.reference), PAS_PROFILE.coverage);
    }
  }
  entries.forEach((entry, i) => {
    const type = entry.resource?.resourceType;
    if (i > 0 && type === 'Claim') {
      role(
        i,
        (entry.resource as { related?: unknown[] }).related?.length
          ? PAS_PROFILE.claimUpdate
          : PAS_PROFILE.claim,
      );
    } else if (type === 'Coverage') {
      role(i, PAS_PROFILE.coverage);
    } else if (type === 'Patient') {
      role(i, PAS_PROFILE.subscriber);
    } else if (type === 'Practitioner') {
      role(i, PAS_PROFILE.practitioner);
    } else if (type === 'MedicationRequest') {
      role(i, PAS_PROFILE.medicationRequest);
    } else if (type === 'ServiceRequest') {
      role(i, PAS_PROFILE.serviceRequest);
    }
  });
  return roles;
}

const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** FullDateRule on the items' service dates (pas.md §1.2). */
function fullDateIssues(resource: Resource, at: string): OperationOutcomeIssue[] {
  if (resource.resourceType !== 'Claim') {
    return [];
  }
  return (resource.item ?? []).flatMap((item, i) =>
    (
      [
        ['servicedDate', item.servicedDate],
        ['servicedPeriod.start', item.servicedPeriod?.start],
        ['servicedPeriod.end', item.servicedPeriod?.end],
      ] as const
    )
      .filter(([, value]) => value !== undefined && !FULL_DATE.test(value))
      .map(([name, value]) =>
        issue(
          `FullDateRule: ${name} ${value ?? ''} is not a full date (YYYY-MM-DD)`,
          `${at}.item[${i}].${name}`,
        ),
      ),
  );
}

/**
 * @medplum/core cannot resolve a `urn:uuid:` reference to learn its type and reports it as invalid;
 * inside a Bundle the urn names an entry, so the issue stands only when that entry is missing (the
 * closure check reports it) or of a type the element does not allow.
 */
function withoutResolvedUrns(
  bundle: Bundle,
  issues: readonly OperationOutcomeIssue[],
): OperationOutcomeIssue[] {
  return issues.filter((i) => {
    const match = /^Invalid reference: got "(urn:uuid:[^"]+)", expected (.+)$/.exec(i.details?.text ?? '');
    if (!match) {
      return true;
    }
    const target = resolveInBundle(bundle, undefined, match[1] ?? '')?.resource?.resourceType;
    const allowed = [...(match[2] ?? '').matchAll(/StructureDefinition\/([A-Za-z]+)"/g)].map((m) => m[1]);
    return target === undefined || !allowed.includes(target);
  });
}

function outcomeOf(issues: readonly OperationOutcomeIssue[]): OperationOutcome | undefined {
  return issues.length === 0 ? undefined : { resourceType: 'OperationOutcome', issue: [...issues] };
}

function validateBundleShape(bundle: Bundle, profile: string, closure: boolean): OperationOutcomeIssue[] {
  if ((bundle as Resource).resourceType !== 'Bundle') {
    return [issue(`a ${(bundle as Resource).resourceType ?? 'non-resource'} is not a Bundle`, 'Bundle')];
  }
  // The profile's snapshot is base R4 Bundle plus PAS's rules, and its entries' resources are
  // validated against their base types with it: no separate base pass (it cost a third of the time).
  const shaped = validateAgainst(bundle, profile);
  if (shaped.length > 0) {
    return shaped;
  }
  return checkEntries(bundle, closure);
}

/** Why a PAS Request Bundle (initial or update) does not conform; undefined when it does. */
export function validatePasRequestBundle(bundle: Bundle): OperationOutcome | undefined {
  const issues = validateBundleShape(bundle, PAS_PROFILE.requestBundle, true);
  if (issues.length === 0) {
    for (const [i, profile] of requestRoles(bundle)) {
      const resource = bundle.entry?.[i]?.resource;
      if (resource) {
        const at = `Bundle.entry[${i}].resource`;
        issues.push(
          ...withoutResolvedUrns(bundle, validateAgainst(resource, profile, at)),
          ...fullDateIssues(resource, at),
        );
      }
    }
  }
  return outcomeOf(issues);
}

/** Why a PAS Response Bundle does not conform (its ClaimResponse included); undefined when it does. */
export function validatePasResponseBundle(bundle: Bundle, inquiry = false): OperationOutcome | undefined {
  const issues = validateBundleShape(
    bundle,
    inquiry ? PAS_PROFILE.inquiryResponseBundle : PAS_PROFILE.responseBundle,
    false,
  );
  const first = bundle.entry?.[0]?.resource;
  if (issues.length === 0 && first) {
    issues.push(
      ...withoutResolvedUrns(
        bundle,
        validateAgainst(
          first,
          inquiry ? PAS_PROFILE.claimInquiryResponse : PAS_PROFILE.claimResponse,
          'Bundle.entry[0].resource',
        ),
      ),
    );
  }
  return outcomeOf(issues);
}

/** Why a PAS Inquiry Request Bundle does not conform; undefined when it does. */
export function validatePasInquiryBundle(bundle: Bundle): OperationOutcome | undefined {
  const issues = validateBundleShape(bundle, PAS_PROFILE.inquiryRequestBundle, true);
  const first = bundle.entry?.[0]?.resource;
  if (issues.length === 0 && first) {
    issues.push(
      ...withoutResolvedUrns(
        bundle,
        validateAgainst(first, PAS_PROFILE.claimInquiry, 'Bundle.entry[0].resource'),
      ),
    );
  }
  return outcomeOf(issues);
}
