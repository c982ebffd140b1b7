/**
 * The sandbox payer's adjudication (pure, table-driven): prices each Claim line from the payer's
 * fee schedule (drugs at ASP + 6 % per billing unit, administration codes at a sandbox schedule),
 * applies its own rules, and produces the ClaimResponse a real payer would send back.
 *
 * Rules, each denying a line with an X12 CARC (group CO unless noted), in this order (a line
 * lists every reason that applies; the first carries the adjustment amount):
 *
 * | rule | CARC (RARC) |
 * |---|---|
 * | member id missing / coverage not found | 31 (whole claim) |
 * | date of service older than the timely-filing limit | 29 |
 * | same line already paid on an earlier claim (not for claims with `related`) | 18 (group OA) |
 * | code not on the payer's fee schedule | 96 |
 * | no diagnosis on the claim | 16 (M76) |
 * | Medicaid drug line without an NDC in `item.detail` | 16 (M119) |
 * | Medicare single-dose drug without JW/JZ | 4 |
 * | drug needs prior authorization and `insurance.preAuthRef` is absent | 197 |
 * | prior-authorization number malformed | 15 |
 * | NCCI column-2 code with its column-1 code the same day, no allowed modifier | 97 (indicator 1) / 234 (indicator 0) |
 * | units above the MUE | 151 |
 * | no line diagnosis supports the drug | 11 |
 *
 * Paid lines: eligible = allowed; deductible, coinsurance (PR-2), copay, then benefit = the rest;
 * a charge above the allowed amount gets a CO-45 adjustment for the difference.
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

export interface AdjudicationResult {
  readonly kind: PayerKind;
  readonly outcome: 'complete' | 'partial' | 'error';
  readonly lines: readonly LineResult[];
  /** Problems with the whole claim (also applied to every line). */
  readonly claimDenials: readonly Denial[];
  readonly memberId?: string;
  readonly totals: {
    readonly submitted: number;
    readonly eligible: number;
    readonly benefit: number;
    readonly memberLiability: number;
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
  /** Fingerprints of lines already paid on earlier claims. */
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

export function adjudicate(input: AdjudicateInput): AdjudicationResult {
  const { claim, kind, tables } = input;
  const items = claim.item ?? [];
  const memberId = memberIdOf(claim, input.resources);
  const claimDenials: Denial[] = [];
  if (!memberId) {
    claimDenials.push(
      deny('31', 'Patient cannot be identified as our member: no member id / coverage not found'),
    );
  }
  const diagnoses = diagnosisCodes(claim);
  const insurance = claim.insurance?.find((i) => i.focal) ?? claim.insurance?.[0];
  const preAuthRefs = (insurance?.preAuthRef ?? []).map((r) => r.trim()).filter((r) => r !== '');
  const patientRef = claim.patient.reference ?? claim.patient.identifier?.value ?? '';
  const paidLines = input.paidLines ?? new Set<string>();
  const correcting = (claim.related ?? []).length > 0;

  // Codes present per date (for NCCI) and units per code per date (for MUE).
  const codesByDate = new Map<string, Set<string>>();
  const unitsByCodeDate = new Map<string, number>();
  for (const item of items) {
    const date = lineDate(item);
    const code = lineCode(item);
    let set = codesByDate.get(date);
    if (!set) {
      set = new Set();
      codesByDate.set(date, set);
    }
    set.add(code);
    const key = `${code}|${date}`;
    unitsByCodeDate.set(key, (unitsByCodeDate.get(key) ?? 0) + (item.quantity?.value ?? 0));
  }

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
    const fingerprint = [
      kind,
      memberId ?? '',
      patientRef,
      code,
      [...modifiers].sort().join(','),
      date,
      units,
    ].join('|');

    const denials: Denial[] = [...claimDenials];
    const limitDays = tables.timelyFilingDays[kind];
    if (date && daysBetween(date, input.receivedDate) > limitDays) {
      denials.push(deny('29', `Received more than ${limitDays} days after the date of service`));
    }
    if (!correcting && paidLines.has(fingerprint)) {
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
      date >= JW_JZ_REQUIRED_FROM &&
      !modifiers.includes('JW') &&
      !modifiers.includes('JZ')
    ) {
      denials.push(deny('4', 'Single-dose drug billed without the JW or JZ modifier'));
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

  const denied = lines.filter((l) => l.denials.length > 0).length;
  const sum = (f: (l: LineResult) => number): number => round2(lines.reduce((acc, l) => acc + f(l), 0));
  return {
    kind,
    outcome: denied === 0 ? 'complete' : denied === lines.length ? 'error' : 'partial',
    lines,
    claimDenials,
    ...(memberId ? { memberId } : {}),
    totals: {
      submitted: sum((l) => l.submitted),
      eligible: sum((l) => l.eligible),
      benefit: sum((l) => l.benefit),
      memberLiability: sum((l) => l.deductible + l.coinsurance + l.copay),
    },
  };
}

const money = (value: number): { value: number; currency: 'USD' } => ({
  value: round2(value),
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

function lineAdjudications(line: LineResult): ClaimResponseItemAdjudication[] {
  const out: ClaimResponseItemAdjudication[] = [
    { category: category('submitted'), amount: money(line.submitted) },
    { category: category('eligible'), amount: money(line.eligible) },
  ];
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
  const disposition =
    result.outcome === 'complete'
      ? 'Claim adjudicated; all lines paid'
      : result.outcome === 'partial'
        ? `Claim adjudicated; ${deniedLines.length} of ${result.lines.length} lines denied`
        : 'Claim adjudicated; all lines denied';
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
      adjudication: lineAdjudications(line),
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
      date: ctx.created.slice(0, 10),
      amount: money(result.totals.benefit),
    },
  };
}
