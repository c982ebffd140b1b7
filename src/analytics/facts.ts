/**
 * The facts analytics counts, read off stored FHIR resources (pure): one per Claim, one per posted
 * payment (ExplanationOfBenefit), per work item and appeal (Task), per authorization on file
 * (preauthorization ClaimResponse) and per drug charge (ChargeItem). Each keeps only what a measure
 * needs (codes, dates, amounts; no names), so a year of a busy clinic fits in memory and every
 * measure is a loop over these records. The measures (./measures.ts) are defined on these facts
 * alone, so the definitions in the README can be checked against the FHIR data field by field.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  ExplanationOfBenefitItemAdjudication,
  Extension,
  Task,
} from '@medplum/fhirtypes';
import { CS_APPEAL_LEVEL, CS_APPEAL_OUTCOME, CS_APPEAL_OUTPUT } from '../contract/appeals.ts';
import {
  CS_WORK_ITEM,
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_REPLACED_BY,
  EXT_CLAIM_STATE,
} from '../contract/canonical.ts';
import { CS_WORK_ITEM_STATE } from '../contract/recovery.ts';
import {
  C4BB_PAYMENT_STATUS_SYSTEM,
  CARC_SYSTEM,
  EXT_REVERSES,
  GROUP_CODE_SYSTEM,
} from '../contract/remittance.ts';
import { localDate } from '../time/zone.ts';

export interface LineFact {
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly billed: number;
}

export interface ClaimFact {
  readonly id: string;
  /** 1 original, 7 replacement, 8 void (Claim frequency). */
  readonly frequency: string;
  readonly state?: string;
  /** Tenant payer id (config payers[].id). */
  readonly payer: string;
  /** Claim.facility, else the place of service of its first line. */
  readonly location: string;
  /** First date of service (billablePeriod.start), the tenant's local date. */
  readonly serviceDate: string;
  readonly billed: number;
  readonly lines: readonly LineFact[];
  readonly preAuth: boolean;
  /** A later claim (frequency 7 or 8) replaced it: its balance moved there. */
  readonly replaced: boolean;
}

export type PaymentOutcome = 'paid' | 'partially-paid' | 'denied' | 'reversed';

export interface AdjustmentFact {
  readonly group: string;
  readonly carc: string;
  readonly amount: number;
}

export interface PaymentFact {
  readonly id: string;
  readonly claim: string;
  /** Payment date (EOB.payment.date), else the posting day in the tenant's zone. */
  readonly date: string;
  /** Posting instant (EOB.created), orders payments of one day. */
  readonly created: string;
  readonly outcome: PaymentOutcome;
  readonly paid: number;
  readonly allowed: number;
  readonly patientResponsibility: number;
  readonly adjustments: readonly AdjustmentFact[];
  /** Per line: code, modifiers, units, paid and the line's own adjustments. */
  readonly lines: readonly PaymentLineFact[];
}

export interface PaymentLineFact {
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly paid: number;
  readonly adjustments: readonly AdjustmentFact[];
}

export interface WorkItemFact {
  readonly id: string;
  readonly kind: 'denial' | 'underpayment';
  readonly claim: string;
  readonly state: string;
  readonly dollarsAtStake: number;
  readonly authored: string;
  /** The tenant's local date it was opened. */
  readonly day: string;
}

export interface AppealFact {
  readonly id: string;
  readonly claim: string;
  readonly level: string;
  readonly outcome: string;
  readonly recovered: number;
  readonly authored: string;
  /** The tenant's local date it was filed. */
  readonly day: string;
}

export interface AuthorizationFact {
  readonly id: string;
  readonly payer: string;
  readonly approved: boolean;
  /** Local date it was decided (ClaimResponse.created). */
  readonly date: string;
}

export interface DrugChargeFact {
  readonly id: string;
  readonly code: string;
  readonly units: number;
  /** Local date of service. */
  readonly date: string;
}

