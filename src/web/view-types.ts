/**
 * The JSON the web API answers for a claim (`GET /api/claims/{id}`) and the browser client reads:
 * the API builds these shapes (api/claim.ts, api/eob-lines.ts, api/lookup.ts) and the client's
 * views render them, so both sides are checked against one definition.
 *
 * Pure types with no imports: the client is type-checked without Node's types
 * (client/tsconfig.json) and bundled by esbuild, which erases `import type`, so nothing of the
 * server reaches the browser through this module. Both sides are in the `web` layer.
 */

/** A finding as the app shows it: what is wrong, what to do, whether a biller may override it. */
export interface FindingView {
  readonly severity: 'error' | 'warning' | 'information';
  readonly rule: string;
  readonly message: string;
  readonly fix: string;
  readonly overridable: boolean;
  readonly source: string;
  /** The claim line (Claim.item.sequence) it is about, when it is about a line. */
  readonly line?: number;
}

export interface TimelineEntry {
  readonly at: string;
  readonly kind: 'state' | 'payer' | 'note';
  readonly state?: string;
  readonly text: string;
}

/** One claim as a person follows it (api/claim.ts). */
export interface ClaimView {
  readonly id: string;
  readonly state: string;
  readonly since?: string;
  readonly patient: { reference: string; name: string };
  readonly payer: { id: string; name: string };
  readonly total: number;
  readonly kind: string;
  readonly encounters: readonly string[];
  readonly lines: readonly {
    sequence: number;
    code: string;
    label: string;
    units: number;
    charge: number;
    date?: string;
  }[];
  readonly findings: readonly FindingView[];
  readonly task?: { id: string; status: string; owner?: string; ownerName?: string };
  readonly timeline: readonly TimelineEntry[];
  readonly answers: readonly {
    id: string;
    outcome: string;
    disposition?: string;
    paid?: number;
    errors: readonly string[];
    lines: readonly {
      sequence: number;
      adjudication: readonly { category: string; amount?: number; reason?: string }[];
    }[];
  }[];
}

/** An adjustment (group code + CARC) or a remark (RARC) with its table's words; an adjustment's amount. */
export interface ReasonInWords {
  readonly code: string;
  readonly words: string;
  readonly amount?: number;
}

/** A posted payment (ExplanationOfBenefit) of a claim as people read it (api/eob-lines.ts). */
export interface EobView {
  readonly id: string;
  readonly outcome?: string;
  readonly paymentDate?: string;
  readonly paid?: number;
  readonly remarks: readonly ReasonInWords[];
  readonly lines: readonly {
    readonly sequence: number;
    readonly service: string;
    readonly paid?: number;
    readonly adjustments: readonly ReasonInWords[];
    readonly remarks: readonly ReasonInWords[];
  }[];
}

/** `GET /api/claims/{id}`: the claim and its posted payments, oldest first. */
export interface ClaimWithPayments extends ClaimView {
  readonly eobs: readonly EobView[];
}

/** A charge line with its rationale in words (GET /api/encounters/:id). */
export interface ChargeLineView {
  readonly id: string;
  readonly code: string;
  readonly label: string;
  readonly units: number;
  readonly modifiers: readonly string[];
  readonly status: string;
  readonly rule: string;
  readonly text: string;
  readonly minutes?: number;
  readonly amounts: Readonly<Record<string, number>>;
  readonly sources: readonly string[];
}

/** The encounter in context (GET /api/encounters/:id). */
export interface EncounterView {
  /** `timeZone`: the tenant's, in which people read the visit's times (not the browser's). */
  readonly encounter: {
    id: string;
    status: string;
    start?: string;
    end?: string;
    setting?: string;
    timeZone: string;
  };
  readonly patient: { reference: string; name: string; birthDate?: string };
  readonly charges: readonly ChargeLineView[];
  readonly issues: readonly { code: string; text: string }[];
  readonly claims: readonly {
    id: string;
    state: string;
    payer: string;
    total: number;
    findings: readonly FindingView[];
    preAuthRefs: readonly string[];
  }[];
  /**
   * Present while the encounter waits for its claim inside the tenant's bill hold (config
   * `billHold.hours`): when the hold is over (an instant: its own, or a later visit's that bills on
   * the same claim; the claim is built at the sweep after), how long it is, and the tenant's zone
   * people read the instant in (src/claims/workflow/bill-hold-status.ts).
   */
  readonly billHold?: BillHoldView;
  readonly authorizations: readonly {
    number: string;
    start?: string;
    end?: string;
    services: readonly { code: string; units?: number }[];
  }[];
}

/** A bill hold as the views show it: held until `until` (read in `timeZone`) by the `hours`-hour hold. */
export interface BillHoldView {
  readonly until: string;
  readonly hours: number;
  readonly timeZone: string;
}
