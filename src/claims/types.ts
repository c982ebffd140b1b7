/**
 * Claims: the shared contract of building, scrubbing, X12 rendering, submission and tracking.
 * The claim itself is a FHIR R4 Claim (Dripline's `dripline-claim` profile); these types carry what
 * travels with it.
 */
import type {
  ChargeItem,
  Claim,
  Condition,
  Coverage,
  Encounter,
  Medication,
  MedicationAdministration,
  Organization,
  Patient,
  RelatedPerson,
} from '@medplum/fhirtypes';
import type { CareSetting, PayerKind } from '../coding/types.ts';
import type { Authorization } from './authorizations.ts';

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
  readonly kind: PayerKind;
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
   * for X12-channel payers; absent means P (./x12/interchange.ts). The sandbox payers are T.
   */
  readonly usage?: 'P' | 'T';
  /** Prior authorization by Da Vinci PAS 2.2.1 (src/coverage/pas), when the payer offers it. */
  readonly pas?: PayerPasEndpoint;
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
  /** The slow schedule of `$inquire` for a pended request, minutes (default 240). */
  readonly inquireMinutes: number;
  /** Days a request's course covers from its first day (default 180). */
  readonly courseDays: number;
}

/** Where a claim is in its life; kept in extension claim-state on the Claim, with history in its versions. */
export type ClaimState =
  'built' | 'held' | 'ready' | 'submitting' | 'submitted' | 'accepted' | 'rejected' | 'adjudicated' | 'void';

export const EXT_CLAIM_STATE = 'https://dripline.dev/fhir/StructureDefinition/claim-state';

/** Everything about one claim that scrubbing and X12 rendering read (all from the tenant's store). */
export interface ClaimContext {
  readonly claim: Claim & { id: string };
  readonly setting: CareSetting;
  readonly patient: Patient;
  /** Coverages in claim sequence order (primary first). */
  readonly coverages: readonly Coverage[];
  /** The resource the primary coverage's `subscriber` names (a RelatedPerson, or a Patient), when on file. */
  readonly subscriber?: Patient | RelatedPerson;
  readonly payer: PayerEndpoint;
  readonly payerOrganization?: Organization;
  readonly provider: BillingProvider;
  readonly encounters: readonly Encounter[];
  readonly chargeItems: readonly ChargeItem[];
  readonly administrations: readonly MedicationAdministration[];
  readonly medications: readonly Medication[];
  readonly conditions: readonly Condition[];
  /** Other claims of the patient (for duplicate detection and authorized units used). */
  readonly otherClaims: readonly Claim[];
  /** Prior authorizations on file for the patient (src/claims/authorizations.ts). */
  readonly authorizations?: readonly Authorization[];
  /** Today, for timely filing (passed in: the scrubber is pure). */
  readonly today: string;
}

export interface ScrubFinding {
  readonly severity: 'error' | 'warning' | 'information';
  /** e.g. "ncci-ptp", "mue", "doc-stop-time", "med-necessity", "prior-auth", "timely-filing", "payer-ndc-required", "duplicate-claim", "coverage-inactive". */
  readonly ruleId: string;
  /** Source key or URL the rule comes from. */
  readonly source: string;
  readonly message: string;
  /** What a person should do. */
  readonly fix: string;
  /** Claim.item.sequence the finding is about, when it is about a line. */
  readonly itemSequence?: number;
  /** Errors a biller may override (with an audited reason); some (e.g. missing coverage) cannot be. */
  readonly overridable: boolean;
}
