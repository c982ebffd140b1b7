/**
 * A FHIR payer's answer as a claim payment (../claim-payment.ts, ../posted.ts): a ClaimResponse
 * (or an ExplanationOfBenefit) to one of our claims, read with the claim it answers (the lines' codes, modifiers, units, dates and charges
 * are the claim's). Pure.
 *
 * Adjudication entries are read by category (../../shared/research/market.md §1.2–1.3):
 * `submitted`, `eligible` (allowed), `benefit` (paid), `deductible` / `coinsurance` / `copay`
 * (patient share, as PR-1 / PR-2 / PR-3); an entry whose category is an X12 group code (system
 * claim-adjustment-group-codes: CO, PR, OA, PI, CR) is a CAS triplet — its reason's CARC and amount,
 * and any RARC in the same reason. A CARIN-style `adjustmentreason` entry without a group is read
 * as PR for CARCs 1–3 and CO otherwise. `ClaimResponse.error` codes are whole-claim reasons;
 * outcome `error` is a denied claim (835 CLP02 4).
 */
import type {
  Claim,
  ClaimItem,
  ClaimResponse,
  ClaimResponseItemAdjudication,
  CodeableConcept,
  Coding,
  ExplanationOfBenefit,
} from '@medplum/fhirtypes';
import { EXT_CLAIM_FREQUENCY } from '../../contract/canonical.ts';
import { sumOf } from '../amounts.ts';
import type { ClaimPaymentDraft, LineDraft } from '../claim-payment.ts';
import { outcomeOf, postedClaimPayment } from '../claim-payment.ts';
import type { PostedAdjustment, PostedClaimPayment, PostedLine } from '../posted.ts';
import { patientShareOf } from '../posted.ts';

export const CARC_SYSTEM = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const RARC_SYSTEM = 'https://x12.org/codes/remittance-advice-remark-codes';
export const GROUP_CODE_SYSTEM = 'https://x12.org/codes/claim-adjustment-group-codes';

const GROUPS: readonly string[] = ['CO', 'PR', 'OA', 'PI', 'CR'];
const PATIENT_SHARE: Readonly<Record<string, string>> = { deductible: '1', coinsurance: '2', copay: '3' };

const codeOf = (codings: readonly Coding[] | undefined, system: string): string | undefined =>
  codings
    ?.find((c) => c.system === system && c.code)
    ?.code?.trim()
    .toUpperCase();

function categoryOf(adjudication: ClaimResponseItemAdjudication): string {
  return adjudication.category.coding?.find((c) => c.code)?.code ?? '';
}

function groupOf(adjudication: ClaimResponseItemAdjudication): string | undefined {
  const coding = adjudication.category.coding?.find(
    (c) => c.system === GROUP_CODE_SYSTEM || GROUPS.includes((c.code ?? '').toUpperCase()),
  );
  const code = (coding?.code ?? '').toUpperCase();
  return GROUPS.includes(code) ? code : undefined;
}

/** A claim line's code, modifiers, units, date and charge. */
function claimLine(item: ClaimItem | undefined): {
  code: string;
  modifiers: string[];
  units: number;
  serviceDate?: string;
  charge?: number;
} {
  const code = (item?.productOrService.coding?.find((c) => c.code)?.code ?? '').trim().toUpperCase();
  const modifiers = (item?.modifier ?? []).flatMap((m) =>
    (m.coding ?? []).map((c) => (c.code ?? '').trim().toUpperCase()).filter((c) => c !== ''),
  );
  const date = (item?.servicedDate ?? item?.servicedPeriod?.start ?? '').slice(0, 10);
  return {
    code,
    modifiers,
    units: item?.quantity?.value ?? 1,
    ...(date ? { serviceDate: date } : {}),
    ...(typeof item?.net?.value === 'number' ? { charge: item.net.value } : {}),
  };
}

