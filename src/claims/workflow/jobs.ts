/**
 * The claim workflow's queues and what their jobs carry. Build jobs are keyed by the claim's stable
 * id (`build|{claimId}`, `rebuild|{claimId}|{inputs}`), submit jobs by the version that became
 * ready (`submit|{claimId}|{version}`), so each step happens once however often it is asked for.
 */
import type { ClaimFrequency, LineOverride } from '../build.ts';
import type { ClaimState } from '../types.ts';

/** Queue of claims to build and scrub (payload ClaimReadyJob, key `build|{claimId}`). */
export const CLAIM_READY_QUEUE = 'claim-ready';
/** Queue of claims to submit to a FHIR-channel payer (payload ClaimSubmitJob). */
export const CLAIM_SUBMIT_QUEUE = 'claim-submit';

export interface ClaimReadyJob {
  readonly encounters: readonly string[];
  readonly frequency?: ClaimFrequency;
  /** A corrected claim (frequency 7): the id of the submitted claim it replaces. */
  readonly replaces?: string;
  /** Rebuild this stored claim (held, rejected or cancelled) from its encounters' current charges. */
  readonly rebuild?: string;
  /** The id of a new original (frequency 1) when the encounters' earlier claim was voided (or a denied one is billed anew). */
  readonly id?: string;
  /** Modifiers a person set on some lines (a denial's correction), with the reason. */
  readonly lineOverrides?: readonly LineOverride[];
}

export interface ClaimSubmitJob {
  readonly claim: string;
  /** The version of the claim that became `ready`: claim id + this = the submission key. */
  readonly version: string;
}

/** What happened to one claim (for logs and tests). */
export interface ClaimStepResult {
  readonly claim?: string;
  readonly state?: ClaimState;
  readonly note?: string;
}
