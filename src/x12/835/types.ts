/**
 * The X12 835 (Health Care Claim Payment/Advice, 005010X221A1) as plain typed data: what the
 * reader (./read835.ts) produces and the writer (./write835.ts) takes. One transaction set is a
 * header (BPR payment, TRN trace, payer and payee), a stream of claim payments (loop 2100 with
 * its service lines, loop 2110) and the provider-level adjustments (PLB) at its end. Amounts are
 * dollars as written (at most two decimals); dates are YYYY-MM-DD. Pure types.
 *
 * Loop and element names follow the TR3 (ASC X12N/005010X221A1): BPR01..BPR16, TRN, loop 1000A
 * payer (N1*PR), 1000B payee (N1*PE), 2000 header number (LX, TS3, TS2), 2100 claim payment (CLP,
 * CAS, NM1, MIA, MOA, REF, DTM, PER, AMT, QTY), 2110 service payment (SVC, DTM, CAS, REF, AMT, QTY,
 * LQ), PLB.
 */

/** A qualified value: REF, AMT, QTY, DTM all pair a qualifier with a value. */
export interface Qualified<T> {
  readonly qualifier: string;
  readonly value: T;
}

/** An adjustment (one CAS triplet): group code (CAS01), reason code (CARC), amount, quantity. */
export interface Adjustment835 {
  readonly group: string;
  readonly reason: string;
  readonly amount: number;
  readonly quantity?: number;
}

/** A name (NM1): entity code, person (1) or organization (2), name parts, identification. */
export interface Name835 {
  readonly entity: string;
  readonly entityType?: string;
  readonly last?: string;
  readonly first?: string;
  readonly middle?: string;
  readonly suffix?: string;
  readonly idQualifier?: string;
  readonly id?: string;
}

/** A party of loop 1000A (payer) or 1000B (payee): N1, N3, N4, REF, PER. */
export interface Party835 {
  readonly name?: string;
  /** N103: XV (CMS PlanID), XX (NPI), FI (federal tax id), PI (payer id)... */
  readonly idQualifier?: string;
  readonly id?: string;
  readonly address?: {
    readonly lines: readonly string[];
    readonly city?: string;
    readonly state?: string;
    readonly postalCode?: string;
    readonly country?: string;
  };
  /** REF: 2U payer identification, TJ federal tax id, PQ payee id, EO, HI, NF, 0B, D3... */
  readonly references: readonly Qualified<string>[];
  /** PER: contact function (CX, BL, IC), name, first communication number. */
  readonly contacts: readonly {
    readonly function: string;
    readonly name?: string;
    readonly numbers: readonly Qualified<string>[];
  }[];
}

/** SVC01 / SVC06: the product or service id qualifier (HC, NU, N4, AD...), code, modifiers. */
export interface Procedure835 {
  readonly qualifier: string;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly description?: string;
}

/** Loop 2110: one service line's payment. */
export interface ServicePayment835 {
  /** 1-based position of the line in its claim payment. */
  readonly position: number;
  /** The SVC segment's position in the input (for reports). */
  readonly segment: number;
  readonly procedure: Procedure835;
  /** SVC02 line charge; SVC03 line paid. */
  readonly charge: number;
  readonly paid: number;
  /** SVC04 NUBC revenue code (institutional). */
  readonly revenueCode?: string;
  /** SVC05 units paid (the guide: 1 when absent). */
  readonly units?: number;
  /** SVC06 the procedure as billed, when the payer adjudicated another. */
  readonly billedProcedure?: Procedure835;
  /** SVC07 units billed, when they differ. */
  readonly billedUnits?: number;
  /** DTM 472 (service), 150 (period start), 151 (period end). */
  readonly dates: readonly Qualified<string>[];
  readonly adjustments: readonly Adjustment835[];
  /** REF: 6R line item control number, LU location, RB rate, 0K, 1S, APC, BB, E9, G1, G3; rendering ids. */
  readonly references: readonly Qualified<string>[];
  /** AMT: B6 allowed, KH late filing reduction, T tax, T2 total before taxes, ZK-ZO. */
  readonly amounts: readonly Qualified<number>[];
  readonly quantities: readonly Qualified<number>[];
  /** LQ*HE remark codes (RARC); LQ*RX NCPDP reject codes are kept apart. */
  readonly remarks: readonly string[];
  readonly pharmacyRejects: readonly string[];
}

