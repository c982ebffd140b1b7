/**
 * The sandbox payer's adjudication (pure, table-driven): prices each Claim line from the payer's
 * fee schedule (drugs at ASP + 6 % per billing unit, administration codes at a sandbox schedule),
 * applies its own rules, and produces the ClaimResponse a real payer would send back. What it
 * remembers of earlier claims (the claims it adjudicated, their paid lines, what replaced or voided
 * them) is passed in as `knownClaims`; the caller records the result (`priorClaimOf`).
 *
 * Rules, each denying a line with an X12 CARC (group CO unless noted), in this order (a line
 * lists every reason that applies; the first carries the adjustment amount). "Whole claim" rules
 * deny every line and are listed in `ClaimResponse.error`; the claim's outcome is then `error`.
 *
 * | rule | CARC (RARC) |
 * |---|---|
 * | replacement (7) / void (8) whose `related` names no claim this payer adjudicated, a void, or another patient's claim | 129 (M47) (whole claim) |
 * | replacement / void of a claim already replaced or voided | 18 (group OA) (whole claim) |
 * | member id missing / coverage not found (not for voids) | 31 (whole claim) |
 * | date of service older than the timely-filing limit | 29 |
 * | same line already paid on an earlier claim still in force (a replacement's original is not) | 18 (group OA) |
 * | code not on the payer's fee schedule | 96 |
 * | no diagnosis on the claim | 16 (M76) |
 * | Medicaid drug line without an NDC in `item.detail` | 16 (M119) |
 * | Medicare single-dose drug without JZ or a JW line of its discarded amount; JW with JZ; JZ beside a JW line | 4 |
 * | drug needs prior authorization and `insurance.preAuthRef` is absent | 197 |
 * | prior-authorization number malformed | 15 |
 * | NCCI column-2 code with its column-1 code the same day, no allowed modifier | 97 (indicator 1) / 234 (indicator 0) |
 * | units above the MUE | 151 |
 * | no line diagnosis supports the drug | 11 |
 *
 * Paid lines: eligible = allowed; deductible, coinsurance (PR-2), copay, then benefit = the rest;
 * a charge above the allowed amount gets a CO-45 adjustment for the difference.
 *
 * Claim frequency (X12 837 CLM05-3, UB-04 type of bill 4th digit; read from the Dripline
 * `claim-frequency` extension, else an institutional claim's type of bill; anything but 7 or 8 is
 * an original). A replacement (7) or void (8) names its original in `Claim.related` (relationship
 * `prior`): by the payer's claim number in `related.reference` (the first identifier of this payer's
 * ClaimResponse to it — the ICN an 837 carries in REF*F8), else by `related.claim.identifier` (any
 * identifier of the original Claim) or `related.claim.reference` (`Claim/{id}` as stored here);
 * the latest adjudication of that claim, at the same payer kind, is the original.
 * - Replacement: adjudicated like an original by every rule above, except that the original's paid
 *   lines no longer count as paid for CARC 18. Unless it is denied as a whole, it reverses the
 *   original: the original is marked replaced, and the ClaimResponse carries
 *   `payment.adjustment` = −(the original's benefit), `payment.adjustmentReason` = "prior payment
 *   reversal" and `payment.amount` = the new benefit − the original's benefit (negative when money
 *   is taken back). The original's benefit is what it has in force: the total benefit of its
 *   lines (for an original that was itself a replacement, not its net payment).
 * - Void: none of the line rules apply (timely filing, prior authorization, MUE, NCCI, medical
 *   necessity, member id — a void only takes money back). Every line is adjudicated at zero with no
 *   CARC, the outcome is `complete`, `payment.amount` = `payment.adjustment` = −(the original's
 *   benefit), and the original is marked voided; its lines no longer count as paid.
 * - An X12 835 reports such a reversal as a claim payment loop of its own (CLP02 claim status 22
 *   "reversal of previous payment", the original's payer claim control number in CLP07, its amounts
 *   negated) beside the replacement's loop; a ClaimResponse has one payment, so the reversal is its
 *   `payment.adjustment` (FHIR example code system payment-adjustment-reason, code a001 "Prior
 *   Payment Reversal") and `payment.amount` is the net. (A negative net on a remittance is carried
 *   as a provider-level PLB adjustment in an 835; the sandbox has no remittances.)
 * - Unknown original (or a void, or another patient's claim, named as one): CARC 129 "prior
 *   processing information appears incorrect", with RARC M47 (missing/incomplete/invalid internal
 *   or document control number) — the claim number the provider gave is the problem.
 * - Choice: an original already replaced or voided is not chained to its latest replacement; a
 *   second replacement or void naming it is denied as a duplicate of the adjustment already made
 *   (CARC 18, group OA). A provider must name the latest claim number (Dripline does: it corrects
 *   the claim that is in force), and a payer that silently chained would hide that mistake.
 */
