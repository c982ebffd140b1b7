/**
 * Reading a FHIR Claim and its context the way the 837 needs it: codes, type of bill, claim
 * frequency (CLM05-3) and the claim it replaces or voids (REF*F8), the focal coverage with its
 * member id, group and payer sequence (SBR), the filing indicator (SBR09), the patient status
 * (837I CL103) and the clinician on the care team (loop 2310). Pure; no segments are written here.
 */
import type {
  Claim,
  Coding,
  CodeableConcept,
  Coverage,
  Extension,
  HumanName,
  Practitioner,
} from '@medplum/fhirtypes';
import { id, text, X12Error } from '../encode.ts';
import { preferredName } from './subscriber.ts';
import type { Claim837Input, X12Kind } from './types.ts';
import { EXT_CLAIM_FREQUENCY } from '../../contract/canonical.ts';

/** Code systems the writer picks codes by. */
export const SYS = {
  ndc: 'http://hl7.org/fhir/sid/ndc',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  npi: 'http://hl7.org/fhir/sid/us-npi',
} as const;

export function firstCode(concept: CodeableConcept | undefined, system?: string): string | undefined {
  const codings: Coding[] = concept?.coding ?? [];
  return (system ? codings.find((c) => c.system === system) : undefined)?.code ?? codings[0]?.code;
}

function extensionCode(extensions: readonly Extension[] | undefined, urlPart: string): string | undefined {
  const e = extensions?.find((x) => x.url.includes(urlPart));
  return e?.valueCode ?? e?.valueString ?? e?.valueCoding?.code ?? e?.valueCodeableConcept?.coding?.[0]?.code;
}

/** The four-digit type of bill (e.g. 0131) from Claim.subType or a type-of-bill extension. */
export function typeOfBill(claim: Claim): string | undefined {
  const fromSubType = claim.subType?.coding?.find((c) => /^0?\d{3}$/.test(c.code ?? ''))?.code;
  const raw = fromSubType ?? extensionCode(claim.extension, 'type-of-bill');
  if (!raw || !/^0?\d{3}$/.test(raw)) {
    return undefined;
  }
  return raw.padStart(4, '0');
}

const REPLACES = new Set(['replaces', 'prior', 'corrects', 'correction']);
const VOIDS = new Set(['void', 'voids', 'cancels']);

function relatedWith(
  claim: Claim,
  codes: ReadonlySet<string>,
): NonNullable<Claim['related']>[number] | undefined {
  return claim.related?.find((r) => (r.relationship?.coding ?? []).some((c) => codes.has(c.code ?? '')));
}

/** Whole cents of a money amount (half away from zero, without binary-float drift). */
export function cents(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value) * 100 + 1e-7);
}

/**
 * CLM05-3: the claim-frequency extension when present; else void 8 (a related claim it voids),
 * replacement 7 (a related claim it replaces or corrects), the type of bill's frequency digit, or 1
 * (original). The claim-state extension is not read: a claim in state `void` is one that was
 * voided, not the void itself.
 */
export function claimFrequency(claim: Claim): string {
  const explicit = claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode;
  if (explicit && /^[0-9A-Z]$/.test(explicit)) {
    return explicit;
  }
  if (relatedWith(claim, VOIDS)) {
    return '8';
  }
  if (relatedWith(claim, REPLACES)) {
    return '7';
  }
  return typeOfBill(claim)?.[3] ?? '1';
}

export function originalClaimNumber(claim: Claim): string | undefined {
  const r = relatedWith(claim, VOIDS) ?? relatedWith(claim, REPLACES) ?? claim.related?.[0];
  return r?.reference?.value ?? r?.claim?.identifier?.value ?? r?.claim?.reference?.split('/').pop();
}

export function focalCoverage(ctx: Claim837Input): {
  coverage: Coverage;
  sequence: number;
  preAuthRef?: string;
} {
  const insurance = ctx.claim.insurance ?? [];
  const focal = insurance.find((i) => i.focal) ?? insurance[0];
  const ref = focal?.coverage?.reference;
  let index = ref
    ? ctx.coverages.findIndex((c) => c.id !== undefined && ref.endsWith(`Coverage/${c.id}`))
    : -1;
  if (index < 0 && focal) {
    index = Math.min(insurance.indexOf(focal), ctx.coverages.length - 1);
  }
  const coverage = ctx.coverages[Math.max(index, 0)];
  if (!coverage) {
    throw new X12Error('no Coverage to bill', ctx.claim.id);
  }
  const sequence = coverage.order ?? Math.max(index, 0) + 1;
  const preAuthRef = focal?.preAuthRef?.[0];
  return preAuthRef ? { coverage, sequence, preAuthRef } : { coverage, sequence };
}

export function memberId(coverage: Coverage, claimId: string): string {
  const v =
    coverage.subscriberId ??
    coverage.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MB'))?.value ??
    coverage.identifier?.[0]?.value;
  return id(v, 'member id (Coverage.subscriberId)', 80, claimId);
}

export function groupOf(coverage: Coverage): { number?: string; name?: string } {
  const g = coverage.class?.find((c) => c.type.coding?.some((x) => x.code === 'group'));
  return g ? { number: text(g.value, 50), name: text(g.name, 60) } : {};
}

/** SBR09 claim filing indicator. */
export function filingIndicator(ctx: Claim837Input, kind: X12Kind): string {
  switch (ctx.payer.kind) {
    case 'medicare':
      return kind === '837I' ? 'MA' : 'MB';
    case 'medicaid':
      return 'MC';
    default:
      return 'CI';
  }
}

/** CL103 patient status (UB-04 FL17): the encounter's discharge disposition when numeric, else 01 (home). */
export function patientStatus(ctx: Claim837Input): string {
  for (const e of ctx.encounters) {
    const code = firstCode(e.hospitalization?.dischargeDisposition);
    if (code && /^\d{2}$/.test(code)) {
      return code;
    }
  }
  return '01';
}

/**
 * The individual clinician of the claim: a care-team member (first matching role, in `roles` order)
 * whose provider is a contained Practitioner with an NPI (http://hl7.org/fhir/sid/us-npi).
 */
export function careTeamPractitioner(
  claim: Claim,
  roles: readonly string[],
): { name?: HumanName; npi: string; taxonomy?: string } | undefined {
  for (const role of roles) {
    for (const member of claim.careTeam ?? []) {
      if (firstCode(member.role) !== role) {
        continue;
      }
      const ref = member.provider.reference ?? '';
      const practitioner = claim.contained?.find(
        (r): r is Practitioner => r.resourceType === 'Practitioner' && `#${r.id ?? ''}` === ref,
      );
      const npi = practitioner?.identifier?.find((i) => i.system === SYS.npi)?.value;
      if (practitioner && npi) {
        const name = preferredName(practitioner.name);
        const taxonomy = firstCode(member.qualification);
        return { npi, ...(name ? { name } : {}), ...(taxonomy ? { taxonomy } : {}) };
      }
    }
  }
  return undefined;
}
