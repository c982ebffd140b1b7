/**
 * One 835 transaction set (ST to SE), read segment by segment: its header once the payer and
 * payee are read, each claim payment (loop 2100 with its lines) as soon as it closes, and at SE a
 * summary with the provider-level adjustments, the balancing verdicts (./balance.ts) and every
 * finding. It holds one claim payment at a time and running sums. `Reader835` (./read835.ts)
 * starts one per ST.
 *
 * Loops and the segments each may hold follow 005010X221A1 (table 1 header: BPR, TRN, CUR, REF,
 * DTM, loops 1000A payer N1*PR and 1000B payee N1*PE with N3, N4, REF, PER, RDM; table 2 detail:
 * loop 2000 LX, TS3, TS2; loop 2100 CLP, CAS, NM1, MIA, MOA, REF, DTM, PER, AMT, QTY; loop 2110
 * SVC, DTM, CAS, REF, AMT, QTY, LQ; table 3 summary: PLB). A segment the 835 does not define, or
 * one outside the loop that may hold it, is an error; so is a version other than 005010.
 */
import type { X12Segment } from '../parse.ts';
import { element } from '../parse.ts';
import { adjustmentCents, balanceClaim, balanceTransaction } from './balance.ts';
import { emptyParty, openParty, readPartyDetail } from './header-parties.ts';
import type { PartyDraft } from './header-parties.ts';
import {
  readAmt,
  readBpr,
  readCas,
  readClp,
  readDtm,
  readLq,
  readMia,
  readMoa,
  readNm1,
  readPer,
  readPlb,
  readQty,
  readRef,
  readSvc,
  readTrn,
} from './segments.ts';
import type {
  ClaimPayment835,
  Envelope835,
  Event835,
  Finding835,
  Header835,
  InpatientAdjudication835,
  OutpatientAdjudication835,
  Party835,
  Payment835,
  ProviderAdjustment835,
  Qualified,
  ServicePayment835,
} from './types.ts';
import type { FindingSink } from './values.ts';
import { Elements, toCents } from './values.ts';

/** The segments an 835 defines (besides the envelopes). */
const KNOWN = new Set([
  'BPR', 'TRN', 'CUR', 'REF', 'DTM', 'N1', 'N3', 'N4', 'PER', 'RDM', 'LX', 'TS3', 'TS2', 'CLP',
  'CAS', 'NM1', 'MIA', 'MOA', 'AMT', 'QTY', 'SVC', 'LQ', 'PLB',
]); // prettier-ignore

/** The implementation guide this reader follows (GS08 / ST03). */
export const IMPLEMENTATION_835 = '005010X221A1';
/** Findings kept per transaction set (the rest are counted). */
const MAX_FINDINGS = 200;

type Phase = 'start' | 'header' | 'detail' | 'claim' | 'service' | 'summary';

type ClaimDraft = {
  -readonly [K in keyof ClaimPayment835]: ClaimPayment835[K];
} & {
  services: ServicePayment835[];
  inpatient?: InpatientAdjudication835;
  outpatient?: OutpatientAdjudication835;
};

type ServiceDraft = {
  -readonly [K in keyof ServicePayment835]: ServicePayment835[K];
};

/**
 * The list every claim payment and line starts with, shared until something is added (`added`):
 * most of a claim's dozen lists stay empty, and a 100,000-claim file allocated them all.
 */
const NONE: readonly never[] = Object.freeze([]);

/** `list` with `items` added: a new array when `list` is the shared empty one. */
function added<T>(list: readonly T[], ...items: T[]): readonly T[] {
  if (list === NONE) {
    return items;
  }
  (list as T[]).push(...items);
  return list;
}

/** One transaction set being read. */
export class TransactionReader implements FindingSink {
  readonly number: number;
  readonly #st: X12Segment;
  readonly #envelope: Envelope835;
  #phase: Phase = 'start';
  /** A transaction set that is not an 835 (or not 5010): its segments are skipped. */
  readonly #skip: boolean;
  #findings: Finding835[] = [];
  #errors = 0;
  #warnings = 0;
  #payment: Payment835 | undefined;
  #bpr: X12Segment | undefined;
  #trace: Header835['trace'] | undefined;
  #currency: string | undefined;
  #references: Qualified<string>[] = [];
  #productionDate: string | undefined;
  #payer: PartyDraft | undefined;
  #payee: PartyDraft | undefined;
  #party: PartyDraft | undefined;
  #headerDone = false;
  #lx: string | undefined;
  #claim: ClaimDraft | undefined;
  /** Whether the open claim's CLP could be read (an unreadable one is counted, never balanced). */
  #claimReadable = false;
  #service: ServiceDraft | undefined;
  #claims = 0;
  #paidCents = 0;
  #chargeCents = 0;
  #plb: ProviderAdjustment835[] = [];
  /** Character offsets of the interchange's ISA and the group's GS (header events carry them). */
  readonly #outer: { readonly isa: number; readonly gs: number };
  /** Character offset of the open claim payment's CLP. */
  #claimOffset = 0;
  /** Resumed after its first claim payments (./resume835.ts): its sums are partial, never balanced. */
  #partial = false;

