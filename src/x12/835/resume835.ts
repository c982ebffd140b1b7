/**
 * Reading an 835 file in steps: each claim payment comes out with the point to resume at it, and a
 * read can start at such a point instead of the file's start, so a file posted by many jobs is
 * parsed once in all (not once per job from the start).
 *
 * A resumed read takes the context the claim payments need from where the point says it is — the
 * interchange's ISA (delimiters), the group's GS (envelope), the transaction set's ST and header
 * (BPR, TRN, payer, payee) — then reads on from the claim payment's CLP to the end of the file. It
 * reads a file that was read whole before (the envelope checks and the balancing were done then):
 * it checks no envelope and balances nothing of the transaction set it resumes in (its sums are
 * partial); syntax is still checked.
 *
 * Offsets: the tokenizer counts characters, a file is opened at a byte. They are the same while
 * every byte read so far decoded to one character (X12's character sets are ASCII); once a chunk
 * holds a multi-byte character the claim payments after it carry no resume point (a reader then
 * starts from the file's beginning, as before).
 */
import { EnvelopeChecker } from '../envelope-check.ts';
import type { X12Segment } from '../parse.ts';
import { X12Tokenizer } from '../parse.ts';
import { Reader835 } from './read835.ts';
import type { Event835 } from './types.ts';

/** Where a read can resume: at a claim payment's CLP, with the context before it (byte offsets). */
export interface ResumePoint835 {
  /** Byte offsets of its interchange's ISA, its group's GS, its transaction set's ST, and its CLP. */
  readonly isa: number;
  readonly gs: number;
  readonly st: number;
  readonly at: number;
  /** The CLP's segment number in the file (for messages). */
  readonly segment: number;
  /** Its transaction set's number in the file, and the claim payments of that set before it. */
  readonly transaction: number;
  readonly claims: number;
  /** LX01 of the header number loop it is in, if any. */
  readonly headerNumber?: string;
}

/** A claim event with the point to resume at it (undefined: offsets are no longer bytes). */
export type ResumableEvent835 =
  | Exclude<Event835, { type: 'claim' }>
  | (Extract<Event835, { type: 'claim' }> & { readonly resume: ResumePoint835 | undefined });

/** Opens the file at a byte offset, to its end. */
export type OpenAt = (start: number) => AsyncIterable<Uint8Array>;

/**
 * Feeds the tokenizer from `start` until `take` returns false (the segment that stopped it is not
 * taken); the rest of what was read is dropped.
 */
async function readPart(
  open: OpenAt,
  tokenizer: X12Tokenizer,
  start: number,
  take: (segment: X12Segment) => boolean,
): Promise<void> {
  tokenizer.skipTo(start, 1);
  const decoder = new TextDecoder('utf-8');
  let done = false;
  const each = (segment: X12Segment): boolean => {
    done = !take(segment);
    return !done;
  };
  for await (const chunk of open(start)) {
    tokenizer.feed(decoder.decode(chunk, { stream: true }), each);
    if (done) {
      return;
    }
  }
  throw new Error(`the file ends before the resume point's context (from byte ${start})`);
}

/** Reads an 835 file from its start, or from `from` (module comment). */
export async function* read835Resumable(
  open: OpenAt,
  from?: ResumePoint835,
): AsyncGenerator<ResumableEvent835, void, undefined> {
  const tokenizer = new X12Tokenizer();
  const reader = new Reader835();
  const checker = from ? undefined : new EnvelopeChecker();
  const out: Event835[] = [];
  let transaction = 0;
  let header: { isa: number; gs: number; st: number } | undefined;
  if (from) {
    await readPart(open, tokenizer, from.isa, (s) => {
      reader.push(s, out);
      return s.id !== 'ISA';
    });
    await readPart(open, tokenizer, from.gs, (s) => {
      reader.push(s, out);
      return s.id !== 'GS';
    });
    reader.startAt(from.transaction);
    await readPart(open, tokenizer, from.st, (s) => {
      if (s.id === 'LX' || s.id === 'CLP' || s.id === 'PLB' || s.id === 'SE') {
        return false;
      }
      reader.push(s, out);
      return true;
    });
    reader.resumeClaims(from.claims, from.headerNumber, out);
    tokenizer.skipTo(from.at, from.segment);
  }
  const segment = (s: X12Segment): void => {
    checker?.check(s);
    reader.push(s, out);
  };
  // Whether every byte so far decoded to one character: offsets are then byte offsets.
  let bytes = true;
  const events = function* (): Generator<ResumableEvent835> {
    for (const event of out) {
      if (event.type === 'header') {
        transaction = event.header.transaction;
        header = event.offsets;
        yield event;
      } else if (event.type === 'claim') {
        const claim = event.claim;
        yield {
          ...event,
          resume:
            bytes && header && claim.transaction === transaction
              ? {
                  ...header,
                  at: event.offset,
                  segment: claim.segment,
                  transaction,
                  claims: claim.position - 1,
                  ...(claim.headerNumber !== undefined ? { headerNumber: claim.headerNumber } : {}),
                }
              : undefined,
        };
      } else {
        yield event;
      }
    }
    out.length = 0;
  };
  const decoder = new TextDecoder('utf-8');
  const feed = function* (text: string, length: number): Generator<ResumableEvent835> {
    bytes &&= text.length === length;
    try {
      tokenizer.feed(text, segment);
    } finally {
      // The events completed before a syntax fault still go out, before the fault.
      yield* events();
    }
  };
  for await (const chunk of open(from?.at ?? 0)) {
    yield* feed(decoder.decode(chunk, { stream: true }), chunk.length);
  }
  yield* feed(decoder.decode(), 0);
  tokenizer.end();
  checker?.end();
}
