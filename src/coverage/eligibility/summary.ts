/**
 * What an eligibility answer says, read from a CoverageEligibilityResponse however it came (a FHIR
 * payer's, or a 271 mapped by ./from-271.ts): in force or not and when, who answered, other payers
 * it names, its errors, and per service type the cost sharing (deductible and out-of-pocket total
 * and remaining, co-insurance, co-payment) and whether authorization is required. The findings
 * (./findings.ts), the estimate and the sandbox day read this. Pure.
 *
 * Remaining amounts: a benefit with `allowedMoney` and `usedMoney` leaves allowed − used; an item
 * whose term is X12 615 `29` (remaining) or `33` (lifetime remaining) gives the remaining amount as
 * its allowed value (a 271 sends totals and what is left as separate EBs). In-network, individual
 * entries are preferred to out-of-network or family ones.
 */
import type {
  Coverage,
  CoverageEligibilityResponse,
  CoverageEligibilityResponseInsuranceItem,
} from '@medplum/fhirtypes';
import { REMAINING_PERIODS } from '../../x12/271/codes.ts';
import { HL7_SYSTEMS, X12_CODE_SYSTEMS } from './code-systems.ts';

export interface MoneyBalance {
  readonly total?: number;
  readonly remaining?: number;
}

export interface ServiceBenefits {
  /** X12 1365 service type. */
  readonly category: string;
  readonly deductible?: MoneyBalance;
  readonly outOfPocket?: MoneyBalance;
  /** The patient's co-insurance, whole percent. */
  readonly coinsurancePercent?: number;
  /** Co-payment per visit (USD). */
  readonly copay?: number;
  readonly authorizationRequired?: boolean;
  readonly excluded?: boolean;
  readonly notes?: string;
}

export interface EligibilitySummary {
  /** "CoverageEligibilityResponse/id". */
  readonly response: string;
  readonly created?: string;
  readonly outcome: CoverageEligibilityResponse['outcome'];
  /** The Coverage the answer is about ("Coverage/id"). */
  readonly coverage?: string;
  /** Who answered: the insurer's payer id and name. */
  readonly payerId?: string;
  readonly payerName?: string;
  readonly inforce?: boolean;
  readonly planStart?: string;
  readonly planEnd?: string;
  readonly errors: readonly { readonly code: string; readonly text: string }[];
  /** Other payers the answer names (a 271 EB R). */
  readonly otherPayers: readonly { readonly name?: string; readonly payerId?: string }[];
  /** Per service type, general (30) first. */
  readonly benefits: readonly ServiceBenefits[];
  /** Drug or procedure codes the answer says need authorization. */
  readonly authorizationRequiredFor: readonly string[];
  readonly disposition?: string;
}

const codeIn = (
  concept: { coding?: { system?: string; code?: string }[] } | undefined,
  system: string,
): string | undefined => concept?.coding?.find((c) => c.system === system)?.code;

function kindOf(type: { coding?: { system?: string; code?: string }[] } | undefined): string | undefined {
  const x12 = codeIn(type, X12_CODE_SYSTEMS.benefit);
  if (x12) {
    return x12;
  }
  const hl7 = codeIn(type, HL7_SYSTEMS.benefitType);
  return hl7 === 'deductible' ? 'C' : hl7 === 'copay' ? 'B' : hl7 === 'copay-percent' ? 'A' : undefined;
}

/** Rank of an item for choosing among duplicates: in-network and individual first. */
function rank(item: CoverageEligibilityResponseInsuranceItem): number {
  const network = codeIn(item.network, HL7_SYSTEMS.benefitNetwork);
  const unit = codeIn(item.unit, HL7_SYSTEMS.benefitUnit);
  return (network === 'out' ? 2 : 0) + (unit === 'family' ? 1 : 0);
}

function balanceOf(
  items: readonly CoverageEligibilityResponseInsuranceItem[],
  kind: 'C' | 'G',
): MoneyBalance | undefined {
  let total: number | undefined;
  let remaining: number | undefined;
  for (const item of [...items].sort((a, b) => rank(a) - rank(b))) {
    const remainingTerm = REMAINING_PERIODS.has(codeIn(item.term, X12_CODE_SYSTEMS.timePeriod) ?? '');
    for (const benefit of item.benefit ?? []) {
      if (kindOf(benefit.type) !== kind || benefit.allowedMoney?.value === undefined) {
        continue;
      }
      const allowed = benefit.allowedMoney.value;
      if (remainingTerm) {
        remaining ??= allowed;
      } else {
        total ??= allowed;
        if (benefit.usedMoney?.value !== undefined) {
          remaining ??= Math.max(0, allowed - benefit.usedMoney.value);
        }
      }
    }
  }
  return total === undefined && remaining === undefined
    ? undefined
    : { ...(total !== undefined ? { total } : {}), ...(remaining !== undefined ? { remaining } : {}) };
}

