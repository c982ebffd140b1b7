/**
 * Writing 835s (005010X221A1) from the same typed data the reader produces (./types.ts): one
 * interchange of one functional group (GS01 HP), one transaction set per remittance, each claim
 * payment rendered as it is taken from its (async) iterable, so a remittance of any size streams
 * out in bounded memory. Used by the sandbox X12 payer and by tests and benchmarks that need
 * remittances; `read835(write835(x))` gives x back.
 *
 * Segment order per the TR3: ST, BPR, TRN, CUR, REF, DTM*405, loop 1000A (N1*PR N3 N4 REF PER),
 * loop 1000B (N1*PE N3 N4 REF), then per claim LX? CLP CAS NM1 MIA MOA REF DTM AMT QTY, per line
 * SVC DTM CAS REF AMT QTY LQ, then PLB, SE. Consecutive adjustments of one group share a CAS (at
 * most six per segment). Amounts are X12 R: a leading minus, no trailing zeros after the point.
 */
import type { Delimiters } from '../delimiters.ts';
import { WRITTEN_DELIMITERS } from '../delimiters.ts';
import { controlNumber, utcStamp, X12Error } from '../encode.ts';
import type { IsaParty } from '../envelope.ts';
import { IMPLEMENTATION_835 } from './read835.ts';
import type {
  Adjustment835,
  ClaimPayment835,
  Header835,
  Name835,
  Party835,
  Procedure835,
  ProviderAdjustment835,
  Qualified,
  ServicePayment835,
} from './types.ts';

/** A service line to write (its position and segment are the reader's). */
export type ServicePaymentInput = Omit<ServicePayment835, 'position' | 'segment'>;

/** A claim payment to write. */
export type ClaimPaymentInput = Omit<ClaimPayment835, 'transaction' | 'position' | 'segment' | 'services'> & {
  readonly services: readonly ServicePaymentInput[];
};

/** One remittance (one transaction set). */
export interface RemittanceInput {
  readonly header: Omit<Header835, 'transaction' | 'segment' | 'envelope' | 'controlNumber'>;
  /** ACH details of BPR06-BPR09 and BPR12-BPR15 (routing and account numbers of payer and payee). */
  readonly bank?: {
    readonly payerRouting: string;
    readonly payerAccount: string;
    readonly payeeRouting: string;
    readonly payeeAccount: string;
  };
  readonly claims: Iterable<ClaimPaymentInput> | AsyncIterable<ClaimPaymentInput>;
  /** Written after the claims (so a writer may compute them while the claims stream). */
  readonly providerAdjustments: () => readonly Omit<ProviderAdjustment835, 'segment'>[];
}

export interface Write835Options {
  readonly sender: IsaParty;
  readonly receiver: IsaParty;
  readonly controlNumbers: { readonly isa: number; readonly gs: number };
  readonly now: Date;
  readonly usage: 'T' | 'P';
  /** Default: Dripline's ~ * : ^. */
  readonly delimiters?: Delimiters;
  /** A line break after each segment terminator: '\n', '\r\n' or none (default). */
  readonly lineBreak?: '' | '\n' | '\r\n';
  /** Yield chunks of at least this many characters (default 64 KiB). */
  readonly chunkSize?: number;
}

/** X12 R: two decimals at most, trailing zeros dropped, a leading minus for negatives. */
export function r(value: number): string {
  if (!Number.isFinite(value)) {
    throw new X12Error(`amount ${value} is not a number`);
  }
  const fixed = (Math.round(value * 100) / 100).toFixed(2);
  const trimmed = fixed.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}

const d8 = (date: string): string => date.replaceAll('-', '');

/** Segments in the writer's delimiters, each element checked free of them. */
class SegmentWriter {
  readonly #d: Delimiters;
  readonly #end: string;
  readonly #forbidden: RegExp;
  count = 0;