import type {
  Claim,
  ClaimItem,
  ClaimResponse,
  ClaimResponseItemAdjudication,
  CodeableConcept,
  Coding,
  Coverage,
  Resource,
} from '@medplum/fhirtypes';
import type { PayerKind, PayerTables } from './tables.ts';
import { drugAllowedPerUnit, JW_JZ_REQUIRED_FROM, NCCI_BYPASS_MODIFIERS } from './tables.ts';

export const ADJUDICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication';
export const C4BB_ADJUDICATION_SYSTEM = 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication';
export const CARC_SYSTEM = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const RARC_SYSTEM = 'https://x12.org/codes/remittance-advice-remark-codes';
export const GROUP_CODE_SYSTEM = 'https://x12.org/codes/claim-adjustment-group-codes';
/** Optional line charge: `item.extension` with valueMoney (also accepted: item.net, unitPrice × quantity). */
export const EXT_CHARGE_AMOUNT = 'https://dripline.dev/fhir/StructureDefinition/charge-amount';
const NDC_SYSTEM = 'http://hl7.org/fhir/sid/ndc';
/**
 * Claim frequency code on a Claim (valueCode 1, 7 or 8). The same URL as Dripline's
 * `EXT_CLAIM_FREQUENCY` (src/claims/build.ts; a test checks they agree): the payer reads the wire
 * format, not its client's code.
 */
export const EXT_CLAIM_FREQUENCY = 'https://dripline.dev/fhir/StructureDefinition/claim-frequency';
/** UB-04 type of bill (institutional `Claim.subType`); its last digit is the frequency. */
const TYPE_OF_BILL_SYSTEM = 'https://www.nubc.org/CodeSystem/TypeOfBill';
/** FHIR's example payment adjustment reasons: a001 "Prior Payment Reversal". */
export const PAYMENT_ADJUSTMENT_REASON_SYSTEM =
  'http://terminology.hl7.org/CodeSystem/payment-adjustment-reason';

/** X12 837 CLM05-3: 1 original, 7 replacement of a prior claim, 8 void of a prior claim. */
export type ClaimFrequency = '1' | '7' | '8';

export interface Denial {
  readonly carc: string;
  readonly rarc?: string;
  readonly group: 'CO' | 'OA' | 'PR';
  readonly text: string;
}

export interface LineResult {
  readonly sequence: number;
  readonly code: string;
  readonly units: number;
  readonly dateOfService: string;
  readonly submitted: number;
  /** Allowed amount from the fee schedule (0 for denied lines). */
  readonly eligible: number;
  readonly deductible: number;
  readonly coinsurance: number;
  readonly copay: number;
  readonly benefit: number;
  /** Empty when the line is paid. */
  readonly denials: readonly Denial[];
  /** Duplicate-detection key of the line (member, patient, code, modifiers, date, units). */
  readonly fingerprint: string;
}

/** A prior claim's payment that a replacement or void reverses. */
export interface Reversal {
  /** The payer claim number (control number) of the reversed claim. */
  readonly controlNumber: string;
  /** Whether the reversing claim replaces (7) or voids (8) it. */
  readonly frequency: '7' | '8';
  /** The benefit taken back (the reversed claim's benefit; ≥ 0). */
  readonly amount: number;
}

/**
 * What the payer remembers of a claim it adjudicated (see `priorClaimOf`): enough to find it as
 * the original of a replacement or void, to reverse its payment and to release its paid lines.
 */