/** MIA: inpatient adjudication information (claim-level remarks and amounts). */
export interface InpatientAdjudication835 {
  readonly coveredDays: number;
  readonly amounts: readonly Qualified<number>[];
  readonly remarks: readonly string[];
}

/** MOA: outpatient adjudication information. */
export interface OutpatientAdjudication835 {
  readonly reimbursementRate?: number;
  readonly payableAmount?: number;
  readonly remarks: readonly string[];
  readonly esrdPayment?: number;
  readonly nonPayableProfessional?: number;
}

/** Loop 2100: one claim payment, with its lines. */
export interface ClaimPayment835 {
  /** 1-based number of the transaction set in the input. */
  readonly transaction: number;
  /** 1-based position of the CLP in its transaction set (tells apart claims that share a CLP01). */
  readonly position: number;
  /** The CLP segment's position in the input. */
  readonly segment: number;
  /** LX01 of the header number loop it is in, if any. */
  readonly headerNumber?: string;
  /** CLP01: the provider's patient control number (837 CLM01). */
  readonly patientControlNumber: string;
  /** CLP02: 1-3 processed as primary/secondary/tertiary, 4 denied, 19-21 and forwarded, 22 reversal, 23 not our claim, 25 predetermination. */
  readonly status: string;
  /** CLP03 total charge, CLP04 paid, CLP05 patient responsibility. */
  readonly charge: number;
  readonly paid: number;
  readonly patientResponsibility?: number;
  /** CLP06 claim filing indicator; CLP07 payer claim control number; CLP08 facility type; CLP09 frequency. */
  readonly filingIndicator?: string;
  readonly payerClaimNumber?: string;
  readonly facilityType?: string;
  readonly frequency?: string;
  readonly drg?: string;
  readonly drgWeight?: number;
  readonly dischargeFraction?: number;
  readonly adjustments: readonly Adjustment835[];
  /** NM1 by entity code: QC patient, IL insured, 74 corrected patient, 82 rendering, TT crossover carrier, PR corrected priority payer, GB other subscriber. */
  readonly names: readonly Name835[];
  readonly inpatient?: InpatientAdjudication835;
  readonly outpatient?: OutpatientAdjudication835;
  readonly references: readonly Qualified<string>[];
  /** DTM 232/233 statement period, 036 coverage expiration, 050 received. */
  readonly dates: readonly Qualified<string>[];
  /** AMT: AU coverage amount, D8 discount, DY per day limit, F5 patient paid, I interest, NL, T, T2, ZK-ZO. */
  readonly amounts: readonly Qualified<number>[];
  readonly quantities: readonly Qualified<number>[];
  readonly services: readonly ServicePayment835[];
}

/** PLB: one provider-level adjustment (a PLB carries up to six). Positive reduces the payment. */
export interface ProviderAdjustment835 {
  /** PLB01 provider identifier; PLB02 fiscal period date. */
  readonly provider: string;
  readonly fiscalPeriodDate: string;
  /** PLB03-1 etc.: adjustment reason (WO overpayment recovery, L6 interest, FB forwarding balance, CS, 72...). */
  readonly reason: string;
  /** PLB03-2: the reference (often the payer claim number of what it recovers). */
  readonly reference?: string;
  readonly amount: number;
  /** The PLB segment's position in the input. */
  readonly segment: number;
}