  constructor(delimiters: Delimiters, lineBreak: string) {
    this.#d = delimiters;
    this.#end = delimiters.segment + lineBreak;
    const chars = [delimiters.element, delimiters.component, delimiters.segment, delimiters.repetition ?? '']
      .filter((c) => c !== '')
      .map((c) => c.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&'));
    this.#forbidden = new RegExp(`[${chars.join('')}]`);
  }

  composite(...parts: readonly (string | undefined)[]): string {
    let end = parts.length;
    while (end > 0 && !parts[end - 1]) {
      end--;
    }
    return parts
      .slice(0, end)
      .map((p) => this.#clean(p ?? ''))
      .join(this.#d.component);
  }

  /** A segment whose elements are already clean (composites) or checked here (plain values). */
  segment(id: string, ...elements: readonly (string | undefined)[]): string {
    let end = elements.length;
    while (end > 0 && !elements[end - 1]) {
      end--;
    }
    let s = id;
    for (let i = 0; i < end; i++) {
      s += this.#d.element + (elements[i] ?? '');
    }
    this.count++;
    return s + this.#end;
  }

  /** A plain value, refused when it holds a delimiter. */
  v(value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.#clean(value);
  }

  #clean(value: string): string {
    if (this.#forbidden.test(value)) {
      throw new X12Error(`"${value}" contains a delimiter of the interchange`);
    }
    return value;
  }

  isa(options: Write835Options, isaControl: string): string {
    const fixed = (v: string, n: number): string => v.padEnd(n, ' ').slice(0, n);
    const { ccyymmdd, hhmm } = utcStamp(options.now);
    const d = this.#d;
    return (
      [
        'ISA',
        '00',
        fixed('', 10),
        '00',
        fixed('', 10),
        fixed(options.sender.qualifier ?? 'ZZ', 2),
        fixed(options.sender.id, 15),
        fixed(options.receiver.qualifier ?? 'ZZ', 2),
        fixed(options.receiver.id, 15),
        ccyymmdd.slice(2),
        hhmm,
        d.repetition ?? '^',
        '00501',
        isaControl,
        '0',
        options.usage,
        d.component,
      ].join(d.element) + this.#end
    );
  }
}

function procedure(w: SegmentWriter, p: Procedure835 | undefined): string | undefined {
  return p
    ? w.composite(p.qualifier, p.code, ...[0, 1, 2, 3].map((i) => p.modifiers[i]), p.description)
    : undefined;
}

/** CAS segments: consecutive adjustments of one group together, six per segment at most. */
function cas(w: SegmentWriter, adjustments: readonly Adjustment835[], out: string[]): void {
  let i = 0;
  while (i < adjustments.length) {
    const group = adjustments[i]?.group ?? '';
    const triplets: string[] = [];
    while (i < adjustments.length && adjustments[i]?.group === group && triplets.length < 18) {
      const a = adjustments[i] as Adjustment835;
      triplets.push(w.v(a.reason) ?? '', r(a.amount), a.quantity !== undefined ? String(a.quantity) : '');
      i++;
    }
    out.push(w.segment('CAS', w.v(group), ...triplets));
  }
}

function qualified(w: SegmentWriter, id: string, list: readonly Qualified<string>[], out: string[]): void {
  for (const q of list) {
    out.push(w.segment(id, w.v(q.qualifier), w.v(id === 'DTM' ? d8(q.value) : q.value)));
  }
}

function money(w: SegmentWriter, id: string, list: readonly Qualified<number>[], out: string[]): void {
  for (const q of list) {
    out.push(w.segment(id, w.v(q.qualifier), id === 'AMT' ? r(q.value) : String(q.value)));
  }
}

function party(w: SegmentWriter, entity: 'PR' | 'PE', p: Party835, out: string[]): void {
  out.push(w.segment('N1', entity, w.v(p.name), w.v(p.idQualifier), w.v(p.id)));
  if (p.address) {
    out.push(w.segment('N3', ...p.address.lines.slice(0, 2).map((l) => w.v(l))));
    out.push(
      w.segment(
        'N4',
        w.v(p.address.city),
        w.v(p.address.state),
        w.v(p.address.postalCode),
        w.v(p.address.country),
      ),
    );
  }
  qualified(w, 'REF', p.references, out);
  for (const c of p.contacts) {
    out.push(
      w.segment(
        'PER',
        w.v(c.function),
        w.v(c.name),
        ...c.numbers.flatMap((n) => [w.v(n.qualifier), w.v(n.value)]),
      ),
    );
  }
}

function name(w: SegmentWriter, n: Name835): string {
  return w.segment(
    'NM1',
    w.v(n.entity),
    w.v(n.entityType),
    w.v(n.last),
    w.v(n.first),
    w.v(n.middle),
    '',
    w.v(n.suffix),
    w.v(n.idQualifier),
    w.v(n.id),
  );
}

function claimSegments(w: SegmentWriter, c: ClaimPaymentInput): string[] {
  const out: string[] = [];
  out.push(
    w.segment(
      'CLP',
      w.v(c.patientControlNumber),
      w.v(c.status),
      r(c.charge),
      r(c.paid),
      c.patientResponsibility !== undefined ? r(c.patientResponsibility) : '',
      w.v(c.filingIndicator),
      w.v(c.payerClaimNumber),
      w.v(c.facilityType),
      w.v(c.frequency),
      '',
      w.v(c.drg),
      c.drgWeight !== undefined ? String(c.drgWeight) : '',
      c.dischargeFraction !== undefined ? String(c.dischargeFraction) : '',
    ),
  );
  cas(w, c.adjustments, out);
  for (const n of c.names) {
    out.push(name(w, n));
  }
  if (c.inpatient) {
    // MIA01 covered days; amounts where the reader found them (qualified MIAnn); remarks in MIA05, MIA20-MIA23.
    const elements: string[] = Array<string>(24).fill('');
    elements[0] = String(c.inpatient.coveredDays);
    for (const a of c.inpatient.amounts) {
      const at = Number(a.qualifier.slice(3));
      if (a.qualifier.startsWith('MIA') && at >= 2 && at <= 24) {
        elements[at - 1] = r(a.value);
      }
    }
    [5, 20, 21, 22, 23].forEach((at, i) => {
      elements[at - 1] = w.v(c.inpatient?.remarks[i]) ?? '';
    });
    out.push(w.segment('MIA', ...elements));
  }
  if (c.outpatient) {
    const o = c.outpatient;
    out.push(
      w.segment(
        'MOA',
        o.reimbursementRate !== undefined ? String(o.reimbursementRate) : '',
        o.payableAmount !== undefined ? r(o.payableAmount) : '',
        ...[0, 1, 2, 3, 4].map((i) => w.v(o.remarks[i])),
        o.esrdPayment !== undefined ? r(o.esrdPayment) : '',
        o.nonPayableProfessional !== undefined ? r(o.nonPayableProfessional) : '',
      ),
    );
  }
  qualified(w, 'REF', c.references, out);
  qualified(w, 'DTM', c.dates, out);
  money(w, 'AMT', c.amounts, out);
  money(w, 'QTY', c.quantities, out);
  for (const s of c.services) {
    out.push(
      w.segment(
        'SVC',
        procedure(w, s.procedure),
        r(s.charge),
        r(s.paid),
        w.v(s.revenueCode),
        s.units !== undefined ? String(s.units) : '',
        procedure(w, s.billedProcedure),
        s.billedUnits !== undefined ? String(s.billedUnits) : '',
      ),
    );
    qualified(w, 'DTM', s.dates, out);
    cas(w, s.adjustments, out);
    qualified(w, 'REF', s.references, out);
    money(w, 'AMT', s.amounts, out);
    money(w, 'QTY', s.quantities, out);
    for (const remark of s.remarks) {
      out.push(w.segment('LQ', 'HE', w.v(remark)));
    }
    for (const reject of s.pharmacyRejects) {
      out.push(w.segment('LQ', 'RX', w.v(reject)));
    }
  }
  return out;
}

/** PLB segments: six adjustments per segment, grouped by provider and fiscal period date. */
function plb(
  w: SegmentWriter,
  adjustments: readonly Omit<ProviderAdjustment835, 'segment'>[],
  out: string[],
): void {
  for (let i = 0; i < adjustments.length;) {
    const first = adjustments[i] as Omit<ProviderAdjustment835, 'segment'>;
    const pairs: string[] = [];
    while (
      i < adjustments.length &&
      pairs.length < 12 &&
      adjustments[i]?.provider === first.provider &&
      adjustments[i]?.fiscalPeriodDate === first.fiscalPeriodDate
    ) {
      const a = adjustments[i] as Omit<ProviderAdjustment835, 'segment'>;
      pairs.push(w.composite(a.reason, a.reference), r(a.amount));
      i++;
    }
    out.push(w.segment('PLB', w.v(first.provider), d8(first.fiscalPeriodDate), ...pairs));
  }
}

/** One interchange holding one 835 transaction set per remittance, streamed in chunks. */
export async function* write835(
  remittances: Iterable<RemittanceInput> | AsyncIterable<RemittanceInput>,
  options: Write835Options,
): AsyncGenerator<string, void, undefined> {
  const w = new SegmentWriter(options.delimiters ?? WRITTEN_DELIMITERS, options.lineBreak ?? '');
  const chunkSize = options.chunkSize ?? 65_536;
  const isaControl = String(controlNumber(options.controlNumbers.isa, 'ISA13', 999_999_999)).padStart(9, '0');
  const gsControl = String(controlNumber(options.controlNumbers.gs, 'GS06', 999_999_999));
  const { ccyymmdd, hhmm } = utcStamp(options.now);
  let pending = w.isa(options, isaControl);
  pending += w.segment(
    'GS',
    'HP',
    w.v(options.sender.id),
    w.v(options.receiver.id),
    ccyymmdd,
    hhmm,
    gsControl,
    'X',
    IMPLEMENTATION_835,
  );
  let transactions = 0;
  for await (const remittance of remittances) {
    transactions++;
    const st = String(transactions).padStart(4, '0');
    const before = w.count;
    const h = remittance.header;
    const p = h.payment;
    const bank = remittance.bank;
    const out: string[] = [w.segment('ST', '835', st, IMPLEMENTATION_835)];
    out.push(
      w.segment(
        'BPR',
        w.v(p.handling),
        r(p.amount),
        w.v(p.creditDebit),
        w.v(p.method),
        w.v(p.format),
        bank ? '01' : '',
        w.v(bank?.payerRouting),
        bank ? 'DA' : '',
        w.v(bank?.payerAccount),
        w.v(p.originatingCompany),
        '',
        bank ? '01' : '',
        w.v(bank?.payeeRouting),
        bank ? 'DA' : '',
        w.v(bank?.payeeAccount),
        d8(p.date),
      ),
    );
    out.push(
      w.segment(
        'TRN',
        w.v(h.trace.type),
        w.v(h.trace.number),
        w.v(h.trace.originator),
        w.v(h.trace.supplemental),
      ),
    );
    if (h.currency) {
      out.push(w.segment('CUR', 'PR', w.v(h.currency)));
    }
    qualified(w, 'REF', h.references, out);
    if (h.productionDate) {
      out.push(w.segment('DTM', '405', d8(h.productionDate)));
    }
    party(w, 'PR', h.payer, out);
    party(w, 'PE', h.payee, out);
    pending += out.join('');
    let lx: string | undefined;
    for await (const claim of remittance.claims) {
      if (claim.headerNumber !== undefined && claim.headerNumber !== lx) {
        lx = claim.headerNumber;
        pending += w.segment('LX', w.v(lx));
      }
      pending += claimSegments(w, claim).join('');
      if (pending.length >= chunkSize) {
        yield pending;
        pending = '';
      }
    }
    const summary: string[] = [];
    plb(w, remittance.providerAdjustments(), summary);
    pending += summary.join('');
    pending += w.segment('SE', String(w.count - before + 1), st);
  }
  pending += w.segment('GE', String(transactions), gsControl);
  pending += w.segment('IEA', '1', isaControl);
  yield pending;
}

/** The whole interchange as one string (small remittances, tests). */
export async function write835ToString(
  remittances: Iterable<RemittanceInput> | AsyncIterable<RemittanceInput>,
  options: Write835Options,
): Promise<string> {
  let text = '';
  for await (const chunk of write835(remittances, options)) {
    text += chunk;
  }
  return text;
}
