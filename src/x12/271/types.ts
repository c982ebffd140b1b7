/**
 * A 005010X279A1 271 (eligibility, coverage or benefit information) as plain data: its hierarchical
 * levels as written — information source (2000A), information receiver (2000B), subscriber (2000C),
 * dependent (2000D) — each with its name (2100x), traces, rejections (AAA), dates (DTP) and
 * eligibility or benefit entries (2110x EB with what follows them). Values are as written, read
 * into numbers and ISO dates; what the codes mean is for the reader (src/coverage/eligibility).
 */

export type Level271Code = 'source' | 'receiver' | 'subscriber' | 'dependent';

/** AAA: the request (or part of it) could not be answered. */
export interface Rejection271 {
  /** AAA01: Y the request was valid, N it was not. */
  readonly valid: string;
  /** AAA03 reject reason code (X12 901). */
  readonly reason: string;
  /** AAA04 follow-up action code (X12 889). */
  readonly followUp: string;
}

/** NM1: an entity named in a level (2100x) or after an EB (2120x). */
export interface Party271 {
  /** NM101 entity identifier code (PR payer, 1P provider, IL insured, 03 dependent...). */
  readonly entity: string;
  /** NM103. */
  readonly name: string;
  /** NM104. */
  readonly firstName?: string;
  /** NM108 / NM109. */
  readonly idQualifier?: string;
  readonly id?: string;
}

export interface Trace271 {
  /** TRN01: 2 the 270's own trace returned, 1 the information source's. */
  readonly type: string;
  readonly number: string;
  readonly assigner: string;
}

/** DTP: a date or a range (RD8), as ISO dates. */
export interface Date271 {
  /** DTP01 (X12 374): 291 plan, 346 plan begin, 347 plan end, 307 eligibility, 356/357 eligibility begin/end... */
  readonly qualifier: string;
  readonly start: string;
  readonly end?: string;
}

/** One EB and the segments of its 2110 loop. */
export interface Benefit271 {
  /** EB01 (X12 1390): 1 active coverage, 6 inactive, A co-insurance, B co-payment, C deductible, G out of pocket... */
  readonly code: string;
  /** EB02 (X12 1207): IND, FAM... */
  readonly coverageLevel?: string;
  /** EB03 service type codes (X12 1365), repetitions split. */
  readonly serviceTypes: readonly string[];
  /** EB04 insurance type (X12 1336). */
  readonly insuranceType?: string;
  /** EB05 plan coverage description. */
  readonly planDescription?: string;
  /** EB06 time period qualifier (X12 615): 23 calendar year, 29 remaining... */
  readonly timePeriod?: string;
  /** EB07 monetary amount. */
  readonly amount?: number;
  /** EB08 percentage as a decimal (0.2 = 20%). */
  readonly percent?: number;
  /** EB09 / EB10. */
  readonly quantity?: { readonly qualifier: string; readonly value: number };
  /** EB11: authorization or certification required (Y, N, U). */
  readonly authorizationRequired?: string;
  /** EB12: in plan network (Y, N, U, W not applicable). */
  readonly inNetwork?: string;
  /** EB13: the procedure the entry is about (qualifier HC, code, modifiers). */
  readonly procedure?: {
    readonly qualifier: string;
    readonly code: string;
    readonly modifiers: readonly string[];
  };
  readonly dates: readonly Date271[];
  /** REF in the 2110 loop (a plan or group number of this benefit). */
  readonly references: readonly { readonly qualifier: string; readonly value: string }[];
  readonly messages: readonly string[];
  readonly rejections: readonly Rejection271[];
  /** 2120 loops: entities the entry names (another payer, a provider to contact...). */
  readonly entities: readonly Party271[];
}

export interface Level271 {
  readonly level: Level271Code;
  /** HL01 and HL02. */
  readonly id: string;
  readonly parent?: string;
  readonly party?: Party271;
  readonly traces: readonly Trace271[];
  readonly rejections: readonly Rejection271[];
  /** REF qualifier and value (2100x). */
  readonly references: readonly { readonly qualifier: string; readonly value: string }[];
  readonly birthDate?: string;
  readonly gender?: string;
  readonly dates: readonly Date271[];
  readonly benefits: readonly Benefit271[];
}

export interface Response271 {
  /** ST02. */
  readonly control: string;
  /** BHT03: the 270's reference, returned. */
  readonly reference: string;
  readonly levels: readonly Level271[];
}

export type Read271Result =
  | { readonly ok: true; readonly responses: readonly Response271[] }
  | {
      readonly ok: false;
      /** What is wrong, naming the segment (its number in the input and its id) where it is. */
      readonly problem: string;
      /** Character offset in the input, when known. */
      readonly offset?: number;
    };
