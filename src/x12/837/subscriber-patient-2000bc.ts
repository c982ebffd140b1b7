/**
 * Loops 2000B and 2000C: the subscriber (HL 22, SBR, 2010BA NM1*IL with the member id, N3/N4, DMG
 * when the patient is the subscriber), the payer (2010BB NM1*PR) and, when someone else is the
 * subscriber, the patient (HL 23, PAT, 2010CA NM1*QC, N3/N4, DMG). Who the insured is: ./subscriber.ts.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { id, segment, text } from '../encode.ts';
import { filingIndicator, groupOf, memberId } from './claim-reading.ts';
import { addressSegments, demographics, nameSegments } from './party.ts';
import type { Insured } from './subscriber.ts';
import { preferredAddress, preferredName } from './subscriber.ts';
import type { Claim837Input, X12Kind } from './types.ts';

/** SBR01 by payer sequence (1 = primary). */
const RESPONSIBILITY = ['P', 'S', 'T', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

/** Appends loop 2000B (HL 2) with 2010BA and 2010BB, and loop 2000C (HL 3) when needed, to `out`. */
export function writeSubscriberAndPatient(
  out: string[],
  ctx: Claim837Input,
  kind: X12Kind,
  focal: { readonly coverage: Coverage; readonly sequence: number },
  insured: Insured,
  claimId: string,
): void {
  const { coverage, sequence } = focal;
  const patientIsSubscriber = insured.kind === 'patient';
  const group = groupOf(coverage);
  out.push(segment('HL', '2', '1', '22', patientIsSubscriber ? '0' : '1'));
  out.push(
    segment(
      'SBR',
      RESPONSIBILITY[sequence - 1] ?? 'U',
      patientIsSubscriber ? '18' : '',
      group.number,
      group.number ? '' : group.name,
      '',
      '',
      '',
      '',
      filingIndicator(ctx, kind),
    ),
  );
  const member = memberId(coverage, claimId);
  if (insured.kind === 'patient') {
    out.push(nameSegments('IL', preferredName(ctx.patient.name), ['MI', member], claimId));
    out.push(...addressSegments(preferredAddress(ctx.patient.address), 'patient', claimId, true));
    out.push(demographics(ctx.patient.birthDate, ctx.patient.gender, claimId));
  } else {
    // 2010BA names the subscriber; N3/N4 when known, no DMG (required only when the patient is the subscriber).
    out.push(nameSegments('IL', insured.name, ['MI', member], claimId));
    out.push(...addressSegments(insured.address, 'subscriber', claimId, false));
  }
  out.push(
    segment(
      'NM1',
      'PR',
      '2',
      text(ctx.payerOrganization?.name ?? ctx.payer.name, 60),
      '',
      '',
      '',
      '',
      'PI',
      id(ctx.payer.payerId, 'payer id', 80, claimId),
    ),
  );
  if (insured.kind === 'other') {
    out.push(segment('HL', '3', '2', '23', '0'));
    out.push(segment('PAT', insured.relationship));
    out.push(nameSegments('QC', preferredName(ctx.patient.name), [], claimId));
    out.push(...addressSegments(preferredAddress(ctx.patient.address), 'patient', claimId, true));
    out.push(demographics(ctx.patient.birthDate, ctx.patient.gender, claimId));
  }
}