/** The interchange and group a transaction set came in. */
export interface Envelope835 {
  /** ISA05:ISA06 and ISA07:ISA08 (trimmed), ISA13, ISA15 (P production, T test). */
  readonly sender: string;
  readonly receiver: string;
  readonly interchangeControlNumber: string;
  readonly usage: string;
  /** GS02, GS03, GS06, GS08. */
  readonly groupSender: string;
  readonly groupReceiver: string;
  readonly groupControlNumber: string;
  readonly version: string;
}

/** BPR: the payment (or the notice that nothing is paid). */
export interface Payment835 {
  /** BPR01: C payment with remittance, D payment only, H notification only, I remittance only, P prenotification, U, X. */
  readonly handling: string;
  /** BPR02: the total actual provider payment. */
  readonly amount: number;
  /** BPR03: C credit, D debit. */
  readonly creditDebit: string;
  /** BPR04: ACH, BOP, CHK, FWT, NON. */
  readonly method: string;
  /** BPR05: CCP, CTX (ACH formats). */
  readonly format?: string;
  /** BPR10: originating company identifier. */
  readonly originatingCompany?: string;
  /** BPR16: check issue or EFT effective date. */
  readonly date: string;
}

/** Loop header of a transaction set: everything before the first LX/CLP. */
export interface Header835 {
  /** 1-based number of the transaction set in the input. */
  readonly transaction: number;
  /** ST02. */
  readonly controlNumber: string;
  /** The ST segment's position in the input. */
  readonly segment: number;
  readonly envelope: Envelope835;
  readonly payment: Payment835;
  /** TRN: 01 trace type, 02 check or EFT trace number, 03 payer's originating company id, 04 supplemental. */
  readonly trace: {
    readonly type: string;
    readonly number: string;
    readonly originator?: string;
    readonly supplemental?: string;
  };
  readonly currency?: string;
  /** REF EV receiver id, F2 version; DTM 405 production date. */
  readonly references: readonly Qualified<string>[];
  readonly productionDate?: string;
  readonly payer: Party835;
  readonly payee: Party835;
}

/** Something wrong (error: the transaction set is rejected) or tolerated (warning) in the input. */
export interface Finding835 {
  readonly severity: 'error' | 'warning';
  /**
   * Which rule: balance-line, balance-claim, balance-transaction (the TR3's balancing, §1.10.2.1),
   * envelope (ISA/GS/ST counts and controls), syntax, segment-unknown, segment-order, required,
   * amount, number, date, code, payee, payer, duplicate, conflict.
   */
  readonly rule: string;
  readonly message: string;
  /** Position of the segment in the input (1-based) and its id; the element (e.g. CLP04). */
  readonly segment?: number;
  readonly segmentId?: string;
  readonly element?: string;
  /** The amounts the rule compared, in dollars. */
  readonly amounts?: Readonly<Record<string, number>>;
}

/** What the reader concluded about one transaction set, at its SE. */
export interface TransactionSummary835 {
  readonly transaction: number;
  /** Undefined when the transaction set never got past its header (a fault before its first claim). */
  readonly header?: Header835;
  readonly claims: number;
  /** Σ CLP03 and Σ CLP04. */
  readonly totalCharge: number;
  readonly totalPaid: number;
  readonly providerAdjustments: readonly ProviderAdjustment835[];
  /** The first findings (at most a few hundred are kept) and how many there were. */
  readonly findings: readonly Finding835[];
  readonly errorCount: number;
  readonly warningCount: number;
  /** No error: the transaction set may be posted. */
  readonly accepted: boolean;
}

/** What the streaming reader hands out, in input order. */
export type Event835 =
  | {
      readonly type: 'header';
      readonly header: Header835;
      /** Character offsets in the input of its interchange's ISA, its group's GS and its ST (for a resume point). */
      readonly offsets: { readonly isa: number; readonly gs: number; readonly st: number };
    }
  /** `offset`: the character offset of its CLP in the input. */
  | { readonly type: 'claim'; readonly claim: ClaimPayment835; readonly offset: number }
  | { readonly type: 'summary'; readonly summary: TransactionSummary835 };
