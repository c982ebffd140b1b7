/**
 * What starting the sandbox payer (./server.ts) takes — its options, and the behaviour a test or
 * the sandbox sets at run time (faults to inject) — and what it gives: the running payer's handle.
 */
import type { ClaimResponse } from '@medplum/fhirtypes';
import type { PasEndpoint } from './pas/server.ts';
import type { PasPolicy } from './pas/policy.ts';
import type { SandboxMember } from './eligibility/enrollment.ts';
import type { CostSharing, PayerKind } from './tables.ts';

export interface SandboxPayerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SandboxPayerOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL the payer names itself by (token iss/aud); default http://host:port. */
  publicUrl?: string;
  now?: () => Date;
  /**
   * The payer's time zone (IANA name or "UTC", default "UTC"): its received date (timely filing)
   * and payment date are calendar days there, and ClaimResponse.created is written with its offset.
   */
  timeZone?: string;
  logger?: SandboxPayerLogger;
  /** Kind at `/fhir` when the insurer identifier names none (default medicare). */
  defaultKind?: PayerKind;
  /** Insurer identifier value → kind, for `/fhir` (default DEFAULT_PAYER_IDS). */
  payerIds?: Readonly<Record<string, PayerKind>>;
  costSharing?: Partial<Record<PayerKind, Partial<CostSharing>>>;
  /**
   * File the payer journals every adjudication to and reads back at start (./ledger.ts), so it
   * remembers the claims it adjudicated across restarts; absent, it remembers them in memory only.
   */
  journal?: string;
  timelyFilingDays?: Partial<Record<PayerKind, number>>;
  /** Prior authorization (Da Vinci PAS 2.2.1 at `{url}/pas/fhir`, ./pas/server.ts): policy and review delay. */
  pas?: { policy?: PasPolicy; reviewDelayMs?: number; members?: readonly string[] };
  /** The members eligibility answers for (./eligibility/enrollment.ts); setEnrollment replaces them. */
  members?: readonly SandboxMember[];
}

export interface SandboxPayerBehaviour {
  /** HTTP status every request (FHIR and token) is answered with, e.g. 503; absent = up. */
  unavailable?: number;
  /** Delay before every answer, in ms. */
  delayMs?: number;
  /**
   * Delay after the work and before its answer leaves, in ms: a claim is adjudicated and recorded
   * at once and its ClaimResponse sent this much later (a crash of the submitter meanwhile leaves
   * a claim the payer has answered and the submitter has not heard of).
   */
  answerDelayMs?: number;
  /**
   * `Claim/$submit` is adjudicated and recorded as usual, but the answer is garbled on the way
   * back: `not-json` (a 200 with an HTML page) or `invalid-fhir` (a 200 ClaimResponse missing its
   * required elements). Searching ClaimResponse still finds the real one.
   */
  garbleSubmitAnswers?: 'not-json' | 'invalid-fhir';
  /** The 271s of the X12 eligibility endpoint are garbled: a segment no 271 has, or no IEA. */
  garbleEligibility?: 'unknown-segment' | 'broken-envelope';
  /**
   * PAS event notifications are held back, as if lost: a decision reaches the submitter only by
   * `$inquire`, or when `pas.releaseNotifications()` delivers them late.
   */
  holdPasNotifications?: boolean;
  /** PAS Subscription creates are answered with this HTTP status (e.g. 503); `$submit`, `$inquire` work. */
  pasSubscriptionsUnavailable?: number;
  /**
   * PAS `Claim/$submit` answers leave this many ms after the request is decided and kept (a payer
   * slower than the submitter's job lease); tokens and other calls answer at once.
   */
  holdPasSubmitAnswersMs?: number;
  /**
   * PAS Subscription creates are answered this many ms after the subscription is made and its
   * handshake sent (a payer slower than the subscriber's job lease).
   */
  holdPasSubscribeAnswersMs?: number;
  /** PAS Subscription creates make the subscription (its handshake sent) and reset the connection unanswered. */
  dropPasSubscribeAnswers?: boolean;
  /** PAS Subscription creates are refused with this HTTP status (e.g. 403): a payer that stopped taking them. */
  refusePasSubscriptionCreates?: number;
  /** PAS Subscription deletes are refused with this HTTP status (e.g. 403, 405), as a real server could. */
  refusePasSubscriptionDeletes?: number;
  /** PAS Subscription searches are refused with this HTTP status (e.g. 405): a payer without search. */
  refusePasSubscriptionSearch?: number;
  /** PAS subscriptions get no heartbeat (the payer's heartbeats stopped); events are still sent. */
  silencePasHeartbeats?: boolean;
  /** PAS `Subscription/{id}/$status` is refused with this HTTP status (e.g. 403, 501). */
  refusePasSubscriptionStatus?: number;
  /** PAS `Subscription/{id}/$events` is refused with this HTTP status (e.g. 404, 501): a payer without it. */
  refusePasSubscriptionEvents?: number;
  /**
   * PAS `$events` answers only this many of a subscription's latest events (0: none), as a payer
   * keeping a shorter history than the events missing.
   */
  pasEventsAnswered?: number;
}

export interface SandboxPayer {
  readonly url: string;
  /** The `/fhir` base (kind from the insurer identifier); `{url}/{kind}/fhir` force a kind. */
  readonly fhirBaseUrl: string;
  readonly tokenUrl: string;
  /** The Da Vinci PAS endpoint (`{url}/pas/fhir`): prior authorization `$submit`, `$inquire`, Subscription. */
  readonly pasFhirBaseUrl: string;
  /** The PAS endpoint's cases, and a way to end its pending reviews now. */
  readonly pas: Pick<
    PasEndpoint,
    | 'cases'
    | 'dropNotifications'
    | 'failSubscription'
    | 'finishReviews'
    | 'forgetSubscription'
    | 'heartbeatNow'
    | 'inquiriesReceived'
    | 'releaseNotifications'
    | 'submitsReceived'
    | 'subscriptions'
  >;
  /** The X12 eligibility endpoint: a 270 POSTed (application/edi-x12) is answered with a 271. */
  readonly x12EligibilityUrl: string;
  /** Replaces the members eligibility answers for. */
  setEnrollment(members: readonly SandboxMember[]): void;
  /** Eligibility inquiries answered so far, by channel. */
  eligibilityCounts(): { fhir: number; x12: number };
  /** Registers a SMART Backend Services client (public JWKS) and returns its client_id. */
  registerClient(input: { jwks: { keys: object[] }; scope: string; clientId?: string }): Promise<string>;
  /** Every ClaimResponse issued, oldest first. */
  claimResponses(): Promise<ClaimResponse[]>;
  /** Replaces the current behaviour (`{}` = normal service). */
  setBehaviour(behaviour: SandboxPayerBehaviour): void;
  stop(): Promise<void>;
}
