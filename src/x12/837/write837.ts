/**
 * Streaming X12 005010 837 writer: professional (005010X222A1) and institutional (005010X223A2).
 *
 * Layout: one interchange (ISA/IEA) holding one functional group (GS/GE, HC) holding **one
 * transaction set (ST/SE) per claim**. A per-claim transaction keeps each ST..SE small and
 * self-contained (its own BHT, 1000A/1000B and HL numbering from 1), so a 999 rejection names one
 * claim, and the writer only ever holds one claim's segments: memory stays flat however large the
 * batch. Each yielded string is whole segments: first the ISA+GS, then one transaction per claim,
 * then GE+IEA.
 *
 * A claim the writer cannot render validly (missing NPI, no diagnosis, a line without units...)
 * raises X12Error before any of its segments are yielded; with `onError` the claim is skipped
 * instead (reported to the callback, not counted in GE01) and the batch goes on.
 *
 * Transaction: ST, BHT, 1000A (NM1*41, PER), 1000B (NM1*40), 2000A (HL 20, PRV*BI, 2010AA NM1*85
 * N3 N4 REF*EI), 2000B (HL 22, SBR, 2010BA NM1*IL N3 N4 DMG, 2010BB NM1*PR), 2000C when the patient is
 * not the subscriber (HL 23, PAT, 2010CA NM1*QC N3 N4 DMG; who the subscriber is: ./subscriber.ts), 2300 (CLM, 837I DTP*434 and CL1, REF*G1,
 * REF*F8, HI), 2310A attending (837I, required: src/claims/attending.ts chooses it) / 2310B rendering
 * (837P, when the Claim's care team has a contained Practitioner with an NPI), 2400 per line (LX, SV1 or SV2, DTP*472, 2410 LIN/CTP for an
 * NDC), SE.
 *
 * Where each part is: ./types.ts (input and options), ./transaction.ts (one claim's ST..SE, in loop
 * order), ./header-1000.ts, ./billing-2000a.ts, ./subscriber-patient-2000bc.ts, ./claim-2300.ts
 * (with 2310), ./lines-2400.ts (with 2410), ./claim-reading.ts (what they read of the FHIR Claim),
 * ./party.ts (NM1/N3/N4/DMG); the envelope and its streaming are ../envelope.ts.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeInterchange } from '../envelope.ts';
import { firstCode } from './claim-reading.ts';
import { transactionSegments } from './transaction.ts';
import type { Claim837Input, Write837Options, X12Kind } from './types.ts';
import { IMPLEMENTATION } from './types.ts';

/**
 * Write an 837 interchange for `claims`, yielding whole segments (see the module comment). The
 * input is consumed lazily, one claim at a time.
 */
export async function* write837(
  claims: AsyncIterable<Claim837Input> | Iterable<Claim837Input>,
  options: Write837Options,
): AsyncGenerator<string, void, undefined> {
  const onError = options.onError;
  yield* writeInterchange(claims, (ctx, stControl) => transactionSegments(ctx, stControl, options), {
    sender: options.sender,
    receiver: options.receiver,
    controlNumbers: options.controlNumbers,
    now: options.now,
    usage: options.usage,
    ackRequested: options.ackRequested,
    functionalId: 'HC',
    version: IMPLEMENTATION[options.kind],
    lineBreaks: options.lineBreaks,
    chunkSize: options.chunkSize,
    maxTransactionsPerGroup: options.maxTransactionsPerGroup,
    onError: onError ? (ctx, error) => onError(ctx.claim.id, error) : undefined,
  });
}

/** The whole interchange as one string (for one claim or a few; batches should stream). */
export async function write837ToString(
  claims: AsyncIterable<Claim837Input> | Iterable<Claim837Input>,
  options: Write837Options,
): Promise<string> {
  let s = '';
  for await (const chunk of write837(claims, options)) {
    s += chunk;
  }
  return s;
}

/**
 * The interchange written to `file` as it is built: chunks of `chunkSize` characters (default
 * 64 KiB) go through a file stream that is waited on when its buffer is full, so memory holds one
 * chunk and one claim whatever the number of claims. Resolves to the bytes written.
 */
export async function write837ToFile(
  claims: AsyncIterable<Claim837Input> | Iterable<Claim837Input>,
  options: Write837Options,
  file: string,
): Promise<number> {
  const out = createWriteStream(file, { flags: 'wx' });
  await pipeline(
    Readable.from(write837(claims, { ...options, chunkSize: options.chunkSize ?? DEFAULT_FILE_CHUNK })),
    out,
  );
  return out.bytesWritten;
}

const DEFAULT_FILE_CHUNK = 64 * 1024;

/** 837P for professional claims (office, home), 837I for institutional (hospital outpatient). */
export function kindFor(ctx: Pick<Claim837Input, 'claim' | 'setting'>): X12Kind {
  const type = firstCode(ctx.claim.type);
  if (type === 'institutional') {
    return '837I';
  }
  if (type === 'professional') {
    return '837P';
  }
  return ctx.setting === 'hospital-outpatient' ? '837I' : '837P';
}