export interface PriorClaim {
  /** The payer claim number: the first identifier of the ClaimResponse to it. */
  readonly controlNumber: string;
  /** The Claim's id as the payer stored it (`Claim/{id}`). */
  readonly claimId: string;
  /** The Claim's identifiers, `system|value`. */
  readonly identifiers: readonly string[];
  readonly kind: PayerKind;
  /** The Claim's patient (reference, else identifier value). */
  readonly patient: string;
  readonly frequency: ClaimFrequency;
  /** The benefit it has in force: the total benefit of its lines (0 for a void). */
  readonly benefit: number;
  /** Fingerprints of its paid lines (none for a void). */
  readonly paidLines: readonly string[];
  /** The later replacement (7) or void (8) that reversed it, by its control number. */
  readonly supersededBy?: { readonly controlNumber: string; readonly frequency: '7' | '8' };
}

export interface AdjudicationResult {
  readonly kind: PayerKind;
  readonly frequency: ClaimFrequency;
  readonly outcome: 'complete' | 'partial' | 'error';
  readonly lines: readonly LineResult[];
  /** Problems with the whole claim (also applied to every line). */
  readonly claimDenials: readonly Denial[];
  readonly memberId?: string;
  /** The Claim's patient (reference, else identifier value). */
  readonly patient: string;
  /** Set when this replacement or void reversed a prior claim's payment. */
  readonly reversal?: Reversal;
  readonly totals: {
    readonly submitted: number;
    readonly eligible: number;
    readonly benefit: number;
    readonly memberLiability: number;
    /** What is paid for this claim: benefit − the reversed amount (negative when money goes back). */
    readonly payment: number;
  };
}

export interface AdjudicateInput {
  readonly claim: Claim;
  /** Other resources that came with the claim (a PAS-style Bundle's entries), for Coverage lookup. */
  readonly resources?: readonly Resource[];
  readonly kind: PayerKind;
  readonly tables: PayerTables;
  /** Date the payer received the claim (YYYY-MM-DD), for timely filing. */
  readonly receivedDate: string;
  /** Claims the payer adjudicated before, oldest first (originals of replacements and voids; paid lines). */
  readonly knownClaims?: readonly PriorClaim[];
  /** Fingerprints of lines already paid on earlier claims beyond those of `knownClaims`. */
  readonly paidLines?: ReadonlySet<string>;
}

/** Cents, half up on the decimal value (1101.765 → 1101.77, which `Math.round(x * 100)` gets wrong). */
export function round2(x: number): number {
  return Math.round(Number(`${x.toFixed(10)}e2`)) / 100;
}

const deny = (carc: string, text: string, extra: { rarc?: string; group?: 'CO' | 'OA' } = {}): Denial => ({
  carc,
  group: extra.group ?? 'CO',
  text,
  ...(extra.rarc ? { rarc: extra.rarc } : {}),
});

export function lineCode(item: ClaimItem): string {
  return (item.productOrService.coding?.find((c) => c.code)?.code ?? '').trim().toUpperCase();
}

export function lineModifiers(item: ClaimItem): string[] {
  return (item.modifier ?? []).flatMap((m) =>
    (m.coding ?? []).map((c) => (c.code ?? '').trim().toUpperCase()).filter((c) => c !== ''),
  );
}

export function lineDate(item: ClaimItem): string {
  return (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10);
}

function lineCharge(item: ClaimItem): number | undefined {
  const ext = item.extension?.find((e) => e.url === EXT_CHARGE_AMOUNT)?.valueMoney?.value;
  if (typeof ext === 'number') {
    return ext;
  }
  if (typeof item.net?.value === 'number') {
    return item.net.value;
  }
  if (typeof item.unitPrice?.value === 'number') {
    return round2(item.unitPrice.value * (item.quantity?.value ?? 1) * (item.factor ?? 1));
  }
  return undefined;
}

function hasNdc(item: ClaimItem): boolean {
  return (item.detail ?? []).some((d) =>
    (d.productOrService.coding ?? []).some((c) => c.system === NDC_SYSTEM && /^\d{11}$/.test(c.code ?? '')),
  );
}

