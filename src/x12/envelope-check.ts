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

/** The segments of `segments`, unchanged, once each envelope they close has checked out. */
export async function* checkEnvelopes(
  segments: AsyncIterable<X12Segment> | Iterable<X12Segment>,
): AsyncGenerator<X12Segment, void, undefined> {
  let isa: X12Segment | undefined;
  let gs: X12Segment | undefined;
  let st: X12Segment | undefined;
  let groups = 0;
  let transactions = 0;
  let inTransaction = 0;
  let stControls = new Set<string>();
  let last: X12Segment | undefined;
  for await (const s of segments) {
    switch (s.id) {
      case 'ISA':
        if (isa) {
          throw fault(s, 'an ISA before the IEA of the interchange before it');
        }
        isa = s;
        groups = 0;
        break;
      case 'GS':
        if (!isa || gs) {
          throw fault(s, gs ? 'a GS before the GE of the group before it' : 'a GS outside an interchange');
        }
        gs = s;
        groups++;
        transactions = 0;
        stControls = new Set();
        break;
      case 'ST':
        if (!gs || st) {
          throw fault(
            s,
            st ? 'an ST before the SE of the transaction before it' : 'an ST outside a functional group',
          );
        }
        if (stControls.has(element(s, 2))) {
          throw fault(s, `ST02 ${element(s, 2)} is used twice in the group`);
        }
        stControls.add(element(s, 2));
        st = s;
        transactions++;
        inTransaction = 1;
        break;
      case 'SE':
        if (!st) {
          throw fault(s, 'an SE without its ST');
        }
        inTransaction++;
        if (element(s, 1) !== String(inTransaction)) {
          throw fault(s, `SE01 says ${element(s, 1)} segments; the transaction has ${inTransaction}`);
        }
        if (element(s, 2) !== element(st, 2)) {
          throw fault(s, `SE02 ${element(s, 2)} does not match ST02 ${element(st, 2)}`);
        }
        st = undefined;
        break;
      case 'GE':
        if (!gs || st) {
          throw fault(s, st ? 'a GE before the SE of its last transaction' : 'a GE without its GS');
        }
        if (element(s, 1) !== String(transactions)) {
          throw fault(s, `GE01 says ${element(s, 1)} transactions; the group has ${transactions}`);
        }
        if (!sameNumber(element(s, 2), element(gs, 6))) {
          throw fault(s, `GE02 ${element(s, 2)} does not match GS06 ${element(gs, 6)}`);
        }
        gs = undefined;
        break;
      case 'IEA':
        if (!isa || gs) {
          throw fault(s, gs ? 'an IEA before the GE of its last group' : 'an IEA without its ISA');
        }
        if (element(s, 1) !== String(groups)) {
          throw fault(s, `IEA01 says ${element(s, 1)} groups; the interchange has ${groups}`);
        }
        if (!sameNumber(element(s, 2), element(isa, 13))) {
          throw fault(s, `IEA02 ${element(s, 2)} does not match ISA13 ${element(isa, 13)}`);
        }
        isa = undefined;
        break;
      default:
        if (st) {
          inTransaction++;
        } else if (!(s.id === 'TA1' && isa && !gs)) {
          throw fault(s, 'a segment outside a transaction set (ST … SE)');
        }
    }
    last = s;
    yield s;
  }
  if (isa && last) {
    throw fault(last, `the input ends inside an interchange (no ${st ? 'SE' : gs ? 'GE' : 'IEA'})`);
  }
}
