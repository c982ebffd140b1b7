/**
 * The claim funnel of a tenant, from stored claims, their first scrub, payer answers and Tasks:
 * how many claims went out clean, what held the others, how many the payer accepted the first
 * time, why it denied, and what was billed and paid. Pure (the caller reads the store).
 *
 * Definitions (../shared/research/market.md §4, "Definitions to fix in code"; claims, not lines or
 * dollars, first pass only):
 * - scrub pass rate: original claims (frequency 1) whose first scrub found no error, over original
 *   claims scrubbed (Dripline's own edit step, before anything leaves);
 * - clean-claim rate (first-pass acceptance): claims answered by the payer (adjudicated or
 *   rejected) whose first answer is not a denial (isDenial, src/claims/workflow/submission.ts),
 *   over claims answered;
 * - denial rate: claims whose first answer is a denial, over claims answered. Denial reasons count
 *   CARCs other than the contractual and patient-responsibility ones (1, 2, 3, 45).
 */
import type { Claim, ClaimResponse, Task } from '@medplum/fhirtypes';
import type { ClaimState } from './types.ts';
import type { ScrubFinding } from './types.ts';

export interface FunnelInput {
  readonly claims: readonly Claim[];
  /** Claim id → the state its first scrub led to (`held` or `ready`). */
  readonly firstScrub: ReadonlyMap<string, ClaimState>;
  /** The payer's answers as stored (ClaimResponse.request → Claim/{id}), oldest first. */
  readonly responses: readonly ClaimResponse[];
  /** "Claim needs attention" Tasks, with their findings. */
  readonly tasks: readonly Task[];
  readonly stateOf: (claim: Claim) => ClaimState | undefined;
  readonly frequencyOf: (claim: Claim) => string;
  readonly findingsOf: (task: Task) => ScrubFinding[];
  readonly isDenial: (response: ClaimResponse) => boolean;
}

export interface Funnel {
  readonly claims: number;
  readonly byState: Readonly<Record<string, number>>;
  readonly originals: number;
  readonly cleanOnFirstScrub: number;
  readonly heldByRule: Readonly<Record<string, number>>;
  readonly answered: number;
  readonly acceptedFirstPass: number;
  readonly deniedByCarc: Readonly<Record<string, number>>;
  readonly billed: number;
  readonly paid: number;
  readonly rates: { readonly scrubPass: number; readonly cleanClaim: number; readonly denial: number };
}

const ratio = (n: number, d: number): number => (d === 0 ? 0 : n / d);
/** Deductible (1), coinsurance (2), copay (3) and the contractual write-down (45) are not denials. */
const NOT_DENIAL_REASONS = new Set(['1', '2', '3', '45']);
const cents = (x: number): number => Math.round(x * 100) / 100;

/** What the payer paid on a ClaimResponse: payment.amount, else the sum of line benefits. */
export function paidOf(response: ClaimResponse): number {
  if (response.payment?.amount?.value !== undefined) {
    return response.payment.amount.value;
  }
  return (response.item ?? [])
    .flatMap((i) => i.adjudication ?? [])
    .filter((a) => a.category?.coding?.some((c) => c.code === 'benefit'))
    .reduce((sum, a) => sum + (a.amount?.value ?? 0), 0);
}

/** CARC codes on a ClaimResponse's line adjudications and errors (X12 group prefixes left off). */
export function carcsOf(response: ClaimResponse): string[] {
  return [
    ...(response.item ?? []).flatMap((i) =>
      (i.adjudication ?? []).flatMap((a) => (a.reason?.coding ?? []).map((c) => c.code ?? '')),
    ),
    ...(response.error ?? []).flatMap((e) => (e.code.coding ?? []).map((c) => c.code ?? '')),
  ].filter((c) => c !== '');
}

export function claimFunnel(input: FunnelInput): Funnel {
  const byState: Record<string, number> = {};
  let originals = 0;
  let cleanOnFirstScrub = 0;
  let billed = 0;
  for (const claim of input.claims) {
    const state = input.stateOf(claim) ?? 'untracked';
    byState[state] = (byState[state] ?? 0) + 1;
    if (input.frequencyOf(claim) === '1') {
      const first = claim.id ? input.firstScrub.get(claim.id) : undefined;
      if (first) {
        originals += 1;
        cleanOnFirstScrub += first === 'ready' ? 1 : 0;
      }
      billed += claim.total?.value ?? 0;
    }
  }
  const heldByRule: Record<string, number> = {};
  for (const task of input.tasks) {
    for (const finding of input.findingsOf(task)) {
      if (finding.severity === 'error') {
        heldByRule[finding.ruleId] = (heldByRule[finding.ruleId] ?? 0) + 1;
      }
    }
  }
  // The first answer to each claim decides first-pass acceptance; every answer counts for money.
  const firstAnswer = new Map<string, ClaimResponse>();
  let paid = 0;
  for (const response of input.responses) {
    const ref = response.request?.reference ?? '';
    if (!firstAnswer.has(ref)) {
      firstAnswer.set(ref, response);
    }
    paid += paidOf(response);
  }
  let acceptedFirstPass = 0;
  const deniedByCarc: Record<string, number> = {};
  for (const response of firstAnswer.values()) {
    if (input.isDenial(response)) {
      for (const carc of new Set(carcsOf(response).filter((c) => !NOT_DENIAL_REASONS.has(c)))) {
        deniedByCarc[carc] = (deniedByCarc[carc] ?? 0) + 1;
      }
    } else {
      acceptedFirstPass += 1;
    }
  }
  const answered = firstAnswer.size;
  return {
    claims: input.claims.length,
    byState,
    originals,
    cleanOnFirstScrub,
    heldByRule,
    answered,
    acceptedFirstPass,
    deniedByCarc,
    billed: cents(billed),
    paid: cents(paid),
    rates: {
      scrubPass: ratio(cleanOnFirstScrub, originals),
      cleanClaim: ratio(acceptedFirstPass, answered),
      denial: ratio(answered - acceptedFirstPass, answered),
    },
  };
}