  constructor(
    number: number,
    st: X12Segment,
    envelope: Envelope835,
    outer: { readonly isa: number; readonly gs: number },
  ) {
    this.number = number;
    this.#st = st;
    this.#envelope = envelope;
    this.#outer = outer;
    const e = new Elements(st, this);
    let skip = false;
    if (element(st, 1) !== '835') {
      e.fault('code', `ST01 "${element(st, 1).slice(0, 10)}" is not 835: this is not a remittance`, {
        element: 'ST01',
      });
      skip = true;
    } else if (
      !envelope.version.startsWith('005010X221') ||
      (element(st, 3) !== '' && !element(st, 3).startsWith('005010X221'))
    ) {
      e.fault(
        'version',
        `the transaction set is ${element(st, 3) || envelope.version || 'of no stated version'}; Dripline reads 835s of ${IMPLEMENTATION_835} (005010)`,
        { element: element(st, 3) ? 'ST03' : 'GS08' },
      );
      skip = true;
    }
    this.#skip = skip;
  }

  add(finding: Finding835): void {
    if (finding.severity === 'error') {
      this.#errors++;
    } else {
      this.#warnings++;
    }
    if (this.#findings.length < MAX_FINDINGS) {
      this.#findings.push(finding);
    }
  }

  push(s: X12Segment, out: Event835[]): void {
    if (this.#skip) {
      return;
    }
    const e = new Elements(s, this);
    if (!KNOWN.has(s.id)) {
      e.fault('segment-unknown', `${s.id} is not a segment of the 835`);
      return;
    }
    if (this.#phase === 'start') {
      if (s.id !== 'BPR') {
        e.fault('segment-order', `the 835 begins with BPR after ST; found ${s.id}`);
      }
      this.#phase = 'header';
      if (s.id === 'BPR') {
        this.#bpr = s;
        this.#payment = readBpr(e);
        return;
      }
    }
    switch (s.id) {
      case 'LX':
      case 'CLP':
      case 'PLB':
        this.#finishHeader(out);
        break;
      default:
        break;
    }
    switch (this.#phase) {
      case 'header':
        this.#header(e);
        return;
      case 'detail':
      case 'claim':
      case 'service':
        this.#detail(e, out);
        return;
      case 'summary':
        if (s.id === 'PLB') {
          this.#plb.push(...readPlb(e));
        } else {
          e.fault('segment-order', `${s.id} after PLB: the provider adjustments close the transaction set`);
        }
        return;
      default:
        return;
    }
  }

