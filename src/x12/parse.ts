/**
 * Streaming X12 segment parser: text in (any chunking, strings or bytes), segments out, one at a
 * time, so an 835 or 271 of any size is read in bounded memory. It reads each interchange's
 * delimiters from its ISA (./delimiters.ts), tolerates line breaks and indentation between segments, and
 * refuses what is not an interchange: no ISA, a malformed ISA, a segment id that is not 2-3
 * letters or digits, an empty segment, data after the last terminator, input that ends before the
 * IEA. Several interchanges may follow each other, each with its own delimiters.
 *
 * It only tokenizes: loops, envelopes and transaction rules belong to the readers built on it.
 * Element values come as written (ISA fields keep their padding). X12 005010 TR3s Appendix B
 * (B.1.1.2.5 delimiters); X12.5 (ISA/IEA). x12-parser, used by the tests as an independent reader
 * of our 837s, is not used here: it trims values, drops repetitions and validates nothing.
 */
import type { Delimiters } from './delimiters.ts';
import { delimitersOfIsa, ISA_LENGTH } from './delimiters.ts';

export interface X12Segment {
  /** Segment id: ISA, GS, ST, CLP, EB... */
  readonly id: string;
  /** The elements after the id as written: `elements[0]` is XX01. */
  readonly elements: readonly string[];
  /** The delimiters of the interchange it belongs to (to split composites and repetitions). */
  readonly delimiters: Delimiters;
  /** 1-based number of the segment in the input (across interchanges), for messages. */
  readonly position: number;
  /** Character offset in the input of the segment's first character. */
  readonly offset: number;
}

/** Input that is not a well-formed sequence of X12 interchanges. */
export class X12SyntaxError extends Error {
  /** Character offset in the input where the problem is. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`X12 syntax at character ${offset}: ${message}`);
    this.name = 'X12SyntaxError';
    this.offset = offset;
  }
}

/** Element XXnn (1-based), '' when the segment stops before it. */
export function element(segment: X12Segment, n: number): string {
  return segment.elements[n - 1] ?? '';
}

/** The components of element XXnn (XXnn-1, XXnn-2...); one when it is not a composite. */
export function components(segment: X12Segment, n: number): string[] {
  return element(segment, n).split(segment.delimiters.component);
}

/** The repetitions of element XXnn; one when it does not repeat or the interchange has no separator. */
export function repetitions(segment: X12Segment, n: number): string[] {
  const value = element(segment, n);
  const separator = segment.delimiters.repetition;
  return separator === undefined ? [value] : value.split(separator);
}

/** Whether `text[from, to)` is a segment id: 2-3 upper-case letters or digits. */
function isSegmentId(text: string, from: number, to: number): boolean {
  const length = to - from;
  if (length < 2 || length > 3) {
    return false;
  }
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39))) {
      return false;
    }
  }
  return true;
}
/**
 * The value cut from the buffer, as a string of its own. V8 makes a slice of 13 characters or more
 * a view that keeps the whole string it was cut from alive: a reader that kept one claim number
 * per claim (posting keeps each claim's for the PaymentReconciliation) kept every chunk of the
 * file, i.e. the whole file. Concatenating and slicing again copies the characters into a new
 * short string (shorter values are copied by V8 already).
 */
function detached(value: string): string {
  return value.length < 13 ? value : (' ' + value).slice(1);
}

/**
 * What may stand between segments (after a terminator) or around interchanges: line breaks, and
 * the spaces and tabs of files indented for reading (no delimiter may be a space; a tab that is
 * one is never skipped).
 */
const isLineBreak = (c: number): boolean => c === 0x0d || c === 0x0a || c === 0x20 || c === 0x09;
const BYTE_ORDER_MARK = 0xfeff;

/**
 * The push parser under parseX12: `push` text as it arrives and iterate the segments it completes
 * (lazily: a syntax error is thrown when iteration reaches it, after the segments before it); `end`
 * when the input is over (it throws when the input stopped inside an interchange). `feed` does
 * what `push` does with a callback per segment instead of an iterator (the 835 reader's hot path:
 * no generator step per segment).
 */
export class X12Tokenizer {
  #buffer = '';
  /** Where the next segment (or line break) starts in #buffer. */
  #at = 0;
  /** Characters of the input before #buffer[0]. */
  #dropped = 0;
  #delimiters: Delimiters | undefined;
  #position = 0;

  *push(text: string): Generator<X12Segment, void, undefined> {
    this.write(text);
    for (let segment = this.read(); segment !== undefined; segment = this.read()) {
      yield segment;
    }
  }

  /**
   * `push` with a callback: each segment the text completes, in order; throws where `push` would.
   * A callback that returns `false` stops the tokenizer there (the rest stays buffered, unread).
   */
  feed(text: string, each: (segment: X12Segment) => unknown): void {
    this.write(text);
    for (let segment = this.read(); segment !== undefined; segment = this.read()) {
      if (each(segment) === false) {
        return;
      }
    }
  }

  /**
   * The input continues at character `offset` of the same input, with segment number `position`
   * (a reader resuming mid-file, after the segments that set its context): what is buffered is
   * dropped; the interchange's delimiters stay.
   */
  skipTo(offset: number, position: number): void {
    this.#buffer = '';
    this.#at = 0;
    this.#dropped = offset;
    this.#position = position - 1;
  }

