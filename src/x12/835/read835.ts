/**
 * The 835 reader: segments in (as the tokenizer and the envelope checks hand them, ../parse.ts and
 * ../envelope-check.ts), typed events out, one transaction set at a time (./transaction-reader.ts).
 * It holds one claim payment at a time and running sums, so a remittance of any size is read in
 * bounded memory; `read835` streams any input through it.
 */
import { EnvelopeChecker } from '../envelope-check.ts';
import type { X12Segment } from '../parse.ts';
import { element, X12Tokenizer } from '../parse.ts';
import { TransactionReader } from './transaction-reader.ts';
import type { Envelope835, Event835 } from './types.ts';

export { IMPLEMENTATION_835 } from './transaction-reader.ts';

/** Bytes of input decoded at a time (texts this size stay in the young generation). */
const DECODE_PIECE = 64 * 1024;

/**
 * The 835 reader over a stream of segments (envelopes already checked): `push` each segment and
 * take the events it completes from `out`.
 */
export class Reader835 {
  #isa: X12Segment | undefined;
  #gs: X12Segment | undefined;
  #transaction: TransactionReader | undefined;
  #count = 0;

  /** Transaction sets begun so far. */
  get transactions(): number {
    return this.#count;
  }

  /** Resuming mid-file (./resume835.ts): the next ST is transaction set `number` of the input. */
  startAt(number: number): void {
    this.#count = number - 1;
  }

  /** Resuming: the open transaction set's claim payments go on after `claims` (TransactionReader.resume). */
  resumeClaims(claims: number, lx: string | undefined, out: Event835[]): void {
    this.#transaction?.resume(claims, lx, out);
  }

  push(s: X12Segment, out: Event835[]): void {
    switch (s.id) {
      case 'ISA':
        this.#isa = s;
        return;
      case 'GS':
        this.#gs = s;
        return;
      case 'ST':
        this.#count++;
        this.#transaction = new TransactionReader(this.#count, s, this.#envelope(), {
          isa: this.#isa?.offset ?? 0,
          gs: this.#gs?.offset ?? 0,
        });
        return;
      case 'SE':
        this.#transaction?.finish(s, out);
        this.#transaction = undefined;
        return;
      case 'GE':
      case 'IEA':
      case 'TA1':
        return;
      default:
        this.#transaction?.push(s, out);
    }
  }

  #envelope(): Envelope835 {
    const isa = this.#isa;
    const gs = this.#gs;
    const party = (q: string, id: string): string => `${q.trim()}:${id.trim()}`;
    return {
      sender: isa ? party(element(isa, 5), element(isa, 6)) : '',
      receiver: isa ? party(element(isa, 7), element(isa, 8)) : '',
      interchangeControlNumber: isa ? element(isa, 13) : '',
      usage: isa ? element(isa, 15) : '',
      groupSender: gs ? element(gs, 2) : '',
      groupReceiver: gs ? element(gs, 3) : '',
      groupControlNumber: gs ? element(gs, 6) : '',
      version: gs ? element(gs, 8) : '',
    };
  }
}

/**
 * Reads an 835 input of any size and chunking (strings or bytes, UTF-8): the tokenizer, the
 * envelope checks and the reader in one synchronous pass per chunk, the events of each chunk
 * handed out as it completes. Throws X12SyntaxError (after the events before it) where the input
 * stops being well-formed X12 or its envelopes do not check out: such an input is refused whole.
 */
export async function* read835(
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): AsyncGenerator<Event835, void, undefined> {
  const tokenizer = new X12Tokenizer();
  const checker = new EnvelopeChecker();
  const reader = new Reader835();
  const decoder = new TextDecoder('utf-8');
  const out: Event835[] = [];
  // Each event goes out as soon as its segment completes it, not once per chunk: a chunk of a
  // megabyte holds ~2,000 claim payments, and holding them all until the chunk was read kept them
  // alive past the young generation (half the reading time was garbage collection). The events
  // before a syntax fault go out before it.
  const feed = function* (text: string): Generator<Event835> {
    tokenizer.write(text);
    for (let s = tokenizer.read(); s !== undefined; s = tokenizer.read()) {
      checker.check(s);
      reader.push(s, out);
      if (out.length > 0) {
        yield* out;
        out.length = 0;
      }
    }
  };
  for await (const chunk of input) {
    if (typeof chunk === 'string') {
      yield* feed(chunk);
      continue;
    }
    // Decoded a piece at a time: a text of a megabyte (a file read's chunk) is allocated in the
    // old generation at once, and a few of them trigger full collections.
    for (let at = 0; at < chunk.length; at += DECODE_PIECE) {
      yield* feed(decoder.decode(chunk.subarray(at, at + DECODE_PIECE), { stream: true }));
    }
  }
  yield* feed(decoder.decode());
  tokenizer.end();
  checker.end();
}
