/**
 * X12 envelopes: the interchange (ISA/IEA), the functional group (GS/GE) and the transaction set
 * (ST/SE) segments, and the streaming of one interchange that holds one functional group of
 * transactions. Pure; any transaction writer (837 today, 270 next) renders its ST..SE and hands
 * them here.
 *
 * X12.5 (interchange control structures) and the 005010 TR3s, Appendix B (B.1.1.4 control
 * segments): ISA13 = IEA02 (9 digits), GS06 = GE02, ST02 = SE02; IEA01 counts the groups, GE01 the
 * transactions, SE01 the segments from ST to SE inclusive.
 */
import { COMPONENT, ELEMENT, REPETITION, SEGMENT } from './delimiters.ts';
import { controlNumber, id, segment, utcStamp, X12Error } from './encode.ts';

export interface IsaParty {
  /** ISA05/ISA07 interchange id qualifier (default ZZ, mutually defined). */
  readonly qualifier?: string;
  /** ISA06/ISA08, 1..15 characters. */
  readonly id: string;
}

/** The fixed-width ISA segment (106 characters with its terminator). */
export function isaSegment(args: {
  sender: IsaParty;
  receiver: IsaParty;
  now: Date;
  control: number;
  usage: 'T' | 'P';
  ackRequested: boolean;
}): string {
  const fixed = (v: string, n: number): string => v.padEnd(n, ' ');
  const qual = (q: string | undefined): string => fixed(id(q ?? 'ZZ', 'ISA id qualifier', 2), 2);
  const { ccyymmdd, hhmm } = utcStamp(args.now);
  const isa = [
    'ISA',
    '00',
    fixed('', 10),
    '00',
    fixed('', 10),
    qual(args.sender.qualifier),
    fixed(id(args.sender.id, 'ISA06 sender id', 15), 15),
    qual(args.receiver.qualifier),
    fixed(id(args.receiver.id, 'ISA08 receiver id', 15), 15),
    ccyymmdd.slice(2),
    hhmm,
    REPETITION,
    '00501',
    String(controlNumber(args.control, 'ISA13 control number', 999_999_999)).padStart(9, '0'),
    args.ackRequested ? '1' : '0',
    args.usage,
    COMPONENT,
  ].join(ELEMENT);
  return isa + SEGMENT;
}

/** ST: transaction set `code` (e.g. 837) with its control number and implementation guide (ST03). */
export function stSegment(code: string, control: string, implementation: string): string {
  return segment('ST', code, control, implementation);
}

/** SE: the number of segments from ST to SE inclusive, and ST02 again. */
export function seSegment(segmentCount: number, control: string): string {
  return segment('SE', String(segmentCount), control);
}

export interface InterchangeOptions<T> {
  /** ISA06 / GS02. */
  readonly sender: IsaParty;
  /** ISA08 / GS03. */
  readonly receiver: IsaParty;
  /** ISA13 (1..999999999) and GS06 (1..999999999). */
  readonly controlNumbers: { readonly isa: number; readonly gs: number };
  /** Envelope dates (UTC). */
  readonly now: Date;
  /** ISA15: T test, P production. */
  readonly usage: 'T' | 'P';
  /** ISA14 (default false). */
  readonly ackRequested?: boolean | undefined;
  /** GS01 functional identifier code (HC for 837). */
  readonly functionalId: string;
  /** GS08 version / release / industry identifier (the implementation guide). */
  readonly version: string;
  /** A newline after each segment terminator, for people reading the file (default false). */
  readonly lineBreaks?: boolean | undefined;
  /**
   * Coalesce transactions into chunks of at least this many characters before yielding (memory stays
   * bounded by it). Default 0: one chunk per transaction.
   */
  readonly chunkSize?: number | undefined;
  /** An item whose transaction cannot be rendered is skipped (not counted in GE01) instead of thrown. */
  readonly onError?: ((item: T, error: X12Error) => void) | undefined;
  /**
   * Transactions per functional group before the next group begins (default and most: 999,999,
   * GE01's six digits). Lower only to exercise group changes with a few items.
   */
  readonly maxTransactionsPerGroup?: number | undefined;
}

/** GE01 (number of transaction sets included) is N0 1/6 (X12.5; 005010 TR3s, Appendix B). */
export const MAX_GROUP_TRANSACTIONS = 999_999;

/**
 * One interchange: ISA+GS first, then each item's transaction set as `render` gives it (ST02 =
 * 0001, 0002… in the group), then GE+IEA. Items are consumed lazily, one at a time; every yielded
 * string is whole segments. `render` raises X12Error for an item it cannot write; nothing of that
 * item is yielded. A group holds at most 999,999 transactions (GE01's six digits): past that the
 * group is closed and the next one opened with the next GS06 (controlNumbers.gs + 1, …), ST02
 * restarting at 0001, and IEA01 counts the groups.
 */
export async function* writeInterchange<T>(
  items: AsyncIterable<T> | Iterable<T>,
  render: (item: T, stControl: string) => string[],
  options: InterchangeOptions<T>,
): AsyncGenerator<string, void, undefined> {
  const nl = options.lineBreaks ? '\n' : '';
  const join = (segments: readonly string[]): string =>
    nl ? segments.map((s) => s + nl).join('') : segments.join('');
  const isaControl = String(controlNumber(options.controlNumbers.isa, 'ISA13', 999_999_999)).padStart(9, '0');
  const gsControlOf = (group: number): string =>
    String(controlNumber(options.controlNumbers.gs + group, 'GS06', 999_999_999));
  const maxInGroup = Math.min(
    MAX_GROUP_TRANSACTIONS,
    Math.max(1, Math.floor(options.maxTransactionsPerGroup ?? MAX_GROUP_TRANSACTIONS)),
  );
  const { ccyymmdd, hhmm } = utcStamp(options.now);
  const isa = isaSegment({
    sender: options.sender,
    receiver: options.receiver,
    now: options.now,
    control: options.controlNumbers.isa,
    usage: options.usage,
    ackRequested: options.ackRequested ?? false,
  });
  const gsSegment = (group: number): string =>
    segment(
      'GS',
      options.functionalId,
      id(options.sender.id, 'GS02 sender code', 15),
      id(options.receiver.id, 'GS03 receiver code', 15),
      ccyymmdd,
      hhmm,
      gsControlOf(group),
      'X',
      options.version,
    );
  const chunkSize = Math.max(0, options.chunkSize ?? 0);
  let pending = join([isa, gsSegment(0)]);
  if (chunkSize === 0) {
    yield pending;
    pending = '';
  }

  let group = 0;
  let count = 0;
  for await (const item of items) {
    // The group is full: this item opens the next one (only once it has rendered, so no group is
    // left empty).
    const full = count === maxInGroup;
    let segments: string[];
    try {
      segments = render(item, String(full ? 1 : count + 1).padStart(4, '0'));
    } catch (e) {
      if (e instanceof X12Error && options.onError) {
        options.onError(item, e);
        continue;
      }
      throw e;
    }
    if (full) {
      pending += join([segment('GE', String(count), gsControlOf(group)), gsSegment(group + 1)]);
      group++;
      count = 0;
    }
    count++;
    pending += join(segments);
    if (pending.length >= chunkSize) {
      yield pending;
      pending = '';
    }
  }
  yield (
    pending +
    join([segment('GE', String(count), gsControlOf(group)), segment('IEA', String(group + 1), isaControl)])
  );
}
