/**
 * What a tenant's configuration says about billing: its billing provider and the payers it bills.
 * Typed here, with the rest of the configuration, so config (the bottom layer) names no claims
 * module; claims, submission and the X12 writer read these as given.
 */

/** The billing provider of a tenant (config `tenants[].billing`), for Claim.provider and 837 loop 2010AA. */
export interface BillingProvider {
  readonly name: string;
  readonly npi: string;
  /** NUCC provider taxonomy code, e.g. 261QI0500X (infusion therapy clinic). */
  readonly taxonomy: string;
  /** EIN, 9 digits. */
  readonly taxId: string;
  readonly address: {
    readonly line: readonly string[];
    readonly city: string;
    readonly state: string;
    readonly postalCode: string;
  };
  readonly phone?: string;
}

/** A payer the tenant bills (config `tenants[].payers`). */
export interface PayerEndpoint {
  /** Slug, unique in the tenant. */
  readonly id: string;
  readonly name: string;
  /** The payer's id on claims (837 NM109 in loop 2010BB); matched against Coverage.payor identifiers. */
  readonly payerId: string;
  /** The coding engine's PayerKind (src/coding/types.ts), spelled out here: config sits below coding. */
  readonly kind: 'medicare' | 'medicaid' | 'commercial';
  /** How claims go: FHIR Claim/$submit to `fhirBaseUrl`, or X12 837 files for a clearinghouse. */
  readonly channel: 'fhir' | 'x12';
  readonly fhirBaseUrl?: string;
  readonly tokenUrl?: string;
  readonly clientId?: string;
  readonly privateKeyJwk?: Readonly<Record<string, unknown>>;
  readonly scope?: string;
  /** Days from the date of service the payer accepts a claim (timely filing). */
  readonly timelyFilingDays: number;
  /**
   * ISA15 of the X12 interchanges for this payer: P production, T test. Required in the config
   * for X12-channel payers; absent means P (the X12 interchange writer). The sandbox payers are T.
   */
  readonly usage?: 'P' | 'T';
  /** Prior authorization by Da Vinci PAS 2.2.1 (src/coverage/pas), when the payer offers it. */
  readonly pas?: PayerPasEndpoint;
  /**
   * Where eligibility is asked (src/coverage/eligibility), when not the FHIR claim endpoint: a
   * payer on X12 answers a 270 with a 271 in real time.
   */
  readonly eligibility?: PayerEligibilityEndpoint;
  /**
   * Days after the payer's decision (the remittance date) to appeal a denial; default by kind
   * (src/remittance/triage/deadlines.ts: Medicare 120, Medicaid 90, commercial 180).
   */
  readonly appealDays?: number;
  /** Days to file the second appeal level (src/remittance/appeals/deadlines.ts; default 60 commercial, 180 Medicare). */
  readonly secondAppealDays?: number;
  /**
   * How the payer takes a fixed denied claim: `replacement` (frequency 7 naming its claim number,
   * the default) or `new-claim` (a new original claim).
   */
  readonly correctedClaim?: 'replacement' | 'new-claim';
}

/** A payer's PAS endpoint (config `tenants[].payers[].pas`); its credentials are the payer's. */
export interface PayerPasEndpoint {
  /** The payer's PAS FHIR base (one per IG version: PAS 2.2.1). */
  readonly fhirBaseUrl: string;
  /** Token endpoint when it is not the payer's `tokenUrl` (else discovered from the base). */
  readonly tokenUrl?: string;
  readonly scope?: string;
  /** The payer's id in X12 terms (TransmissionIdentifiers receiver); default the payer id. */
  readonly receiverId?: string;
  /** `auto`: subscribe to the PAS topic for pended answers, `$inquire` only if the payer offers no subscription; `off`: `$inquire` only. */
  readonly subscription: 'auto' | 'off';
  /**
   * The slow schedule of `$inquire` for a pended request (default 240): the first round this many
   * minutes after the pend; then, where Dripline has no subscription in place, a round every this
   * many minutes (how the decision is learnt there), and where it has one, the fallback when no
   * notification has decided the request, with waits doubling up to a day
   * (src/coverage/pas/inquiry-schedule.ts).
   */
  readonly inquireMinutes: number;
  /** Days a request's course covers from its first day (default 180). */
  readonly courseDays: number;
}

/** A payer's eligibility endpoint (config `payers[].eligibility`); credentials default to the payer's. */
export interface PayerEligibilityEndpoint {
  /** `fhir`: CoverageEligibilityRequest/$submit; `x12`: a 005010X279A1 270 POSTed, a 271 answered. */
  readonly channel: 'fhir' | 'x12';
  /** FHIR: the payer's FHIR base (default `fhirBaseUrl`); X12: the URL a 270 is POSTed to. */
  readonly url?: string;
  readonly tokenUrl?: string;
  readonly clientId?: string;
  readonly privateKeyJwk?: Readonly<Record<string, unknown>>;
  readonly scope?: string;
  /** X12: the payer's id as interchange receiver (ISA08, GS03) and in loop 2100A; default `payerId`. */
  readonly receiverId?: string;
}