/** The member id: from the focal insurance's Coverage (contained, in the Bundle, or the reference's identifier). */
export function memberIdOf(claim: Claim, resources: readonly Resource[] = []): string | undefined {
  const insurance = claim.insurance?.find((i) => i.focal) ?? claim.insurance?.[0];
  if (!insurance) {
    return undefined;
  }
  const ref = insurance.coverage.reference;
  let coverage: Coverage | undefined;
  if (ref?.startsWith('#')) {
    coverage = claim.contained?.find(
      (r): r is Coverage => r.resourceType === 'Coverage' && r.id === ref.slice(1),
    );
  } else if (ref) {
    coverage = resources.find(
      (r): r is Coverage =>
        r.resourceType === 'Coverage' &&
        (ref === `Coverage/${r.id ?? ''}` || ref.endsWith(`/Coverage/${r.id ?? ''}`)),
    );
  }
  const id =
    coverage?.subscriberId ??
    coverage?.identifier?.find((i) => i.value)?.value ??
    insurance.coverage.identifier?.value;
  return id?.trim() ? id.trim() : undefined;
}

function diagnosisCodes(claim: Claim): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of claim.diagnosis ?? []) {
    const code = d.diagnosisCodeableConcept?.coding?.find((c) => c.code)?.code;
    if (code) {
      out.set(d.sequence, code.replace(/\./g, '').toUpperCase());
    }
  }
  return out;
}

