/**
 * The patient estimate of an order or a coded encounter: per line the expected allowed amount and
 * the patient's share of it, from the benefits the payer last gave (deductible left, co-insurance,
 * co-payment, out-of-pocket maximum left; src/coverage/eligibility/summary.ts), as an
 * ExplanationOfBenefit (`use` predetermination, FHIR R4) in which every figure names the input it
 * came from (extension estimate-basis). Pure: the allowed amounts come from `AllowedAmountLookup`.
 *
 * The share, in the order US plans apply it (the plan documents and a 271's EB C/A/B/G entries):
 * the co-payment once per visit, on the first line; then the deductible left, line by line; then
 * co-insurance on what remains of each line; the patient's total never above the out-of-pocket
 * maximum left. Amounts in cents, rounded half up.
 */
import type { ExplanationOfBenefit, ExplanationOfBenefitItem } from '@medplum/fhirtypes';
import { SYSTEMS } from '../../coding/fhir/extract.ts';
import { EXT_ESTIMATE_BASIS, ID_PATIENT_ESTIMATE } from '../../contract/eligibility.ts';
import type { ServiceBenefits } from '../eligibility/summary.ts';

export interface EstimateLine {
  readonly sequence: number;
  /** HCPCS or CPT. */
  readonly code: string;
  readonly units: number;
  readonly date: string;
}

/** An expected allowed amount and where it came from (a fee schedule entry, a payer contract...). */
export interface AllowedAmount {
  readonly amount: number;
  readonly source: string;
}

/**
 * Where allowed amounts come from: the tenant's fee schedule today; the payer contract tables of
 * the remittance issue will come first when they exist (extend this one function).
 */
export type AllowedAmountLookup = (line: EstimateLine) => AllowedAmount | undefined;

export interface EstimateInput {
  readonly id: string;
  readonly patient: string;
  readonly coverage: string;
  readonly insurer: { readonly display: string; readonly payerId?: string };
  /** The billing provider (its NPI and name). */
  readonly provider: { readonly npi: string; readonly name: string };
  /** What the order or encounter is ("MedicationRequest/…", "Encounter/…"). */
  readonly subject: string;
  readonly lines: readonly EstimateLine[];
  readonly allowed: AllowedAmountLookup;
  readonly benefits: ServiceBenefits;
  /** The eligibility answer the benefits were read from ("CoverageEligibilityResponse/…"). */
  readonly benefitsSource: string;
  readonly now: Date;
}

const cents = (n: number): number => Math.round(n * 100 + Number.EPSILON * 100) / 100;
const usd = (value: number): { value: number; currency: 'USD' } => ({ value: cents(value), currency: 'USD' });
const basis = (text: string): { url: string; valueString: string } => ({
  url: EXT_ESTIMATE_BASIS,
  valueString: text,
});
const ADJ = 'http://terminology.hl7.org/CodeSystem/adjudication';

export interface LineShare {
  readonly sequence: number;
  readonly allowed?: AllowedAmount;
  readonly copay: number;
  readonly deductible: number;
  readonly coinsurance: number;
  readonly patient: number;
}

/** The patient's share per line (see the module comment). */
export function patientShares(input: Pick<EstimateInput, 'lines' | 'allowed' | 'benefits'>): LineShare[] {
  let copayLeft = input.benefits.copay ?? 0;
  let deductibleLeft = input.benefits.deductible?.remaining ?? input.benefits.deductible?.total ?? 0;
  let outOfPocketLeft = input.benefits.outOfPocket?.remaining ?? Number.POSITIVE_INFINITY;
  const rate = (input.benefits.coinsurancePercent ?? 0) / 100;
  return input.lines.map((line) => {
    const allowed = input.allowed(line);
    const amount = allowed?.amount ?? 0;
    const copay = Math.min(copayLeft, amount);
    copayLeft -= copay;
    const deductible = Math.min(deductibleLeft, amount - copay);
    deductibleLeft -= deductible;
    const coinsurance = cents((amount - copay - deductible) * rate);
    const owed = Math.min(outOfPocketLeft, copay + deductible + coinsurance);
    outOfPocketLeft -= owed;
    return {
      sequence: line.sequence,
      ...(allowed ? { allowed } : {}),
      copay: cents(copay),
      deductible: cents(deductible),
      coinsurance,
      patient: cents(owed),
    };
  });
}

export function patientEstimate(input: EstimateInput): ExplanationOfBenefit & { id: string } {
  const shares = patientShares(input);
  const b = input.benefits;
  const benefitsBasis = (what: string): string =>
    `${what} (${input.benefitsSource}, service type ${b.category})`;
  const items: ExplanationOfBenefitItem[] = input.lines.map((line, i) => {
    const share = shares[i];
    return {
      sequence: line.sequence,
      // CPT (five digits) or HCPCS Level II (a letter and four digits).
      productOrService: {
        coding: [{ system: /^\d{5}$/.test(line.code) ? SYSTEMS.cpt : SYSTEMS.hcpcs, code: line.code }],
      },
      servicedDate: line.date,
      quantity: { value: line.units },
      adjudication: [
        {
          category: { coding: [{ system: ADJ, code: 'eligible' }], text: 'expected allowed amount' },
          ...(share?.allowed ? { amount: usd(share.allowed.amount) } : {}),
          extension: [
            basis(share?.allowed ? share.allowed.source : 'no allowed amount on file for this code'),
          ],
        },
        {
          category: { coding: [{ system: ADJ, code: 'copay' }], text: 'co-payment' },
          amount: usd(share?.copay ?? 0),
          extension: [basis(benefitsBasis(`co-payment per visit ${b.copay ?? 0}`))],
        },
        {
          category: { coding: [{ system: ADJ, code: 'deductible' }], text: 'deductible' },
          amount: usd(share?.deductible ?? 0),
          extension: [
            basis(
              benefitsBasis(
                `deductible left ${b.deductible?.remaining ?? b.deductible?.total ?? 'not given (0 assumed)'}`,
              ),
            ),
          ],
        },
        {
          category: { coding: [{ system: ADJ, code: 'benefit' }], text: 'co-insurance' },
          amount: usd(share?.coinsurance ?? 0),
          extension: [basis(benefitsBasis(`co-insurance ${b.coinsurancePercent ?? 0}%`))],
        },
        {
          category: { text: 'patient share' },
          amount: usd(share?.patient ?? 0),
          extension: [
            basis(
              benefitsBasis(
                `co-payment + deductible + co-insurance, capped at the out-of-pocket maximum left ${b.outOfPocket?.remaining ?? 'not given'}`,
              ),
            ),
          ],
        },
      ],
    };
  });
  const total = (pick: (s: LineShare) => number): number =>
    cents(shares.reduce((sum, s) => sum + pick(s), 0));
  return {
    resourceType: 'ExplanationOfBenefit',
    id: input.id,
    identifier: [{ system: ID_PATIENT_ESTIMATE, value: input.id }],
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'predetermination',
    patient: { reference: input.patient },
    created: input.now.toISOString(),
    insurer: { display: input.insurer.display },
    provider: {
      identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: input.provider.npi },
      display: input.provider.name,
    },
    outcome: 'complete',
    disposition: `Estimate for ${input.subject}; not a guarantee of payment`,
    insurance: [{ focal: true, coverage: { reference: input.coverage } }],
    item: items,
    total: [
      {
        category: { coding: [{ system: ADJ, code: 'eligible' }] },
        amount: usd(total((s) => s.allowed?.amount ?? 0)),
      },
      { category: { text: 'patient share' }, amount: usd(total((s) => s.patient)) },
    ],
  };
}