  /** Adds text to what `read` reads from. */
  write(text: string): void {
    this.#dropped += this.#at;
    this.#buffer = this.#at === this.#buffer.length ? text : this.#buffer.slice(this.#at) + text;
    this.#at = 0;
  }

  /**
   * The next complete segment of the text written so far, or undefined when it needs more input
   * (the pull form of `push`: a reader that hands out what each segment completes at once, not
   * per chunk, keeps no chunk's worth of results alive).
   */
  read(): X12Segment | undefined {
    const at = this.#skipBreaks(this.#at);
    this.#at = at;
    if (at >= this.#buffer.length) {
      return undefined;
    }
    if (this.#delimiters === undefined) {
      const available = this.#buffer.length - at;
      if (!this.#buffer.startsWith('ISA'.slice(0, Math.min(3, available)), at)) {
        throw new X12SyntaxError('an interchange must begin with an ISA segment', this.#dropped + at);
      }
      if (available < ISA_LENGTH) {
        return undefined;
      }
      const isa = this.#header(at);
      this.#at = at + ISA_LENGTH;
      return isa;
    }
    const end = this.#buffer.indexOf(this.#delimiters.segment, at);
    if (end < 0) {
      return undefined;
    }
    const segment = this.#segment(at, end);
    this.#at = end + 1;
    return segment;
  }

  end(): void {
    const rest = this.#skipBreaks(this.#at);
    const offset = this.#dropped + rest;
    if (rest < this.#buffer.length) {
      throw new X12SyntaxError(
        this.#delimiters === undefined
          ? 'the input ends inside an ISA (an ISA has 106 characters)'
          : 'the input ends inside a segment (no segment terminator)',
        offset,
      );
    }
    if (this.#delimiters !== undefined) {
      throw new X12SyntaxError('the input ends before the IEA that closes the interchange', offset);
    }
    if (this.#position === 0) {
      throw new X12SyntaxError('the input holds no interchange', offset);
    }
  }

  /** The index of the first character at or after `at` that is not a line break (nor, first, a BOM). */
  #skipBreaks(at: number): number {
    const buffer = this.#buffer;
    let i = at;
    if (this.#dropped + i === 0 && buffer.charCodeAt(0) === BYTE_ORDER_MARK) {
      i++;
    }
    const terminator = this.#delimiters?.segment.charCodeAt(0);
    while (i < buffer.length) {
      const c = buffer.charCodeAt(i);
      if (!isLineBreak(c) || c === terminator) {
        break;
      }
      i++;
    }
    return i;
  }

  #header(at: number): X12Segment {
    const isa = this.#buffer.slice(at, at + ISA_LENGTH);
    const read = delimitersOfIsa(isa);
    if (!read.ok) {
      throw new X12SyntaxError(read.problem, this.#dropped + at);
    }
    this.#delimiters = read.delimiters;
    // The ISA's last element (ISA16) is the component separator itself: split on elements only.
    return this.#emit('ISA', isa.slice(4, ISA_LENGTH - 1).split(read.delimiters.element), at);
  }

  #segment(at: number, end: number): X12Segment {
    const delimiters = this.#delimiters as Delimiters;
    const buffer = this.#buffer;
    let stop = end;
    if (delimiters.segment === '\n' && stop > at && buffer.charCodeAt(stop - 1) === 0x0d) {
      stop--;
    }
    const separator = buffer.indexOf(delimiters.element, at);
    const idEnd = separator < 0 || separator > stop ? stop : separator;
    if (!isSegmentId(buffer, at, idEnd)) {
      const id = buffer.slice(at, idEnd);
      throw new X12SyntaxError(
        stop === at
          ? 'an empty segment (two terminators in a row)'
          : `"${id.slice(0, 20)}" is not a segment id (2-3 upper-case letters or digits)`,
        this.#dropped + at,
      );
    }
    const id = buffer.slice(at, idEnd);
    if (id === 'ISA') {
      throw new X12SyntaxError('an ISA inside an interchange (its IEA is missing)', this.#dropped + at);
    }
    if (id === 'IEA') {
      this.#delimiters = undefined;
    }
    // Cut from the buffer element by element (a slice then split allocates the segment twice).
    const elements: string[] = [];
    if (idEnd < stop) {
      for (let from = idEnd + 1; ;) {
        const next = buffer.indexOf(delimiters.element, from);
        if (next < 0 || next >= stop) {
          elements.push(detached(buffer.slice(from, stop)));
          break;
        }
        elements.push(detached(buffer.slice(from, next)));
        from = next + 1;
      }
    }
    return this.#emit(id, elements, at, delimiters);
  }

  #emit(id: string, elements: string[], at: number, delimiters = this.#delimiters as Delimiters): X12Segment {
    this.#position++;
    return { id, elements, delimiters, position: this.#position, offset: this.#dropped + at };
  }
}

/**
 * The segments of an X12 input, as they complete. Bytes are read as UTF-8 (X12's basic and extended
 * character sets are ASCII); chunks may split anything, a multi-byte character included. Throws
 * X12SyntaxError where the input stops being X12 — after yielding every segment before that point.
 */
export async function* parseX12(
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): AsyncGenerator<X12Segment, void, undefined> {
  const tokenizer = new X12Tokenizer();
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    yield* tokenizer.push(text);
  }
  yield* tokenizer.push(decoder.decode());
  tokenizer.end();
}