/** The amounts, adjustments and remarks of one line's (or the claim's) adjudication entries. */
function readAdjudications(adjudications: readonly ClaimResponseItemAdjudication[]): {
  amounts: Record<string, number>;
  adjustments: PostedAdjustment[];
  remarks: string[];
} {
  const amounts: Record<string, number> = {};
  const adjustments: PostedAdjustment[] = [];
  const remarks: string[] = [];
  for (const a of adjudications) {
    const category = categoryOf(a);
    const amount = a.amount?.value;
    const carc = codeOf(a.reason?.coding, CARC_SYSTEM);
    remarks.push(
      ...(a.reason?.coding ?? [])
        .filter((c) => c.system === RARC_SYSTEM && c.code)
        .map((c) => (c.code ?? '').toUpperCase()),
    );
    const group = groupOf(a);
    if (group && carc) {
      adjustments.push({ group, carc, amount: amount ?? 0 });
    } else if (category === 'adjustmentreason' && carc) {
      adjustments.push({ group: ['1', '2', '3'].includes(carc) ? 'PR' : 'CO', carc, amount: amount ?? 0 });
    } else if (PATIENT_SHARE[category] && typeof amount === 'number' && amount !== 0) {
      adjustments.push({ group: 'PR', carc: PATIENT_SHARE[category] ?? '', amount });
    } else if (typeof amount === 'number' && category !== '') {
      amounts[category] = sumOf([amounts[category] ?? 0, amount]);
    }
  }
  return { amounts, adjustments, remarks: [...new Set(remarks)] };
}

export interface ClaimResponseContext {
  /** The claim it answers, as stored. */
  readonly claim: Claim & { id: string };
  /** The tenant payer id the claim went to. */
  readonly payer: string;
  /** The decision's date in the tenant's zone (the ClaimResponse's payment date or created). */
  readonly paymentDate: string;
}

/** A FHIR payer's adjudicated answer: its ClaimResponse, or the ExplanationOfBenefit it sent instead. */
export type FhirPayerAnswer = (ClaimResponse | ExplanationOfBenefit) & { id: string };

/** The parts of a ClaimResponse and an ExplanationOfBenefit that carry the adjudication (same shapes in R4). */
interface AnswerParts {
  readonly use?: string;
  readonly outcome?: string;
  readonly items: readonly { sequence: number; adjudication: readonly ClaimResponseItemAdjudication[] }[];
  readonly adjudication: readonly ClaimResponseItemAdjudication[];
  readonly errors: readonly CodeableConcept[];
  readonly payerClaimNumber?: string;
}

function partsOf(answer: FhirPayerAnswer): AnswerParts {
  const payerClaimNumber = answer.identifier?.find((i) => i.value)?.value;
  if (answer.resourceType === 'ClaimResponse') {
    return {
      ...(answer.use ? { use: answer.use } : {}),
      ...(answer.outcome ? { outcome: answer.outcome } : {}),
      items: (answer.item ?? []).map((i) => ({ sequence: i.itemSequence, adjudication: i.adjudication })),
      adjudication: answer.adjudication ?? [],
      errors: (answer.error ?? []).map((e) => e.code),
      ...(payerClaimNumber ? { payerClaimNumber } : {}),
    };
  }
  // ExplanationOfBenefit.item.adjudication has the ClaimResponse's shape (category, reason, amount).
  return {
    use: answer.use,
    outcome: answer.outcome,
    items: (answer.item ?? []).map((i) => ({
      sequence: i.sequence,
      adjudication: i.adjudication ?? [],
    })),
    adjudication: answer.adjudication ?? [],
    errors: [],
    ...(payerClaimNumber ? { payerClaimNumber } : {}),
  };
}

/**
 * Whether an answer is a claim adjudication to post: use `claim` (not a preauthorization or a
 * predetermination) with adjudicated lines or claim-level adjudication. A rejection (outcome
 * `error` with nothing adjudicated) is not: the claim workflow puts it on the claim's worklist.
 */
export function isPostableAnswer(answer: FhirPayerAnswer): boolean {
  const parts = partsOf(answer);
  return (
    (parts.use === 'claim' || parts.use === undefined) &&
    (parts.items.some((i) => i.adjudication.length > 0) || parts.adjudication.length > 0)
  );
}