const money = (x: number | undefined): number => Math.round((x ?? 0) * 100) / 100;

function codeOf(concept: { coding?: { code?: string }[] } | undefined): string {
  return concept?.coding?.find((c) => c.code)?.code ?? '';
}

/** A drug line: HCPCS level II drug codes (J, Q and C drug codes, A/S supplies excluded). */
export function isDrugCode(code: string): boolean {
  return /^[JQ]\d{4}$/.test(code) || /^C9\d{3}$/.test(code);
}

export function claimFact(claim: Claim & { id: string }): ClaimFact {
  const ext = (url: string): Extension | undefined => claim.extension?.find((e) => e.url === url);
  const lines = (claim.item ?? []).map((item): LineFact => ({
    code: codeOf(item.productOrService),
    modifiers: (item.modifier ?? []).map(codeOf).filter((m) => m !== ''),
    units: item.quantity?.value ?? 0,
    billed: money(item.net?.value),
  }));
  const state = ext(EXT_CLAIM_STATE)?.valueCode;
  const facility = claim.facility?.reference ?? claim.facility?.display;
  return {
    id: claim.id,
    frequency: ext(EXT_CLAIM_FREQUENCY)?.valueCode ?? '1',
    ...(state ? { state } : {}),
    payer: ext(EXT_CLAIM_PAYER)?.valueString ?? claim.insurer?.identifier?.value ?? 'unknown',
    location: facility ?? (codeOf(claim.item?.[0]?.locationCodeableConcept) || 'unknown'),
    serviceDate: claim.billablePeriod?.start?.slice(0, 10) ?? claim.item?.[0]?.servicedDate ?? '',
    billed: money(claim.total?.value ?? lines.reduce((s, l) => s + l.billed, 0)),
    lines,
    preAuth: (claim.insurance ?? []).some((i) => (i.preAuthRef ?? []).length > 0),
    replaced: ext(EXT_CLAIM_REPLACED_BY) !== undefined,
  };
}

const PAYMENT_STATUS: Readonly<Record<string, PaymentOutcome>> = {
  paid: 'paid',
  partiallypaid: 'partially-paid',
  denied: 'denied',
};

function totalOf(eob: ExplanationOfBenefit, code: string): number {
  return money(eob.total?.find((t) => codeOf(t.category) === code)?.amount?.value);
}

/** The CAS adjustments (group, CARC, amount) among adjudications. */
function adjustmentsOf(adjudications: ExplanationOfBenefitItemAdjudication[]): AdjustmentFact[] {
  return adjudications
    .filter((a) => a.category?.coding?.some((c) => c.system === GROUP_CODE_SYSTEM))
    .map((a): AdjustmentFact => ({
      group: a.category?.coding?.find((c) => c.system === GROUP_CODE_SYSTEM)?.code ?? '',
      carc: a.reason?.coding?.find((c) => c.system === CARC_SYSTEM)?.code ?? '',
      amount: money(a.amount?.value),
    }));
}

