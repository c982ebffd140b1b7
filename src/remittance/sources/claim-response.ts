/**
 * A FHIR payer's answer as a posted claim payment (../posted.ts): a ClaimResponse to one of
 * our claims, read with the claim it answers (the lines' codes, modifiers, units, dates and charges
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
  Coding,
} from '@medplum/fhirtypes';
import { sumOf } from '../amounts.ts';
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

/** The posted payment a ClaimResponse (use `claim`) makes; undefined for other uses (preauthorizations). */
export function postedPaymentOfClaimResponse(
  response: ClaimResponse & { id: string },
  ctx: ClaimResponseContext,
): PostedClaimPayment | undefined {
  if (response.use !== 'claim' && response.use !== undefined) {
    return undefined;
  }
  const items = new Map((ctx.claim.item ?? []).map((i) => [i.sequence, i]));
  const lines: PostedLine[] = (response.item ?? []).map((answer, i) => {
    const billed = claimLine(items.get(answer.itemSequence));
    const { amounts, adjustments, remarks } = readAdjudications(answer.adjudication);
    const paid = amounts['benefit'] ?? 0;
    const patientResponsibility = patientShareOf(adjustments);
    const reported = amounts['eligible'];
    return {
      position: i + 1,
      itemSequence: answer.itemSequence,
      matchedBy: 'item-sequence',
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
  const claimLevel = readAdjudications(response.adjudication ?? []);
  const errors = (response.error ?? []).flatMap((e): PostedAdjustment[] => {
    const carc = codeOf(e.code.coding, CARC_SYSTEM);
    return carc ? [{ group: 'CO', carc, amount: 0 }] : [];
  });
  const errorRemarks = (response.error ?? []).flatMap((e) =>
    (e.code.coding ?? []).filter((c) => c.system === RARC_SYSTEM && c.code).map((c) => c.code ?? ''),
  );
  const payerClaimNumber = response.identifier?.find((i) => i.value)?.value;
  const denied = response.outcome === 'error';
  const someDenied = lines.some(
    (l) => l.paid === 0 && l.adjustments.some((a) => a.group !== 'PR' && a.amount > 0),
  );
  return {
    id: `ClaimResponse/${response.id}`,
    channel: 'fhir',
    claim: ctx.claim.id,
    payer: ctx.payer,
    patientControlNumber: ctx.claim.identifier?.find((i) => i.value)?.value ?? ctx.claim.id,
    ...(payerClaimNumber ? { payerClaimNumber } : {}),
    status: denied ? '4' : '1',
    outcome: denied ? 'denied' : someDenied ? 'partially-paid' : 'paid',
    submitted: sumOf(lines.map((l) => l.submitted)),
    paid: sumOf(lines.map((l) => l.paid)),
    patientResponsibility: patientShareOf(lines.flatMap((l) => l.adjustments)),
    adjustments: [...claimLevel.adjustments, ...errors],
    remarks: [...new Set([...claimLevel.remarks, ...errorRemarks])],
    lines,
    paymentDate: ctx.paymentDate,
  };
}