function daysBetween(from: string, to: string): number {
  return Math.floor((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The claim's frequency: the `claim-frequency` extension, else an institutional type of bill's last digit; else 1. */
export function claimFrequency(claim: Claim): ClaimFrequency {
  const code =
    claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode?.trim() ??
    claim.subType?.coding
      ?.find((c) => c.system === TYPE_OF_BILL_SYSTEM && /^\d{3,4}$/.test(c.code ?? ''))
      ?.code?.slice(-1);
  return code === '7' || code === '8' ? code : '1';
}

/** `system|value` of each of the claim's identifiers that has a value. */
export function identifierKeys(claim: Claim): string[] {
  return [
    ...new Set((claim.identifier ?? []).flatMap((i) => (i.value ? [`${i.system ?? ''}|${i.value}`] : []))),
  ];
}

function patientOf(claim: Claim): string {
  return claim.patient.reference ?? claim.patient.identifier?.value ?? '';
}

/**
 * The original a replacement or void names (module comment: by payer claim number, else by the
 * original's identifier or reference), or the whole-claim denial when there is none to reverse.
 */
export function findOriginal(
  claim: Claim,
  kind: PayerKind,
  knownClaims: readonly PriorClaim[],
): { readonly original: PriorClaim } | { readonly denial: Denial } {
  const unknown = (text: string): { denial: Denial } => ({ denial: deny('129', text, { rarc: 'M47' }) });
  const related = (claim.related ?? []).find(
    (r) =>
      (r.relationship?.coding ?? []).length === 0 || r.relationship?.coding?.some((c) => c.code === 'prior'),
  );
  const sameKind = knownClaims.filter((k) => k.kind === kind);
  const claimNumber = related?.reference?.value?.trim();
  const ident = related?.claim?.identifier;
  const ref = related?.claim?.reference?.match(/(?:^|\/)Claim\/([^/]+)$/)?.[1];
  let named: string;
  let matches: PriorClaim[];
  if (claimNumber) {
    named = `claim number ${claimNumber}`;
    matches = sameKind.filter((k) => k.controlNumber === claimNumber);
  } else if (ident?.value) {
    named = `claim ${ident.system ? `${ident.system}|` : ''}${ident.value}`;
    matches = sameKind.filter((k) =>
      ident.system
        ? k.identifiers.includes(`${ident.system}|${ident.value ?? ''}`)
        : k.identifiers.some((i) => i.endsWith(`|${ident.value ?? ''}`)),
    );
  } else if (ref) {
    named = `Claim/${ref}`;
    matches = sameKind.filter((k) => k.claimId === ref);
  } else {
    return unknown(
      'A replacement or void must name the prior claim in Claim.related (the payer claim number in related.reference)',
    );
  }
  const original = matches.at(-1);
  if (!original) {
    return unknown(`The prior claim (${named}) is not known to this payer`);
  }
  if (original.frequency === '8') {
    return unknown(`The prior claim (${named}) is a void, which cannot be replaced or voided`);
  }
  if (original.patient !== patientOf(claim)) {
    return unknown(`The prior claim (${named}) is for another patient`);
  }
  if (original.supersededBy) {
    const { controlNumber, frequency } = original.supersededBy;
    return {
      denial: deny(
        '18',
        `The prior claim (${named}) was already ${frequency === '8' ? 'voided' : 'replaced'} by claim ${controlNumber}; name the latest claim number`,
        { group: 'OA' },
      ),
    };
  }
  return { original };
}

/** The record of an adjudicated claim, for `knownClaims` of later adjudications. */
export function priorClaimOf(
  claim: Claim,
  result: AdjudicationResult,
  ids: { readonly controlNumber: string; readonly claimId: string },
): PriorClaim {
  return {
    controlNumber: ids.controlNumber,
    claimId: ids.claimId,
    identifiers: identifierKeys(claim),
    kind: result.kind,
    patient: result.patient,
    frequency: result.frequency,
    benefit: result.frequency === '8' ? 0 : result.totals.benefit,
    paidLines:
      result.frequency === '8'
        ? []
        : result.lines.filter((l) => l.denials.length === 0).map((l) => l.fingerprint),
  };
}

/** A prior claim marked reversed by a replacement or void (with this control number). */
export function supersede(prior: PriorClaim, by: string, frequency: '7' | '8'): PriorClaim {
  return { ...prior, supersededBy: { controlNumber: by, frequency } };
}

function fingerprintOf(
  kind: PayerKind,
  memberId: string | undefined,
  patient: string,
  item: ClaimItem,
): string {
  return [
    kind,
    memberId ?? '',
    patient,
    lineCode(item),
    [...lineModifiers(item)].sort().join(','),
    lineDate(item),
    item.quantity?.value ?? 0,
  ].join('|');
}

function summarize(
  base: Omit<AdjudicationResult, 'outcome' | 'totals' | 'reversal'>,
  reversal: Reversal | undefined,
): AdjudicationResult {
  const { lines } = base;
  const denied = lines.filter((l) => l.denials.length > 0).length;
  const sum = (f: (l: LineResult) => number): number => round2(lines.reduce((acc, l) => acc + f(l), 0));
  const benefit = sum((l) => l.benefit);
  return {
    ...base,
    outcome: denied === 0 ? 'complete' : denied === lines.length ? 'error' : 'partial',
    ...(reversal ? { reversal } : {}),
    totals: {
      submitted: sum((l) => l.submitted),
      eligible: sum((l) => l.eligible),
      benefit,
      memberLiability: sum((l) => l.deductible + l.coinsurance + l.copay),
      payment: round2(benefit - (reversal?.amount ?? 0)),
    },
  };
}

export function adjudicate(input: AdjudicateInput): AdjudicationResult {
  const { claim, kind, tables } = input;
  const items = claim.item ?? [];
  const memberId = memberIdOf(claim, input.resources);
  const patientRef = patientOf(claim);
  const frequency = claimFrequency(claim);
  const knownClaims = input.knownClaims ?? [];
  const claimDenials: Denial[] = [];
  let original: PriorClaim | undefined;
  if (frequency !== '1') {
    const found = findOriginal(claim, kind, knownClaims);
    if ('denial' in found) {
      claimDenials.push(found.denial);
    } else {
      original = found.original;
    }
  }

  if (frequency === '8') {
    // A void only takes the original's money back: no line rule applies, every line is at zero.
    const lines: LineResult[] = items.map((item) => ({
      sequence: item.sequence,
      code: lineCode(item),
      units: item.quantity?.value ?? 0,
      dateOfService: lineDate(item),
      submitted: lineCharge(item) ?? 0,
      eligible: 0,
      deductible: 0,
      coinsurance: 0,
      copay: 0,
      benefit: 0,
      denials: [...claimDenials],
      fingerprint: fingerprintOf(kind, memberId, patientRef, item),
    }));
    return summarize(
      { kind, frequency, lines, claimDenials, ...(memberId ? { memberId } : {}), patient: patientRef },
      original && claimDenials.length === 0
        ? { controlNumber: original.controlNumber, frequency, amount: original.benefit }
        : undefined,
    );
  }

  if (!memberId) {
    claimDenials.push(
      deny('31', 'Patient cannot be identified as our member: no member id / coverage not found'),
    );
  }
  // A replacement reverses its original unless it is denied as a whole.
  const reversed = claimDenials.length === 0 ? original : undefined;
  const released = new Set(reversed?.paidLines ?? []);
  const paidLines = new Set<string>(input.paidLines ?? []);
  for (const prior of knownClaims) {
    if (!prior.supersededBy) {
      prior.paidLines.forEach((f) => paidLines.add(f));
    }
  }
  const diagnoses = diagnosisCodes(claim);
  const insurance = claim.insurance?.find((i) => i.focal) ?? claim.insurance?.[0];
  const preAuthRefs = (insurance?.preAuthRef ?? []).map((r) => r.trim()).filter((r) => r !== '');

  // Codes present per date (for NCCI), units per code per date (for MUE), drugs with a JW line.
  const codesByDate = new Map<string, Set<string>>();
  const unitsByCodeDate = new Map<string, number>();
  const wasteLines = new Set<string>();
  for (const item of items) {
    const date = lineDate(item);
    const code = lineCode(item);
    if (lineModifiers(item).includes('JW')) {
      wasteLines.add(`${code}|${date}`);
    }
    let set = codesByDate.get(date);
    if (!set) {
      set = new Set();
      codesByDate.set(date, set);
    }
    set.add(code);
    const key = `${code}|${date}`;
    unitsByCodeDate.set(key, (unitsByCodeDate.get(key) ?? 0) + (item.quantity?.value ?? 0));
  }

  // OPPS packages some drugs (status N): on a UB-04 they are reported without JW/JZ (R10.3).
  const institutional = claim.type?.coding?.some((c) => c.code === 'institutional') === true;
  const sharing = tables.costSharing[kind];
  let deductibleLeft = sharing.deductible;
  const lines: LineResult[] = [];
  for (const item of items) {
    const code = lineCode(item);
    const modifiers = lineModifiers(item);
    const units = item.quantity?.value ?? 0;
    const date = lineDate(item);
    const drugRate = tables.drugRates.get(code);
    const container = tables.drugContainers.get(code);
    const isDrug = drugRate !== undefined || container !== undefined || /^[JQ]\d{4}$/.test(code);
    const adminRate = tables.administrationRates[code];
    const allowed =
      drugRate !== undefined
        ? round2(units * drugAllowedPerUnit(drugRate))
        : adminRate !== undefined
          ? round2(units * adminRate)
          : undefined;
    const submitted = lineCharge(item) ?? allowed ?? 0;
    const fingerprint = fingerprintOf(kind, memberId, patientRef, item);

    const denials: Denial[] = [...claimDenials];
    const limitDays = tables.timelyFilingDays[kind];
    if (date && daysBetween(date, input.receivedDate) > limitDays) {
      denials.push(deny('29', `Received more than ${limitDays} days after the date of service`));
    }
    const alreadyDuplicate = denials.some((d) => d.carc === '18'); // the whole claim (a stale replacement)
    if (paidLines.has(fingerprint) && !released.has(fingerprint) && !alreadyDuplicate) {
      denials.push(deny('18', 'Exact duplicate of a line already paid', { group: 'OA' }));
    }
    if (allowed === undefined) {
      denials.push(deny('96', `${code} is not on this payer's fee schedule`));
    }
    if (diagnoses.size === 0) {
      denials.push(deny('16', 'The claim has no diagnosis', { rarc: 'M76' }));
    }
    if (isDrug && tables.ndcRequired.includes(kind) && !hasNdc(item)) {
      denials.push(deny('16', 'Drug line without an 11-digit NDC', { rarc: 'M119' }));
    }
    if (
      kind === 'medicare' &&
      container === 'single-dose' &&
      !(institutional && tables.packagedUnderOpps.has(code)) &&
      date >= JW_JZ_REQUIRED_FROM
    ) {
      // Not for a drug OPPS packages (status N) on an institutional claim: JW/JZ do not apply (R10.3).
      // CMS: the administered amount on a line of its own (no modifier) beside the JW line of the
      // discarded amount; JZ alone when nothing was discarded; never both.
      const jw = modifiers.includes('JW');
      const jz = modifiers.includes('JZ');
      const wasteBilled = !jw && wasteLines.has(`${code}|${date}`);
      if (jw && jz) {
        denials.push(deny('4', 'JW and JZ on the same line'));
      } else if (jz && wasteBilled) {
        denials.push(deny('4', 'JZ (nothing discarded) beside a JW line of the same drug'));
      } else if (!jw && !jz && !wasteBilled) {
        denials.push(deny('4', 'Single-dose drug billed without the JW or JZ modifier'));
      }
    }
    if (tables.priorAuthRequired[kind].includes(code)) {
      if (preAuthRefs.length === 0) {
        denials.push(deny('197', `${code} requires prior authorization and none is on the claim`));
      } else if (!preAuthRefs.some((r) => tables.priorAuthPattern.test(r))) {
        denials.push(deny('15', 'The prior authorization number is malformed'));
      }
    }
    const sameDay = codesByDate.get(date) ?? new Set<string>();
    for (const edit of tables.ncci) {
      if (edit.column2 !== code || !sameDay.has(edit.column1) || edit.modifierIndicator === '9') {
        continue;
      }
      if (edit.modifierIndicator === '0') {
        denials.push(deny('234', `${code} is not paid separately with ${edit.column1} (NCCI, indicator 0)`));
        break;
      }
      if (!modifiers.some((m) => NCCI_BYPASS_MODIFIERS.includes(m))) {
        denials.push(deny('97', `${code} is bundled into ${edit.column1} (NCCI) without 59/X{EPSU}`));
        break;
      }
    }
    const mue = tables.mue.get(code);
    if (mue) {
      const billed = mue.perLine ? units : (unitsByCodeDate.get(`${code}|${date}`) ?? units);
      if (billed > mue.units) {
        denials.push(deny('151', `${billed} units of ${code} exceed the ${mue.units}-unit limit (MUE)`));
      }
    }
    const supporting = tables.diagnosisSupport[code];
    if (supporting && diagnoses.size > 0) {
      const pointed = item.diagnosisSequence?.length
        ? item.diagnosisSequence.map((s) => diagnoses.get(s)).filter((c): c is string => c !== undefined)
        : [...diagnoses.values()];
      if (!pointed.some((dx) => supporting.some((prefix) => dx.startsWith(prefix)))) {
        denials.push(deny('11', `The line's diagnoses do not support ${code}`));
      }
    }

    if (denials.length > 0 || allowed === undefined) {
      lines.push({
        sequence: item.sequence,
        code,
        units,
        dateOfService: date,
        submitted,
        eligible: 0,
        deductible: 0,
        coinsurance: 0,
        copay: 0,
        benefit: 0,
        denials,
        fingerprint,
      });
      continue;
    }
    const deductible = round2(Math.min(deductibleLeft, allowed));
    deductibleLeft = round2(deductibleLeft - deductible);
    const coinsurance = round2((allowed - deductible) * sharing.coinsurance);
    const copay = round2(Math.min(sharing.copayPerLine, allowed - deductible - coinsurance));
    const benefit = round2(allowed - deductible - coinsurance - copay);
    lines.push({
      sequence: item.sequence,
      code,
      units,
      dateOfService: date,
      submitted,
      eligible: allowed,
      deductible,
      coinsurance,
      copay,
      benefit,
      denials: [],
      fingerprint,
    });
  }

  return summarize(
    { kind, frequency, lines, claimDenials, ...(memberId ? { memberId } : {}), patient: patientRef },
    reversed
      ? { controlNumber: reversed.controlNumber, frequency: '7', amount: reversed.benefit }
      : undefined,
  );
}

const money = (value: number): { value: number; currency: 'USD' } => ({
  value: round2(value) + 0, // + 0: no -0
  currency: 'USD',
});

function category(code: string, system = ADJUDICATION_SYSTEM): CodeableConcept {
  return { coding: [{ system, code }] };
}

function denialAdjudication(d: Denial, amount: number | undefined): ClaimResponseItemAdjudication {
  const reason: Coding[] = [{ system: CARC_SYSTEM, code: d.carc }];
  if (d.rarc) {
    reason.push({ system: RARC_SYSTEM, code: d.rarc });
  }
  return {
    category: category(d.group, GROUP_CODE_SYSTEM),
    reason: { coding: reason, text: d.text },
    ...(amount !== undefined ? { amount: money(amount) } : {}),
  };
}

function lineAdjudications(line: LineResult, voided: boolean): ClaimResponseItemAdjudication[] {
  const out: ClaimResponseItemAdjudication[] = [
    { category: category('submitted'), amount: money(line.submitted) },
    { category: category('eligible'), amount: money(line.eligible) },
  ];
  if (voided && line.denials.length === 0) {
    // A void's line: nothing is allowed or paid, and nothing is denied either.
    out.push({ category: category('benefit'), amount: money(0) });
    return out;
  }
  if (line.denials.length > 0) {
    out.push({ category: category('benefit'), amount: money(0) });
    line.denials.forEach((d, i) => out.push(denialAdjudication(d, i === 0 ? line.submitted : undefined)));
    return out;
  }
  if (line.deductible > 0) {
    out.push({ category: category('deductible'), amount: money(line.deductible) });
  }
  out.push({ category: category('coinsurance', C4BB_ADJUDICATION_SYSTEM), amount: money(line.coinsurance) });
  if (line.copay > 0) {
    out.push({ category: category('copay'), amount: money(line.copay) });
  }
  out.push({ category: category('benefit'), amount: money(line.benefit) });
  if (line.submitted > line.eligible) {
    out.push(
      denialAdjudication(
        { carc: '45', group: 'CO', text: 'Charge exceeds the fee schedule' },
        line.submitted - line.eligible,
      ),
    );
  }
  return out;
}

export interface ClaimResponseContext {
  readonly id: string;
  /** Reference to the stored Claim, e.g. `Claim/abc`. */
  readonly request: string;
  readonly created: string;
  /** Payer claim control number (ICN), echoed on corrected claims. */
  readonly controlNumber: string;
  readonly controlNumberSystem: string;
  readonly payerName: string;
}

/** The ClaimResponse for an adjudication. */
export function toClaimResponse(
  claim: Claim,
  result: AdjudicationResult,
  ctx: ClaimResponseContext,
): ClaimResponse {
  const deniedLines = result.lines.filter((l) => l.denials.length > 0);
  const { reversal } = result;
  const voided = result.frequency === '8';
  const lineOutcome =
    result.outcome === 'complete'
      ? 'Claim adjudicated; all lines paid'
      : result.outcome === 'partial'
        ? `Claim adjudicated; ${deniedLines.length} of ${result.lines.length} lines denied`
        : 'Claim adjudicated; all lines denied';
  const disposition =
    voided && reversal
      ? `Void adjudicated; the payment of claim ${reversal.controlNumber} is reversed`
      : voided
        ? 'Void denied'
        : reversal
          ? `Replacement of claim ${reversal.controlNumber} (its payment reversed). ${lineOutcome}`
          : lineOutcome;
  const preAuthRef = (claim.insurance?.find((i) => i.focal) ?? claim.insurance?.[0])?.preAuthRef;
  return {
    resourceType: 'ClaimResponse',
    id: ctx.id,
    identifier: [{ system: ctx.controlNumberSystem, value: ctx.controlNumber }],
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: claim.patient,
    created: ctx.created,
    insurer: claim.insurer ?? { display: ctx.payerName },
    ...(claim.provider ? { requestor: claim.provider } : {}),
    request: {
      reference: ctx.request,
      ...(claim.identifier?.[0] ? { identifier: claim.identifier[0] } : {}),
    },
    outcome: result.outcome,
    disposition,
    ...(preAuthRef?.length ? { preAuthRef: preAuthRef[0] } : {}),
    item: result.lines.map((line) => ({
      itemSequence: line.sequence,
      adjudication: lineAdjudications(line, voided),
    })),
    ...(result.claimDenials.length > 0
      ? {
          error: result.claimDenials.map((d) => ({
            code: { coding: [{ system: CARC_SYSTEM, code: d.carc }], text: d.text },
          })),
        }
      : {}),
    total: [
      { category: category('submitted'), amount: money(result.totals.submitted) },
      { category: category('eligible'), amount: money(result.totals.eligible) },
      {
        category: category('memberliability', C4BB_ADJUDICATION_SYSTEM),
        amount: money(result.totals.memberLiability),
      },
      { category: category('benefit'), amount: money(result.totals.benefit) },
    ],
    payment: {
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-paymenttype', code: 'complete' }],
      },
      ...(reversal
        ? {
            adjustment: money(-reversal.amount),
            adjustmentReason: {
              coding: [
                {
                  system: PAYMENT_ADJUSTMENT_REASON_SYSTEM,
                  code: 'a001',
                  display: 'Prior Payment Reversal',
                },
              ],
              text: `Reversal of previous payment of claim ${reversal.controlNumber} (X12 835 CLP02 claim status 22)`,
            },
          }
        : {}),
      date: ctx.created.slice(0, 10),
      amount: money(result.totals.payment),
    },
  };
}
