/**
 * What each Dripline operation discloses, and so which SMART scopes it needs (one table, read by
 * every route that answers with more than the resource type it is called on).
 *
 * A scope grants exactly what it names (SMART App Launch 2.x, "Scopes for requesting FHIR
 * Resources"): `system/Claim.r` reads Claims, nothing else. An operation whose answer carries data
 * of other types — an 837 names the patient, the subscriber's member id, the payer and the
 * clinicians — needs read on each of those types, and a 403 `insufficient_scope` names every
 * scope missing (RFC 6750 §3.1), so the client learns in one answer what to ask for.
 */
import { InsufficientScopeError } from '../http/auth-errors.ts';
import type { AuthContext } from './bearer.ts';
import type { Interaction } from './scopes.ts';
import { isAllowed, requiredScopeFor } from './scopes.ts';

/** One thing a request needs the token to allow: an interaction on a resource type. */
export interface ScopeNeed {
  readonly resourceType: string;
  readonly interaction: Interaction;
}

function needs(interaction: Interaction, ...types: readonly string[]): ScopeNeed[] {
  return types.map((resourceType) => ({ resourceType, interaction }));
}

/**
 * The resource types an X12 837 carries (src/x12/837/): the claim (lines, diagnoses,
 * the care team's clinicians), the patient and subscriber (names, addresses, birth dates), the
 * coverage (member id, relationship), the payer organization, the clinicians (NPIs) and a subscriber
 * who is not the patient (a RelatedPerson: name, address, birth date).
 */
export const X12_DISCLOSED_TYPES: readonly string[] = [
  'Claim',
  'Patient',
  'Coverage',
  'Organization',
  'Practitioner',
  'RelatedPerson',
];

/**
 * Resource types whose content embeds other types' data, so that reading or searching them needs
 * read on those types too: the DocumentReferences Dripline writes are X12 batch files
 * (src/claims/x12-batch.ts), the 837 itself as the attachment.
 */
export const EMBEDDED_TYPES: Readonly<Record<string, readonly string[]>> = {
  DocumentReference: X12_DISCLOSED_TYPES,
};