/** A posted payment, or undefined for an unmatched (draft) one: it names no claim yet. */
export function paymentFact(
  eob: ExplanationOfBenefit & { id: string },
  zone: string,
): PaymentFact | undefined {
  const claim = eob.claim?.reference?.replace(/^Claim\//, '');
  if (!claim || eob.status !== 'active') {
    return undefined;
  }
  const reversal = eob.extension?.some((e) => e.url === EXT_REVERSES) ?? false;
  const status = eob.payment?.type?.coding?.find((c) => c.system === C4BB_PAYMENT_STATUS_SYSTEM)?.code;
  const adjustments = adjustmentsOf([
    ...(eob.item ?? []).flatMap((i) => i.adjudication ?? []),
    ...(eob.adjudication ?? []),
  ]);
  return {
    id: eob.id,
    claim,
    date: eob.payment?.date ?? localDate(eob.created ?? eob.meta?.lastUpdated ?? 0, zone),
    created: eob.created ?? '',
    outcome: reversal ? 'reversed' : (PAYMENT_STATUS[status ?? ''] ?? 'paid'),
    paid: money(eob.payment?.amount?.value ?? totalOf(eob, 'benefit')),
    allowed: totalOf(eob, 'eligible'),
    patientResponsibility: totalOf(eob, 'memberliability'),
    adjustments,
    lines: (eob.item ?? []).map((item) => ({
      code: codeOf(item.productOrService),
      modifiers: (item.modifier ?? []).map(codeOf).filter((m) => m !== ''),
      units: item.quantity?.value ?? 0,
      adjustments: adjustmentsOf(item.adjudication ?? []),
      paid: money(item.adjudication?.find((a) => codeOf(a.category) === 'benefit')?.amount?.value),
    })),
  };
}

const claimOfFocus = (task: Task): string => (task.focus?.reference ?? '').replace(/^Claim\//, '');

/** A denial or underpayment work item (src/remittance/work/items.ts), else undefined. */
export function workItemFact(task: Task & { id: string }, zone: string): WorkItemFact | undefined {
  const kind = task.code?.coding?.find((c) => c.system === CS_WORK_ITEM)?.code;
  if (kind !== 'denial' && kind !== 'underpayment') {
    return undefined;
  }
  const atStake = (task.input ?? []).find((i) => i.type.coding?.some((c) => c.code === 'dollars-at-stake'));
  return {
    id: task.id,
    kind,
    claim: claimOfFocus(task),
    state: task.businessStatus?.coding?.find((c) => c.system === CS_WORK_ITEM_STATE)?.code ?? 'open',
    dollarsAtStake: money(atStake?.valueMoney?.value),
    authored: task.authoredOn ?? '',
    day: task.authoredOn ? localDate(task.authoredOn, zone) : '',
  };
}

/** An appeal (src/contract/appeals.ts), else undefined. */
export function appealFact(task: Task & { id: string }, zone: string): AppealFact | undefined {
  const level = task.code?.coding?.find((c) => c.system === CS_APPEAL_LEVEL)?.code;
  if (!level) {
    return undefined;
  }
  const recovered = (task.output ?? []).find((o) =>
    o.type.coding?.some((c) => c.system === CS_APPEAL_OUTPUT && c.code === 'recovered'),
  );
  return {
    id: task.id,
    claim: claimOfFocus(task),
    level,
    outcome: task.businessStatus?.coding?.find((c) => c.system === CS_APPEAL_OUTCOME)?.code ?? 'open',
    recovered: money(recovered?.valueMoney?.value),
    authored: task.authoredOn ?? '',
    day: task.authoredOn ? localDate(task.authoredOn, zone) : '',
  };
}

/** An authorization on file (preauthorization ClaimResponse), else undefined. */
export function authorizationFact(
  response: ClaimResponse & { id: string },
  zone: string,
): AuthorizationFact | undefined {
  if (response.use !== 'preauthorization' || response.status === 'entered-in-error') {
    return undefined;
  }
  return {
    id: response.id,
    payer: response.insurer?.identifier?.value ?? response.insurer?.display ?? 'unknown',
    approved: response.outcome !== 'error' && response.status === 'active',
    date: localDate(response.created ?? response.meta?.lastUpdated ?? 0, zone),
  };
}

/** A drug given (ChargeItem with a drug code), else undefined. */
export function drugChargeFact(item: ChargeItem & { id: string }, zone: string): DrugChargeFact | undefined {
  const code = codeOf(item.code);
  if (!isDrugCode(code) || item.status === 'entered-in-error' || item.status === 'not-billable') {
    return undefined;
  }
  const when = item.occurrenceDateTime ?? item.occurrencePeriod?.start;
  if (!when) {
    return undefined;
  }
  return {
    id: item.id,
    code,
    units: item.quantity?.value ?? 0,
    date: when.length === 10 ? when : localDate(when, zone),
  };
}
