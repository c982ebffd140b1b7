/**
 * One claim's 837 transaction set, ST..SE: everything the claim cannot go without is read and
 * checked first (diagnoses, lines, the focal coverage and its insured), then the loops are written
 * in their order — header and 1000A/B, 2000A, 2000B/C, 2300/2310, 2400 — and SE counts them. A claim
 * that cannot be rendered raises X12Error and nothing of it is kept.
 */
import { seSegment } from '../envelope.ts';
import { id, X12Error } from '../encode.ts';
import { writeBillingProvider } from './billing-2000a.ts';
import { readDiagnoses, writeClaim, writeClinician } from './claim-2300.ts';
import { focalCoverage } from './claim-reading.ts';
import { writeHeader } from './header-1000.ts';
import { readLines, writeServiceLines } from './lines-2400.ts';
import { readSubscriber } from './subscriber.ts';
import { writeSubscriberAndPatient } from './subscriber-patient-2000bc.ts';
import type { Claim837Input, Write837Options } from './types.ts';

/** The segments of one claim's transaction set, ST..SE (also used alone to check a claim renders). */
export function transactionSegments(
  ctx: Claim837Input,
  stControl: string,
  options: Write837Options,
): string[] {
  const { kind } = options;
  const claim = ctx.claim;
  const claimId = id(claim.id, 'claim id (CLM01)', 38, claim.id);
  const out: string[] = [];

  const { hiPosition, dxCodes } = readDiagnoses(claim, kind, claimId);
  const lines = readLines(ctx, kind, hiPosition, claimId);
  const { coverage, sequence, preAuthRef } = focalCoverage(ctx);
  const reading = readSubscriber(coverage, ctx.patient, ctx.subscriber);
  if (!reading.ok) {
    throw new X12Error(`missing ${reading.missing.map((g) => g.text).join('; ')}`, claimId);
  }

  writeHeader(out, ctx, stControl, options, claimId);
  writeBillingProvider(out, ctx.provider, claimId);
  writeSubscriberAndPatient(out, ctx, kind, { coverage, sequence }, reading.insured, claimId);
  const claimPos = writeClaim(out, ctx, kind, lines, dxCodes, preAuthRef, claimId);
  writeClinician(out, claim, kind, claimId);
  writeServiceLines(out, lines, kind, claimPos, claimId);
  out.push(seSegment(out.length + 1, stControl));
  return out;
}
