/**
 * Checks the envelopes of a parsed segment stream as it passes: every segment is handed on
 * unchanged, and the first envelope fault stops the stream with an X12SyntaxError naming it. Kept
 * apart from the tokenizer (./parse.ts), which knows nothing of envelopes, so that a reader (835,
 * 271) gets well-nested, counted, matching envelopes or nothing.
 *
 * X12.5 / X12.6 and the 005010 TR3s, Appendix B (B.1.1.4 control segments): ISA … IEA holds
 * functional groups (and TA1 acknowledgments); GS … GE holds transaction sets; ST … SE holds the
 * transaction. IEA01 counts the groups and IEA02 repeats ISA13; GE01 counts the transactions and
 * GE02 repeats GS06; SE01 counts the segments from ST to SE inclusive and SE02 repeats ST02, which
 * is unique within its group.
 */
import type { X12Segment } from './parse.ts';
import { element, X12SyntaxError } from './parse.ts';

function fault(segment: X12Segment, message: string): X12SyntaxError {
  return new X12SyntaxError(`segment ${segment.position} (${segment.id}): ${message}`, segment.offset);
}

/** Control numbers compare as numbers (ISA13 is zero-padded to 9 digits, IEA02 may not be). */
function sameNumber(a: string, b: string): boolean {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) === Number(b) : a.trim() === b.trim();
}

/**
 * The envelope checks as a state machine fed one segment at a time (synchronous, for readers that
 * run the tokenizer's segments straight through): `check` throws an X12SyntaxError at the first
 * fault; `end` when the input is over (it throws when an interchange is still open).
 */
export class EnvelopeChecker {
  #isa: X12Segment | undefined;
  #gs: X12Segment | undefined;
  #st: X12Segment | undefined;
  #groups = 0;
  #transactions = 0;
  #inTransaction = 0;
  #stControls = new Set<string>();
  #last: X12Segment | undefined;

  check(s: X12Segment): void {
    switch (s.id) {
      case 'ISA':
        if (this.#isa) {
          throw fault(s, 'an ISA before the IEA of the interchange before it');
        }
        this.#isa = s;
        this.#groups = 0;
        break;
      case 'GS':
        if (!this.#isa || this.#gs) {
          throw fault(
            s,
            this.#gs ? 'a GS before the GE of the group before it' : 'a GS outside an interchange',
          );
        }
        this.#gs = s;
        this.#groups++;
        this.#transactions = 0;
        this.#stControls = new Set();
        break;
      case 'ST':
        if (!this.#gs || this.#st) {
          throw fault(
            s,
            this.#st
              ? 'an ST before the SE of the transaction before it'
              : 'an ST outside a functional group',
          );
        }
        if (this.#stControls.has(element(s, 2))) {
          throw fault(s, `ST02 ${element(s, 2)} is used twice in the group`);
        }
        this.#stControls.add(element(s, 2));
        this.#st = s;
        this.#transactions++;
        this.#inTransaction = 1;
        break;
      case 'SE': {
        const st = this.#st;
        if (!st) {
          throw fault(s, 'an SE without its ST');
        }
        this.#inTransaction++;
        if (element(s, 1) !== String(this.#inTransaction)) {
          throw fault(s, `SE01 says ${element(s, 1)} segments; the transaction has ${this.#inTransaction}`);
        }
        if (element(s, 2) !== element(st, 2)) {
          throw fault(s, `SE02 ${element(s, 2)} does not match ST02 ${element(st, 2)}`);
        }
        this.#st = undefined;
        break;
      }
      case 'GE': {
        const gs = this.#gs;
        if (!gs || this.#st) {
          throw fault(s, this.#st ? 'a GE before the SE of its last transaction' : 'a GE without its GS');
        }
        if (element(s, 1) !== String(this.#transactions)) {
          throw fault(s, `GE01 says ${element(s, 1)} transactions; the group has ${this.#transactions}`);
        }
        if (!sameNumber(element(s, 2), element(gs, 6))) {
          throw fault(s, `GE02 ${element(s, 2)} does not match GS06 ${element(gs, 6)}`);
        }
        this.#gs = undefined;
        break;
      }
      case 'IEA': {
        const isa = this.#isa;
        if (!isa || this.#gs) {
          throw fault(s, this.#gs ? 'an IEA before the GE of its last group' : 'an IEA without its ISA');
        }
        if (element(s, 1) !== String(this.#groups)) {
          throw fault(s, `IEA01 says ${element(s, 1)} groups; the interchange has ${this.#groups}`);
        }
        if (!sameNumber(element(s, 2), element(isa, 13))) {
          throw fault(s, `IEA02 ${element(s, 2)} does not match ISA13 ${element(isa, 13)}`);
        }
        this.#isa = undefined;
        break;
      }
      default:
        if (this.#st) {
          this.#inTransaction++;
        } else if (!(s.id === 'TA1' && this.#isa && !this.#gs)) {
          throw fault(s, 'a segment outside a transaction set (ST … SE)');
        }
    }
    this.#last = s;
  }

  /** The input is over: throws when an interchange is still open. */
  end(): void {
    if (this.#isa && this.#last) {
      throw fault(
        this.#last,
        `the input ends inside an interchange (no ${this.#st ? 'SE' : this.#gs ? 'GE' : 'IEA'})`,
      );
    }
  }
}

/** The segments of `segments`, unchanged, once each envelope they close has checked out. */
export async function* checkEnvelopes(
  segments: AsyncIterable<X12Segment> | Iterable<X12Segment>,
): AsyncGenerator<X12Segment, void, undefined> {
  const checker = new EnvelopeChecker();
  for await (const s of segments) {
    checker.check(s);
    yield s;
  }
  checker.end();
}
