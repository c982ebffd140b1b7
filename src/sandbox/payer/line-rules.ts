/**
 * The sandbox payer's line rules: why a line of an original or a replacement is denied, each reason
 * an X12 CARC (with a RARC where one says more), listed on the line in this order (the first
 * carries the adjustment amount; the table in ./adjudicate.ts says which rule is which): the whole
 * claim's denials, timely filing, duplicate of a paid line, fee schedule, diagnosis present, NDC on
 * Medicaid drug lines, Medicare JW/JZ, prior authorization, NCCI, MUE, diagnosis supporting the
 * drug. Pure: the payer's tables and what the rules need of the whole claim are passed in.
 */
import type { Claim, ClaimItem } from '@medplum/fhirtypes';
import { diagnosisCodes, hasNdc, lineCode, lineDate, lineModifiers } from './claim-reading.ts';
import type { Denial, PriorClaim } from './results.ts';
import { deny } from './results.ts';
import type { PayerKind, PayerTables } from './tables.ts';
import { JW_JZ_REQUIRED_FROM, NCCI_BYPASS_MODIFIERS } from './tables.ts';

/** What the line rules need to know of the whole claim (`claimFacts`, once per claim). */
export interface ClaimFacts {
  readonly kind: PayerKind;
  readonly tables: PayerTables;
  /** Date the payer received the claim (YYYY-MM-DD), for timely filing. */
  readonly receivedDate: string;
  /** Problems with the whole claim, listed first on every line. */
  readonly claimDenials: readonly Denial[];
  /** Fingerprints of lines paid on earlier claims still in force. */
  readonly paidLines: ReadonlySet<string>;
  /** The paid lines of the original this replacement reverses: no longer paid. */
  readonly released: ReadonlySet<string>;
  /** ICD-10-CM codes by diagnosis sequence (`diagnosisCodes`). */
  readonly diagnoses: ReadonlyMap<number, string>;
  /** The focal insurance's prior-authorization numbers, trimmed, non-empty. */
  readonly preAuthRefs: readonly string[];
  /** Codes present per date (for NCCI). */
  readonly codesByDate: ReadonlyMap<string, ReadonlySet<string>>;
  /** Units per `code|date` (for MUE). */
  readonly unitsByCodeDate: ReadonlyMap<string, number>;
  /** `code|date` of the drugs billed with a JW line. */
  readonly wasteLines: ReadonlySet<string>;
  /** An institutional claim (UB-04): OPPS packages some drugs (status N), reported without JW/JZ (R10.3). */
  readonly institutional: boolean;
}

/** The facts the line rules read, from the claim, the payer's memory and the whole-claim denials. */
export function claimFacts(input: {
  readonly claim: Claim;
  readonly kind: PayerKind;
  readonly tables: PayerTables;
  readonly receivedDate: string;
  readonly claimDenials: readonly Denial[];
  /** The original this replacement reverses (its paid lines are released). */
  readonly reversed: PriorClaim | undefined;
  readonly knownClaims: readonly PriorClaim[];
  /** Fingerprints of lines already paid on earlier claims beyond those of `knownClaims`. */
  readonly paidLines: ReadonlySet<string> | undefined;
}): ClaimFacts {
  const { claim, reversed, knownClaims } = input;
  const items = claim.item ?? [];
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
  return {
    kind: input.kind,
    tables: input.tables,
    receivedDate: input.receivedDate,
    claimDenials: input.claimDenials,
    paidLines,
    released,
    diagnoses,
    preAuthRefs,
    codesByDate,
    unitsByCodeDate,
    wasteLines,
    institutional: claim.type?.coding?.some((c) => c.code === 'institutional') === true,
  };
}

/**
 * The reasons a line is denied, in order (empty when it is payable). `allowed` is its fee-schedule
 * amount (undefined: not on the schedule), `fingerprint` its duplicate-detection key.
 */
export function lineDenials(
  item: ClaimItem,
  line: { readonly allowed: number | undefined; readonly fingerprint: string },
  facts: ClaimFacts,
): Denial[] {
  const { kind, tables, claimDenials, paidLines, released, diagnoses, preAuthRefs } = facts;
  const { codesByDate, unitsByCodeDate, wasteLines, institutional } = facts;
  const { allowed, fingerprint } = line;
  const code = lineCode(item);
  const modifiers = lineModifiers(item);
  const units = item.quantity?.value ?? 0;
  const date = lineDate(item);
  const container = tables.drugContainers.get(code);
  const isDrug = tables.drugRates.has(code) || container !== undefined || /^[JQ]\d{4}$/.test(code);

  const denials: Denial[] = [...claimDenials];
  const limitDays = tables.timelyFilingDays[kind];
  if (date && daysBetween(date, facts.receivedDate) > limitDays) {
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
  return denials;
}

function daysBetween(from: string, to: string): number {
  return Math.floor((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