  #header(e: Elements): void {
    const id = e.segment.id;
    switch (id) {
      case 'TRN':
        if (this.#trace || this.#payer) {
          e.fault('segment-order', this.#trace ? 'a second TRN' : 'TRN after the payer (loop 1000A)');
        }
        this.#trace = readTrn(e) ?? this.#trace;
        return;
      case 'CUR':
        this.#currency = e.text(2) ?? this.#currency;
        return;
      case 'DTM': {
        const dtm = readDtm(e);
        if (this.#party) {
          e.fault('segment-order', 'DTM inside loop 1000A/1000B');
        } else if (dtm?.qualifier === '405') {
          this.#productionDate = dtm.value;
        }
        return;
      }
      case 'REF': {
        const ref = readRef(e);
        if (ref) {
          (this.#party ?? { references: this.#references }).references.push(ref);
        }
        return;
      }
      case 'N1': {
        const opened = openParty(e, { payer: this.#payer, payee: this.#payee });
        if (opened.role === 'payer') {
          this.#payer = opened.party;
        } else if (opened.role === 'payee') {
          this.#payee = opened.party;
        }
        this.#party = opened.party;
        return;
      }
      case 'N3':
      case 'N4':
      case 'PER':
      case 'RDM':
        readPartyDetail(e, this.#party, this.#party !== undefined && this.#party === this.#payee);
        return;
      case 'TS3':
      case 'TS2':
        e.fault('segment-order', `${id} belongs to a header number loop (after LX)`);
        return;
      default:
        e.fault('segment-order', `${id} in the header of the transaction set (before LX/CLP)`);
    }
  }

  /** The header is complete at the first LX, CLP or PLB (or SE): checked, and handed out once. */
  #finishHeader(out: Event835[]): void {
    if (this.#headerDone) {
      return;
    }
    this.#headerDone = true;
    this.#phase = 'detail';
    this.#party = undefined;
    const at = this.#bpr ?? this.#st;
    const fault = (rule: string, message: string, element: string): void =>
      this.add({ severity: 'error', rule, message, segment: at.position, segmentId: at.id, element });
    if (!this.#bpr) {
      fault('required', 'BPR (the payment) is required', 'BPR');
    }
    if (!this.#trace) {
      fault('required', 'TRN (the check or EFT trace number) is required', 'TRN');
    }
    if (!this.#payer) {
      fault('required', 'loop 1000A (N1*PR, the payer) is required', 'N1');
    }
    if (!this.#payee) {
      fault('required', 'loop 1000B (N1*PE, the payee) is required', 'N1');
    }
    const header = this.header();
    if (header) {
      out.push({ type: 'header', header, offsets: { ...this.#outer, st: this.#st.offset } });
    }
  }

  /**
   * Resuming a read (./resume835.ts): the header is complete, and the claim payments go on after
   * `claims` of them, in header number loop `lx`; the sums are partial, so nothing is balanced.
   */
  resume(claims: number, lx: string | undefined, out: Event835[]): void {
    this.#finishHeader(out);
    this.#claims = claims;
    this.#lx = lx;
    this.#partial = true;
  }

  /** The header as read (undefined when its payment or trace could not be read). */
  header(): Header835 | undefined {
    if (!this.#payment || !this.#trace) {
      return undefined;
    }
    const party = (p: PartyDraft | undefined): Party835 => p ?? emptyParty();
    return {
      transaction: this.number,
      controlNumber: element(this.#st, 2),
      segment: this.#st.position,
      envelope: this.#envelope,
      payment: this.#payment,
      trace: this.#trace,
      ...(this.#currency ? { currency: this.#currency } : {}),
      references: this.#references,
      ...(this.#productionDate ? { productionDate: this.#productionDate } : {}),
      payer: party(this.#payer),
      payee: party(this.#payee),
    };
  }

  #detail(e: Elements, out: Event835[]): void {
    const id = e.segment.id;
    switch (id) {
      case 'LX':
        this.#closeClaim(out);
        this.#lx = e.required(1, 'assigned number');
        this.#phase = 'detail';
        return;
      case 'TS3':
      case 'TS2':
        if (this.#phase !== 'detail' || this.#lx === undefined) {
          e.fault('segment-order', `${id} belongs right after LX, before the claim payments`);
        }
        return;
      case 'CLP':
        this.#openClaim(e, out);
        return;
      case 'PLB':
        this.#closeClaim(out);
        this.#phase = 'summary';
        this.#plb.push(...readPlb(e));
        return;
      default:
        break;
    }
    const claim = this.#claim;
    if (!claim) {
      e.fault('segment-order', `${id} before the first claim payment (CLP)`);
      return;
    }
    if (id === 'SVC') {
      this.#openService(e, claim);
      return;
    }
    const service = this.#phase === 'service' ? this.#service : undefined;
    switch (id) {
      case 'CAS': {
        const adjustments = readCas(e);
        const to = service ?? claim;
        to.adjustments = added(to.adjustments, ...adjustments);
        return;
      }
      case 'REF': {
        const ref = readRef(e);
        if (ref) {
          const to = service ?? claim;
          to.references = added(to.references, ref);
        }
        return;
      }
      case 'DTM': {
        const dtm = readDtm(e);
        if (dtm) {
          const to = service ?? claim;
          to.dates = added(to.dates, dtm);
        }
        return;
      }
      case 'AMT': {
        const amt = readAmt(e);
        if (amt) {
          const to = service ?? claim;
          to.amounts = added(to.amounts, amt);
        }
        return;
      }
      case 'QTY': {
        const qty = readQty(e);
        if (qty) {
          const to = service ?? claim;
          to.quantities = added(to.quantities, qty);
        }
        return;
      }
      case 'LQ': {
        const lq = readLq(e);
        if (!service) {
          e.fault('segment-order', 'LQ (remark codes) belongs to a service line (after SVC)');
        } else if (lq?.qualifier === 'HE') {
          service.remarks = added(service.remarks, lq.code);
        } else if (lq) {
          service.pharmacyRejects = added(service.pharmacyRejects, lq.code);
        }
        return;
      }
      case 'NM1':
      case 'MIA':
      case 'MOA':
      case 'PER':
        if (service) {
          e.fault('segment-order', `${id} belongs to the claim payment (before its first SVC)`);
          return;
        }
        if (id === 'NM1') {
          claim.names = added(claim.names, readNm1(e));
        } else if (id === 'MIA') {
          claim.inpatient = readMia(e);
        } else if (id === 'MOA') {
          claim.outpatient = readMoa(e);
        } else {
          readPer(e);
        }
        return;
      default:
        e.fault('segment-order', `${id} inside a claim payment (loop 2100/2110)`);
    }
  }

  #openClaim(e: Elements, out: Event835[]): void {
    this.#closeClaim(out);
    const clp = readClp(e);
    this.#phase = 'claim';
    this.#claims++;
    this.#claimOffset = e.segment.offset;
    // Built by assignment, not spreads: a spread of each optional part is an object per part.
    const claim: ClaimDraft = {
      transaction: this.number,
      position: this.#claims,
      segment: e.segment.position,
      patientControlNumber: clp?.patientControlNumber ?? e.raw(1),
      status: clp?.status ?? e.raw(2),
      charge: clp?.charge ?? 0,
      paid: clp?.paid ?? 0,
      adjustments: NONE,
      names: NONE,
      references: NONE,
      dates: NONE,
      amounts: NONE,
      quantities: NONE,
      services: [],
    };
    if (this.#lx !== undefined) {
      claim.headerNumber = this.#lx;
    }
    if (clp) {
      Object.assign(claim, clp);
    }
    this.#claim = claim;
    // Unreadable: counted, never balanced (its amounts are unknown); the set is rejected anyway.
    this.#claimReadable = clp !== undefined;
  }

  #openService(e: Elements, claim: ClaimDraft): void {
    const svc = readSvc(e);
    this.#phase = 'service';
    const service: ServiceDraft = {
      position: claim.services.length + 1,
      segment: e.segment.position,
      procedure: svc?.procedure ?? { qualifier: '', code: '', modifiers: [] },
      charge: svc?.charge ?? Number.NaN,
      paid: svc?.paid ?? Number.NaN,
      dates: NONE,
      adjustments: NONE,
      references: NONE,
      amounts: NONE,
      quantities: NONE,
      remarks: NONE,
      pharmacyRejects: NONE,
    };
    if (svc) {
      Object.assign(service, svc);
    }
    this.#service = service;
    claim.services.push(service);
  }

  /** Closes the open claim payment: its balancing, the running sums, and the event. */
  #closeClaim(out: Event835[]): void {
    const claim = this.#claim;
    if (!claim) {
      return;
    }
    this.#claim = undefined;
    this.#service = undefined;
    let readable = this.#claimReadable;
    for (const s of claim.services) {
      readable &&= Number.isFinite(s.charge) && Number.isFinite(s.paid);
    }
    this.#paidCents += toCents(claim.paid);
    this.#chargeCents += toCents(claim.charge);
    if (readable) {
      for (const finding of balanceClaim(claim)) {
        this.add(finding);
      }
      if (claim.patientResponsibility !== undefined) {
        let pr = adjustmentCents(claim.adjustments, 'PR');
        for (const s of claim.services) {
          pr += adjustmentCents(s.adjustments, 'PR');
        }
        if (pr !== toCents(claim.patientResponsibility)) {
          this.add({
            severity: 'warning',
            rule: 'patient-responsibility',
            message: `claim ${claim.patientControlNumber} (CLP ${claim.position}): CLP05 ${claim.patientResponsibility.toFixed(2)} differs from Σ PR adjustments ${(pr / 100).toFixed(2)}`,
            segment: claim.segment,
            segmentId: 'CLP',
            element: 'CLP05',
          });
        }
      }
    }
    out.push({ type: 'claim', claim, offset: this.#claimOffset });
  }

  /** SE: the last claim closes, the transaction balances (or not), and the summary goes out. */
  finish(se: X12Segment, out: Event835[]): void {
    if (!this.#skip) {
      this.#closeClaim(out);
      if (!this.#headerDone) {
        this.#finishHeader(out);
      }
      if (this.#payment && this.#bpr && !this.#partial) {
        const plbCents = this.#plb.reduce((sum, p) => sum + toCents(p.amount), 0);
        const fault = balanceTransaction({
          payment: this.#payment,
          paidCents: this.#paidCents,
          providerAdjustmentCents: plbCents,
          segment: this.#bpr.position,
        });
        if (fault) {
          this.add(fault);
        }
      }
      if (
        this.#claims === 0 &&
        this.#payment &&
        this.#payment.amount !== 0 &&
        this.#plb.length === 0 &&
        !this.#partial
      ) {
        this.add({
          severity: 'warning',
          rule: 'required',
          message: 'a payment with no claim payment and no provider adjustment',
          segment: se.position,
          segmentId: 'SE',
        });
      }
    }
    const header = this.#skip ? undefined : this.header();
    out.push({
      type: 'summary',
      summary: {
        transaction: this.number,
        ...(header ? { header } : {}),
        claims: this.#claims,
        totalCharge: this.#chargeCents / 100,
        totalPaid: this.#paidCents / 100,
        providerAdjustments: this.#plb,
        findings: this.#findings,
        errorCount: this.#errors,
        warningCount: this.#warnings,
        accepted: this.#errors === 0,
      },
    });
  }
}