/**
 * The claim payment a FHIR answer makes, before matching: each answered line names its claim item
 * (`answersItem`), whose code, modifiers, units, date and charge it takes. The outcome follows the
 * 835's rule (../claim-payment.ts `outcomeOf`), with outcome `error` as a denied claim (CLP02 4)
 * and the answer to a void (frequency 8) as a reversal (CLP02 22).
 * Undefined when the answer is not a claim adjudication (`isPostableAnswer`).
 */
export function draftOfFhirAnswer(
  answer: FhirPayerAnswer,
  ctx: ClaimResponseContext,
): ClaimPaymentDraft | undefined {
  if (!isPostableAnswer(answer)) {
    return undefined;
  }
  const parts = partsOf(answer);
  const items = new Map((ctx.claim.item ?? []).map((i) => [i.sequence, i]));
  const lines: LineDraft[] = parts.items.map((answered, i) => {
    const billed = claimLine(items.get(answered.sequence));
    const { amounts, adjustments, remarks } = readAdjudications(answered.adjudication);
    const paid = amounts['benefit'] ?? 0;
    const patientResponsibility = patientShareOf(adjustments);
    const reported = amounts['eligible'];
    return {
      position: i + 1,
      answersItem: answered.sequence,
      procedure: { qualifier: 'HC', code: billed.code, modifiers: billed.modifiers },
      units: billed.units,
      ...(billed.serviceDate ? { serviceDate: billed.serviceDate } : {}),
      submitted: amounts['submitted'] ?? billed.charge ?? 0,
      allowed: reported ?? sumOf([paid, patientResponsibility.total]),
      allowedReported: reported !== undefined,
      paid,
      patientResponsibility,
      adjustments,
      remarks,
    };
  });
  const claimLevel = readAdjudications(parts.adjudication);
  const errors = parts.errors.flatMap((code): PostedAdjustment[] => {
    const carc = codeOf(code.coding, CARC_SYSTEM);
    return carc ? [{ group: 'CO', carc, amount: 0 }] : [];
  });
  const errorRemarks = parts.errors.flatMap((code) =>
    (code.coding ?? []).filter((c) => c.system === RARC_SYSTEM && c.code).map((c) => c.code ?? ''),
  );
  // A void (frequency 8) adjudicated takes the original's payment back: the 835 sends it as a
  // reversal (CLP02 22), never as a denial of the void.
  const voids = ctx.claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode === '8';
  const status = voids ? '22' : parts.outcome === 'error' ? '4' : '1';
  const paid = sumOf(lines.map((l) => l.paid));
  const patientResponsibility = patientShareOf([
    ...claimLevel.adjustments,
    ...lines.flatMap((l) => l.adjustments),
  ]);
  return {
    channel: 'fhir',
    position: 1,
    patientControlNumber: ctx.claim.identifier?.find((i) => i.value)?.value ?? ctx.claim.id,
    ...(parts.payerClaimNumber ? { payerClaimNumber: parts.payerClaimNumber } : {}),
    status,
    outcome: outcomeOf({ status, paid, patientResponsibility: patientResponsibility.total, lines }),
    submitted: sumOf(lines.map((l) => l.submitted)),
    paid,
    patientResponsibility,
    adjustments: [...claimLevel.adjustments, ...errors],
    remarks: [...new Set([...claimLevel.remarks, ...errorRemarks])],
    lines,
    paymentDate: ctx.paymentDate,
  };
}

/** The posted payment a ClaimResponse (use `claim`) makes, lines matched by item sequence; undefined for other uses. */
export function postedPaymentOfClaimResponse(
  response: ClaimResponse & { id: string },
  ctx: ClaimResponseContext,
): PostedClaimPayment | undefined {
  const draft = draftOfFhirAnswer(response, ctx);
  if (!draft) {
    return undefined;
  }
  const lines: PostedLine[] = draft.lines.map(({ answersItem, ...line }) => ({
    ...line,
    ...(answersItem !== undefined ? { itemSequence: answersItem, matchedBy: 'item-sequence' as const } : {}),
  }));
  return postedClaimPayment(draft, {
    id: `ClaimResponse/${response.id}`,
    claim: ctx.claim.id,
    payer: ctx.payer,
    lines,
  });
}
