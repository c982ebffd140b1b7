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
import type { CareSetting } from '../coding/types.ts';
import type { BillingProvider, PayerEndpoint } from '../config/billing.ts';
import type { Authorization } from '../coverage/authorizations.ts';
import type { EligibilitySummary } from '../coverage/eligibility/summary.ts';

/** Where a claim is in its life; kept in extension claim-state on the Claim, with history in its versions. */
export type ClaimState =
  'built' | 'held' | 'ready' | 'submitting' | 'submitted' | 'accepted' | 'rejected' | 'adjudicated' | 'void';

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
  /** Other claims of the patient (for duplicate detection, and which claim bills which charge). */
  readonly otherClaims: readonly Claim[];
  /** Prior authorizations on file for the patient (src/coverage/authorizations.ts). */
  readonly authorizations?: readonly Authorization[];
  /**
   * The patient's charges on every encounter: what the authorization ledger counts against the
   * authorizations (./ledger.ts). Absent: the claim's own charges only.
   */
  readonly patientCharges?: readonly ChargeItem[];
  /** What the payers last said about the patient's coverages, by "Coverage/id" (src/coverage/eligibility). */
  readonly eligibility?: ReadonlyMap<string, EligibilitySummary>;
  /** Payer ids of every coverage on file (another payer an answer names is expected when among them). */
  readonly payersOnFile?: readonly string[];
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
