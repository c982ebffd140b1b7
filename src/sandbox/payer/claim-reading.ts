/**
 * What the sandbox payer reads from a submitted Claim, the way a payer reads the wire format rather
 * than its client's code: each line's code, modifiers, date, charge and NDC, the member id, the
 * diagnoses, the claim frequency (original, replacement, void), its identifiers and patient, and
 * the key that makes two lines the same service (duplicate detection).
 */
import type { Claim, ClaimItem, Coverage, Resource } from '@medplum/fhirtypes';
import { round2 } from './pricing.ts';
import type { ClaimFrequency } from './results.ts';
import type { PayerKind } from './tables.ts';
import { EXT_CHARGE_AMOUNT, EXT_CLAIM_FREQUENCY } from '../../contract/canonical.ts';

const NDC_SYSTEM = 'http://hl7.org/fhir/sid/ndc';
/**
 * Claim frequency code on a Claim (valueCode 1, 7 or 8). The same URL as Dripline's
 * `EXT_CLAIM_FREQUENCY` (src/claims/build.ts; a test checks they agree): the payer reads the wire
 * format, not its client's code.
 */
/** UB-04 type of bill (institutional `Claim.subType`); its last digit is the frequency. */
const TYPE_OF_BILL_SYSTEM = 'https://www.nubc.org/CodeSystem/TypeOfBill';

/** The line's HCPCS/CPT code (the first coding with one), upper case. */
export function lineCode(item: ClaimItem): string {
  return (item.productOrService.coding?.find((c) => c.code)?.code ?? '').trim().toUpperCase();
}

/** The line's modifiers, upper case. */
export function lineModifiers(item: ClaimItem): string[] {
  return (item.modifier ?? []).flatMap((m) =>
    (m.coding ?? []).map((c) => (c.code ?? '').trim().toUpperCase()).filter((c) => c !== ''),
  );
}

/** The line's date of service (YYYY-MM-DD; a period's start). */
export function lineDate(item: ClaimItem): string {
  return (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10);
}

/** The line's charge: the charge-amount extension, else `net`, else unit price × quantity × factor. */
export function lineCharge(item: ClaimItem): number | undefined {
  const ext = item.extension?.find((e) => e.url === EXT_CHARGE_AMOUNT)?.valueMoney?.value;
  if (typeof ext === 'number') {
    return ext;
  }
  if (typeof item.net?.value === 'number') {
    return item.net.value;
  }
  if (typeof item.unitPrice?.value === 'number') {
    return round2(item.unitPrice.value * (item.quantity?.value ?? 1) * (item.factor ?? 1));
  }
  return undefined;
}

/** Whether the line names an 11-digit NDC in `item.detail`. */
export function hasNdc(item: ClaimItem): boolean {
  return (item.detail ?? []).some((d) =>
    (d.productOrService.coding ?? []).some((c) => c.system === NDC_SYSTEM && /^\d{11}$/.test(c.code ?? '')),
  );
}

/** The member id: from the focal insurance's Coverage (contained, in the Bundle, or the reference's identifier). */
export function memberIdOf(claim: Claim, resources: readonly Resource[] = []): string | undefined {
  const insurance = claim.insurance?.find((i) => i.focal) ?? claim.insurance?.[0];
  if (!insurance) {
    return undefined;
  }
  const ref = insurance.coverage.reference;
  let coverage: Coverage | undefined;
  if (ref?.startsWith('#')) {
    coverage = claim.contained?.find(
      (r): r is Coverage => r.resourceType === 'Coverage' && r.id === ref.slice(1),
    );
  } else if (ref) {
    coverage = resources.find(
      (r): r is Coverage =>
        r.resourceType === 'Coverage' &&
        (ref === `Coverage/${r.id ?? ''}` || ref.endsWith(`/Coverage/${r.id ?? ''}`)),
    );
  }
  const id =
    coverage?.subscriberId ??
    coverage?.identifier?.find((i) => i.value)?.value ??
    insurance.coverage.identifier?.value;
  return id?.trim() ? id.trim() : undefined;
}

/** The claim's ICD-10-CM codes by diagnosis sequence, without dots, upper case. */
export function diagnosisCodes(claim: Claim): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of claim.diagnosis ?? []) {
    const code = d.diagnosisCodeableConcept?.coding?.find((c) => c.code)?.code;
    if (code) {
      out.set(d.sequence, code.replace(/\./g, '').toUpperCase());
    }
  }
  return out;
}

/** The claim's frequency: the `claim-frequency` extension, else an institutional type of bill's last digit; else 1. */
export function claimFrequency(claim: Claim): ClaimFrequency {
  const code =
    claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode?.trim() ??
    claim.subType?.coding
      ?.find((c) => c.system === TYPE_OF_BILL_SYSTEM && /^\d{3,4}$/.test(c.code ?? ''))
      ?.code?.slice(-1);
  return code === '7' || code === '8' ? code : '1';
}

/** `system|value` of each of the claim's identifiers that has a value. */
export function identifierKeys(claim: Claim): string[] {
  return [
    ...new Set((claim.identifier ?? []).flatMap((i) => (i.value ? [`${i.system ?? ''}|${i.value}`] : []))),
  ];
}

/** The Claim's patient (reference, else identifier value). */
export function patientOf(claim: Claim): string {
  return claim.patient.reference ?? claim.patient.identifier?.value ?? '';
}

/** Duplicate-detection key of a line (member, patient, code, modifiers, date, units). */
export function fingerprintOf(
  kind: PayerKind,
  memberId: string | undefined,
  patient: string,
  item: ClaimItem,
): string {
  return [
    kind,
    memberId ?? '',
    patient,
    lineCode(item),
    [...lineModifiers(item)].sort().join(','),
    lineDate(item),
    item.quantity?.value ?? 0,
  ].join('|');
}