/** What each operation beyond plain FHIR REST needs. */
export const OPERATION_NEEDS = {
  /** `GET /fhir/Claim/{id}/$x12`: one claim rendered as an 837. */
  x12Claim: needs('read', ...X12_DISCLOSED_TYPES),
  /** `GET /fhir/Claim/$x12?…`: the claims a filter selects (a search), rendered as one 837. */
  x12Batch: [...needs('search', 'Claim'), ...needs('read', ...X12_DISCLOSED_TYPES)],
  /** `GET /api/claims/x12-batches/{id}`: a batch file (a DocumentReference holding an 837). */
  x12BatchFile: [...needs('read', 'DocumentReference'), ...needs('read', ...X12_DISCLOSED_TYPES)],
  /**
   * `POST /api/claims/x12-batches`: selects the ready claims of a payer (search), marks them
   * submitted (update), writes the batch file (create DocumentReference); the answer lists the claims.
   */
  x12BatchCreate: [
    ...needs('read', 'Claim'),
    ...needs('search', 'Claim'),
    ...needs('update', 'Claim'),
    ...needs('create', 'DocumentReference'),
  ],
  /** `GET /api/claims/worklist`: claims by state and the Tasks open on them. */
  worklist: [...needs('read', 'Claim', 'Task'), ...needs('search', 'Claim', 'Task')],
  /** `POST /api/claims/{id}/override|resubmit`: a state change of one claim (its answer: the state reached). */
  claimAction: needs('update', 'Claim'),
  /** `POST /api/claims/{id}/assign`: the owner of the claim's work item (a Task). */
  taskAssign: [...needs('read', 'Task'), ...needs('update', 'Task')],
  /**
   * `POST /fhir/Encounter/$infusion-charges`: invoked on Encounter; answers a draft Claim and
   * ChargeItems.
   */
  infusionCharges: [...needs('read', 'Encounter'), ...needs('read', 'Claim', 'ChargeItem')],
  /**
   * `GET /api/coverage/authorizations?patient=`: a patient's authorization ledger — the
   * authorizations (ClaimResponse), what used them (ChargeItem, and the Claims that bill them), the
   * booked visits (Encounter), the ledger's work items (Task), and the patient's payer (from the
   * primary Coverage and its payor Organization).
   */
  authorizationLedger: [
    ...needs('search', 'ClaimResponse', 'ChargeItem', 'Claim', 'Encounter', 'Task', 'Coverage'),
    ...needs('read', 'ClaimResponse', 'ChargeItem', 'Claim', 'Encounter', 'Task', 'Coverage', 'Organization'),
  ],
  /**
   * `POST /api/remittance/835`: keeps the file (create DocumentReference) whose posting writes
   * ExplanationOfBenefits and PaymentReconciliations and moves Claims; answers only its report.
   */
  remittanceReceive: [
    ...needs('create', 'DocumentReference', 'ExplanationOfBenefit', 'PaymentReconciliation'),
    ...needs('update', 'Claim'),
  ],
  /**
   * `GET|POST /api/coverage/estimate`: a patient estimate (an ExplanationOfBenefit, use
   * predetermination) made from the subject (read on its own type, checked by the route), the
   * encounter's charges, the patient's coverage and payer, and the latest eligibility answer.
   */
  patientEstimate: [
    ...needs(
      'read',
      'ExplanationOfBenefit',
      'ChargeItem',
      'Coverage',
      'Organization',
      'CoverageEligibilityRequest',
      'CoverageEligibilityResponse',
    ),
    ...needs('search', 'ChargeItem', 'Coverage', 'CoverageEligibilityRequest', 'CoverageEligibilityResponse'),
  ],
  /** `GET /api/remittance/work-items|underpayments`: denial and underpayment work items (Tasks naming claims). */
  workItems: [...needs('read', 'Task', 'Claim'), ...needs('search', 'Task')],
  /** `POST /api/remittance/work-items/{id}/assign|correct|close`: a work item changes (and a corrected claim is asked for). */
  workItemAction: [...needs('update', 'Task'), ...needs('update', 'Claim')],
  /**
   * `POST /api/remittance/unmatched/{task}/match`: the work item action's scopes, and the payment
   * it posts: the draft ExplanationOfBenefit posted over, the remittance's PaymentReconciliation
   * pointed at the claim.
   */
  unmatchedMatch: [
    ...needs('read', 'Task', 'Claim', 'ExplanationOfBenefit'),
    ...needs('update', 'Task', 'Claim', 'ExplanationOfBenefit', 'PaymentReconciliation'),
  ],
  /**
   * `GET /api/analytics/{measure}`: aggregates computed from the tenant's claims, payments, work
   * items and appeals, authorizations and charges (src/analytics); the answer names no patient.
   */
  analytics: [
    ...needs('search', 'Claim', 'ExplanationOfBenefit', 'Task', 'ClaimResponse', 'ChargeItem'),
    ...needs('read', 'Claim', 'ExplanationOfBenefit', 'Task', 'ClaimResponse', 'ChargeItem'),
  ],
  /**
   * `GET /api/analytics/denial-risk?claim=`: one claim's lines and payer, scored from the tenant's
   * adjudicated history (claims and their payments); names no patient.
   */
  denialRisk: [
    ...needs('read', 'Claim', 'ExplanationOfBenefit'),
    ...needs('search', 'Claim', 'ExplanationOfBenefit'),
  ],
  /** `GET /api/analytics/what-if`: the lines of the tenant's claims (codes, units, charges, payers), priced. */
  whatIf: [...needs('read', 'Claim'), ...needs('search', 'Claim')],
  /** `GET /api/remittance/appeals[/{id}]`: appeals (Tasks naming the claim, the patient and the amounts). */
  appeals: [...needs('read', 'Task', 'Claim'), ...needs('search', 'Task')],
  /** `POST /api/remittance/appeals`: reads the work item, creates the appeal Task. */
  appealOpen: [...needs('read', 'Task', 'Claim'), ...needs('create', 'Task')],
  /** `POST /api/remittance/appeals/{id}/outcome|sweep`: an appeal changes (and an escalation Task may be created). */
  appealUpdate: [...needs('read', 'Task'), ...needs('update', 'Task'), ...needs('create', 'Task')],
  /** `GET /api/remittance/appeals/{id}/packet`: the letter names the patient, coverage, claim, remittances and authorizations. */
  appealPacket: needs(
    'read',
    'Task',
    'Claim',
    'Patient',
    'Coverage',
    'ExplanationOfBenefit',
    'ClaimResponse',
  ),
  /** `POST /api/remittance/statements/run`: reads the EOBs, writes Accounts and the cycle's Invoices (and refund Tasks). */
  statementRun: [
    ...needs('read', 'ExplanationOfBenefit', 'Patient'),
    ...needs('create', 'Invoice', 'Task'),
    ...needs('update', 'Account'),
  ],
  /** `GET /api/remittance/accounts?patient=`, `GET /statements/{id}[/pdf]`: a patient's balance and statements. */
  statementRead: [...needs('read', 'Account', 'Invoice', 'ExplanationOfBenefit', 'Patient')],
  /** `POST /api/remittance/patient-payments`: a payment or adjustment on a patient's Account. */
  patientPayment: [...needs('read', 'Account'), ...needs('create', 'PaymentNotice')],
} as const satisfies Record<string, readonly ScopeNeed[]>;

/**
 * What one FHIR REST interaction on a type needs: the interaction itself, plus read on the types
 * its content embeds when it discloses content (read, search).
 */
export function interactionNeeds(resourceType: string, interaction: Interaction): ScopeNeed[] {
  const own: ScopeNeed = { resourceType, interaction };
  const embedded =
    interaction === 'read' || interaction === 'search' ? (EMBEDDED_TYPES[resourceType] ?? []) : [];
  return [own, ...needs('read', ...embedded.filter((type) => type !== resourceType))];
}

/** The scopes (v2 text, e.g. `system/Patient.r`) the token lacks for these needs, in order, without repeats. */
export function missingScopes(auth: Pick<AuthContext, 'scopes'>, required: readonly ScopeNeed[]): string[] {
  const missing = required
    .filter((need) => !isAllowed(auth.scopes, need.resourceType, need.interaction))
    .map((need) => requiredScopeFor(need.resourceType, need.interaction));
  return [...new Set(missing)];
}

/** Throws one InsufficientScopeError naming every missing scope, unless the token allows all of them. */
export function requireScopes(auth: Pick<AuthContext, 'scopes'>, required: readonly ScopeNeed[]): void {
  const missing = missingScopes(auth, required);
  if (missing.length > 0) {
    throw new InsufficientScopeError(missing);
  }
}
