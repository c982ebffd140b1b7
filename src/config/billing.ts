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
  /**
   * Days after the payer's decision (the remittance date) to appeal a denial; default by kind
   * (src/remittance/triage/deadlines.ts: Medicare 120, Medicaid 90, commercial 180).
   */
  readonly appealDays?: number;
  /**
   * How the payer takes a fixed denied claim: `replacement` (frequency 7 naming its claim number,
   * the default) or `new-claim` (a new original claim).
   */
  readonly correctedClaim?: 'replacement' | 'new-claim';
}
