/**
 * What a 005010X279A1 270 asks, as plain data: who is asked (the payer, loop 2100A), who asks (the
 * provider, 2100B), about whom (the subscriber, 2000C/2100C, and the patient when that is a
 * dependent without a member id of their own, 2000D/2100D), for which date and service types. The
 * FHIR side (src/coverage/eligibility) fills it; ./write270.ts renders it.
 */
import type { IsaParty } from '../envelope.ts';

/** GS08 / ST03 of the 270 and the 271 (ASC X12N 005010X279A1, Health Care Eligibility Benefit Inquiry and Response). */
export const IMPLEMENTATION_270_271 = '005010X279A1';

export interface EligibilityPerson {
  /** NM103. */
  readonly lastName: string;
  /** NM104. */
  readonly firstName?: string;
  /** NM105. */
  readonly middleName?: string;
  /** NM107. */
  readonly suffix?: string;
  /** DMG02, YYYY-MM-DD. */
  readonly birthDate?: string;
  /** DMG03. */
  readonly gender?: 'F' | 'M' | 'U';
}

export interface Inquiry270 {
  /** Loop 2100A: the information source (NM1*PR, PI payer id). */
  readonly payer: { readonly name: string; readonly id: string };
  /** Loop 2100B: the information receiver (NM1*1P, XX NPI). */
  readonly provider: { readonly name: string; readonly npi: string };
  /** Loops 2000C/2100C: the subscriber and their member id (NM108 MI). */
  readonly subscriber: EligibilityPerson & { readonly memberId: string };
  /** Loops 2000D/2100D: the patient, when the patient is the subscriber's dependent (TR3 1.4.7.1). */
  readonly dependent?: EligibilityPerson;
  /** TRN of the patient's level: TRN02 the trace number, TRN03 who assigned it (10 characters, "1" + EIN). */
  readonly trace: { readonly number: string; readonly assigner: string };
  /** DTP*291 (plan date): the date of service asked about, YYYY-MM-DD. */
  readonly date: string;
  /** EQ01 service type codes (X12 1365), one 2110 EQ each, in order. */
  readonly serviceTypes: readonly string[];
}

export interface Write270Options {
  /** ISA06 / GS02: the provider or its submitter. */
  readonly sender: IsaParty;
  /** ISA08 / GS03: the payer (or its clearinghouse). */
  readonly receiver: IsaParty;
  /** ISA13 and GS06. */
  readonly controlNumbers: { readonly isa: number; readonly gs: number };
  /** Envelope and BHT dates (UTC). */
  readonly now: Date;
  /** ISA15. */
  readonly usage: 'T' | 'P';
  /** BHT03: the submitter's reference of the transaction (echoed in the 271's BHT03). */
  readonly reference: string;
}