function firstValue(
  items: readonly CoverageEligibilityResponseInsuranceItem[],
  kind: 'A' | 'B',
): number | undefined {
  for (const item of [...items].sort((a, b) => rank(a) - rank(b))) {
    for (const benefit of item.benefit ?? []) {
      if (kindOf(benefit.type) !== kind) {
        continue;
      }
      const value = kind === 'A' ? benefit.allowedUnsignedInt : benefit.allowedMoney?.value;
      if (value !== undefined) {
        return value;
      }
    }
  }
  return undefined;
}

export function summarize(response: CoverageEligibilityResponse & { id?: string }): EligibilitySummary {
  const insurance = response.insurance ?? [];
  const own = insurance[0];
  const contained = new Map(
    (response.contained ?? [])
      .filter((r): r is Coverage => r.resourceType === 'Coverage')
      .map((c) => [`#${c.id ?? ''}`, c]),
  );
  const otherPayers = insurance.slice(1).flatMap((entry) => {
    const coverage = contained.get(entry.coverage.reference ?? '');
    const payor = coverage?.payor?.[0];
    return payor
      ? [
          {
            ...(payor.display ? { name: payor.display } : {}),
            ...(payor.identifier?.value ? { payerId: payor.identifier.value } : {}),
          },
        ]
      : [];
  });
  const items = (own?.item ?? []).filter((i) => i.productOrService === undefined);
  const categories = [
    ...new Set(items.map((i) => codeIn(i.category, X12_CODE_SYSTEMS.serviceType) ?? '30')),
  ].sort((a, b) => (a === '30' ? -1 : b === '30' ? 1 : a.localeCompare(b)));
  const benefits: ServiceBenefits[] = categories.map((category) => {
    const mine = items.filter((i) => (codeIn(i.category, X12_CODE_SYSTEMS.serviceType) ?? '30') === category);
    const deductible = balanceOf(mine, 'C');
    const outOfPocket = balanceOf(mine, 'G');
    const coinsurancePercent = firstValue(mine, 'A');
    const copay = firstValue(mine, 'B');
    const authorization = mine.find((i) => i.authorizationRequired !== undefined)?.authorizationRequired;
    const notes = mine
      .map((i) => i.description)
      .filter((d): d is string => d !== undefined)
      .join(' ');
    return {
      category,
      ...(deductible ? { deductible } : {}),
      ...(outOfPocket ? { outOfPocket } : {}),
      ...(coinsurancePercent !== undefined ? { coinsurancePercent } : {}),
      ...(copay !== undefined ? { copay } : {}),
      ...(authorization !== undefined ? { authorizationRequired: authorization } : {}),
      ...(mine.some((i) => i.excluded === true) ? { excluded: true } : {}),
      ...(notes ? { notes } : {}),
    };
  });
  const authorizationRequiredFor = (own?.item ?? [])
    .filter((i) => i.productOrService !== undefined && i.authorizationRequired === true)
    .flatMap((i) => (i.productOrService?.coding ?? []).map((c) => c.code ?? ''))
    .filter((c) => c !== '');
  return {
    response: `CoverageEligibilityResponse/${response.id ?? '?'}`,
    ...(response.created ? { created: response.created } : {}),
    outcome: response.outcome,
    ...(own?.coverage.reference ? { coverage: own.coverage.reference } : {}),
    ...(response.insurer?.identifier?.value ? { payerId: response.insurer.identifier.value } : {}),
    ...(response.insurer?.display ? { payerName: response.insurer.display } : {}),
    ...(own?.inforce !== undefined ? { inforce: own.inforce } : {}),
    ...(own?.benefitPeriod?.start ? { planStart: own.benefitPeriod.start.slice(0, 10) } : {}),
    ...(own?.benefitPeriod?.end ? { planEnd: own.benefitPeriod.end.slice(0, 10) } : {}),
    errors: (response.error ?? []).map((e) => ({
      code: e.code.coding?.[0]?.code ?? '',
      text: e.code.text ?? e.code.coding?.[0]?.display ?? '',
    })),
    otherPayers,
    benefits,
    authorizationRequiredFor: [...new Set(authorizationRequiredFor)],
    ...(response.disposition ? { disposition: response.disposition } : {}),
  };
}

/**
 * The cost sharing that applies to a visit: the first of `categories` (most specific first) the
 * answer gives cost sharing for, filled in from the general plan coverage (30) for what it leaves out.
 */
export function benefitsFor(summary: EligibilitySummary, categories: readonly string[]): ServiceBenefits {
  const general = summary.benefits.find((b) => b.category === '30');
  const specific = categories
    .filter((c) => c !== '30')
    .map((c) => summary.benefits.find((b) => b.category === c))
    .find((b) => b !== undefined);
  return { ...(general ?? { category: '30' }), ...(specific ?? {}) };
}
