/**
 * Loop 2300, the claim, and loop 2310, its clinician: the diagnoses (HI, principal first), CLM with
 * the total charge, place of service or facility type and frequency, 837I statement dates (DTP*434)
 * and patient status (CL1), prior authorization (REF*G1), the original claim of a replacement or
 * void (REF*F8); then 2310A attending (837I, required) or 2310B rendering (837P, when on the care
 * team). The attending is chosen when the claim is built (src/claims/attending.ts).
 *
 * 005010X222A1 / X223A2: CLM02 must equal the sum of the line charges; HI carries at most 12
 * diagnoses on 837P, 25 on 837I (ABK principal, ABF others; 837I 12 per HI after the principal).
 */
import type { Claim } from '@medplum/fhirtypes';
import { composite, d8, decimal, id, npi, segment, text, X12Error } from '../encode.ts';
import {
  careTeamPractitioner,
  cents,
  claimFrequency,
  firstCode,
  originalClaimNumber,
  patientStatus,
  SYS,
  typeOfBill,
} from './claim-reading.ts';
import type { Line } from './lines-2400.ts';
import type { Claim837Input, X12Kind } from './types.ts';

const POS_BY_SETTING: Readonly<Record<string, string>> = {
  office: '11',
  home: '12',
  'hospital-outpatient': '22',
};

/**
 * The claim's diagnoses as HI codes, principal first, and each Claim.diagnosis.sequence's HI
 * position (what the lines' pointers refer to).
 */
export function readDiagnoses(
  claim: Claim,
  kind: X12Kind,
  claimId: string,
): { hiPosition: Map<number, number>; dxCodes: string[] } {
  const diagnoses = [...(claim.diagnosis ?? [])].sort((a, b) => a.sequence - b.sequence);
  const principal = diagnoses.findIndex((d) => d.type?.some((t) => firstCode(t) === 'principal'));
  if (principal > 0) {
    diagnoses.unshift(...diagnoses.splice(principal, 1));
  }
  if (diagnoses.length === 0) {
    throw new X12Error('has no diagnosis (HI ABK is required)', claimId);
  }
  const maxDx = kind === '837P' ? 12 : 25;
  if (diagnoses.length > maxDx) {
    throw new X12Error(`has ${diagnoses.length} diagnoses; ${kind} carries at most ${maxDx}`, claimId);
  }
  const hiPosition = new Map<number, number>(diagnoses.map((d, i) => [d.sequence, i + 1]));
  const dxCodes = diagnoses.map((d) =>
    id(
      firstCode(d.diagnosisCodeableConcept, SYS.icd10cm)?.replace('.', ''),
      `diagnosis ${d.sequence}`,
      30,
      claimId,
    ),
  );
  return { hiPosition, dxCodes };
}

/**
 * Appends loop 2300 (CLM through HI) to `out` and returns the claim's place of service (CLM05-1 on
 * 837P, '' on 837I), which the lines repeat only where theirs differs.
 */
export function writeClaim(
  out: string[],
  ctx: Claim837Input,
  kind: X12Kind,
  lines: readonly Line[],
  dxCodes: readonly string[],
  preAuthRef: string | undefined,
  claimId: string,
): string {
  const claim = ctx.claim;
  const frequency = claimFrequency(claim);
  // CLM02: Claim.total when present (it must balance to the sum of the line charges, TR3), else a
  // total-charge extension, else the sum of the line charges.
  const lineCents = lines.reduce((s, l) => s + cents(l.charge), 0);
  const totalExt = claim.extension?.find((e) => e.url.includes('total-charge'))?.valueMoney?.value;
  if (claim.total?.value !== undefined && cents(claim.total.value) !== lineCents) {
    throw new X12Error(
      `total charge ${claim.total.value} (Claim.total) does not equal the sum of the line charges ${(lineCents / 100).toFixed(2)}`,
      claimId,
    );
  }
  const total = decimal(claim.total?.value ?? totalExt ?? lineCents / 100, 'total charge', 2, claimId);
  const tob = typeOfBill(claim);
  const claimPos = kind === '837P' ? (lines[0]?.pos ?? POS_BY_SETTING[ctx.setting] ?? '11') : '';
  if (kind === '837P') {
    out.push(segment('CLM', claimId, total, '', '', composite(claimPos, 'B', frequency), 'Y', 'A', 'Y', 'Y'));
  } else {
    const facility = tob ? tob.slice(1, 3) : '13';
    out.push(segment('CLM', claimId, total, '', '', composite(facility, 'A', frequency), '', 'A', 'Y', 'Y'));
    const dates = lines.map((l) => l.date).sort();
    const from = claim.billablePeriod?.start
      ? d8(claim.billablePeriod.start, 'billable period', claimId)
      : dates[0];
    const to = claim.billablePeriod?.end
      ? d8(claim.billablePeriod.end, 'billable period', claimId)
      : dates[dates.length - 1];
    out.push(segment('DTP', '434', 'RD8', `${from}-${to}`));
    if (facility === '11' || facility === '12') {
      throw new X12Error(
        `inpatient type of bill ${tob ?? ''} is not supported (CL1 admission data)`,
        claimId,
      );
    }
    out.push(segment('CL1', '', '', patientStatus(ctx)));
  }
  if (preAuthRef) {
    out.push(segment('REF', 'G1', id(preAuthRef, 'prior authorization (insurance.preAuthRef)', 50, claimId)));
  }
  if (frequency === '7' || frequency === '8') {
    out.push(
      segment(
        'REF',
        'F8',
        id(originalClaimNumber(claim), 'original claim number (Claim.related)', 50, claimId),
      ),
    );
  }
  const dxElements = dxCodes.map((c, i) => composite(i === 0 ? 'ABK' : 'ABF', c));
  if (kind === '837P') {
    out.push(segment('HI', ...dxElements));
  } else {
    out.push(segment('HI', dxElements[0]));
    for (let i = 1; i < dxElements.length; i += 12) {
      out.push(segment('HI', ...dxElements.slice(i, i + 12)));
    }
  }
  return claimPos;
}

/** Appends loop 2310A attending (837I) or 2310B rendering (837P): a contained Practitioner on the care team. */
export function writeClinician(out: string[], claim: Claim, kind: X12Kind, claimId: string): void {
  const clinician = careTeamPractitioner(
    claim,
    kind === '837I' ? ['attending', 'primary'] : ['primary', 'performing'],
  );
  if (!clinician && kind === '837I') {
    throw new X12Error(
      'has no attending provider (loop 2310A is required on 837I): a care team member with role attending and a contained Practitioner with an NPI',
      claimId,
    );
  }
  if (clinician) {
    out.push(
      segment(
        'NM1',
        kind === '837I' ? '71' : '82',
        '1',
        text(clinician.name?.family, 60) || id(undefined, 'care team practitioner family name', 60, claimId),
        text(clinician.name?.given?.[0], 35),
        text(clinician.name?.given?.[1], 25),
        '',
        text(clinician.name?.suffix?.[0], 10),
        'XX',
        npi(clinician.npi, 'care team practitioner NPI', claimId),
      ),
    );
    if (clinician.taxonomy) {
      out.push(
        segment('PRV', kind === '837I' ? 'AT' : 'PE', 'PXC', id(clinician.taxonomy, 'taxonomy', 50, claimId)),
      );
    }
  }
}
