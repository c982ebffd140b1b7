/**
 * The sandbox X12 payer's remittance: the claim payment (835 loop 2100/2110) of each claim it
 * adjudicated, and the 835 of a batch, written with Dripline's 835 writer (src/x12/835/write835.ts)
 * as any payer's software would write one from its adjudication (005010X221A1):
 *
 * - a paid line: CO-45 for the charge above the allowed amount, PR-1 deductible, PR-2 coinsurance,
 *   PR-3 copay, AMT*B6 the allowed amount; a denied line: its first denial's group and CARC for
 *   the whole charge, the RARCs of its denials in LQ*HE; every line echoes its REF*6R;
 * - CLP02 1 (processed as primary) or 4 (denied: nothing paid), CLP05 the patient's share, CLP07
 *   the payer claim number, CLP09 the frequency; a replacement that reversed an earlier payment is
 *   preceded by the reversal (CLP02 22) of that payment, its amounts negated;
 * - provider-level adjustments (PLB) at the end: interest (L6, negative: paid to the provider) or
 *   a recovery (WO), as the caller decides.
 * BPR02 is Σ CLP04 − Σ PLB (the guide's balancing, §1.10.2.1); a negative total is a debit.
 */
import type { AdjudicationResult, LineResult } from '../results.ts';
import type { PayerKind } from '../tables.ts';
import type { ClaimPaymentInput, RemittanceInput, ServicePaymentInput } from '../../../x12/835/write835.ts';
import type { ReceivedClaim837 } from './read837.ts';

const cents = (x: number): number => Math.round(x * 100);
const dollars = (c: number): number => c / 100;

/** CLP06: the claim filing indicator of the payer's kind. */
const FILING: Readonly<Record<PayerKind, string>> = { medicare: 'MB', medicaid: 'MC', commercial: 'CI' };

function servicePayment(received: ReceivedClaim837, line: LineResult): ServicePaymentInput {
  const item = received.claim.item?.find((i) => i.sequence === line.sequence);
  const modifiers = (item?.modifier ?? []).map((m) => m.coding?.[0]?.code ?? '').filter((m) => m !== '');
  const adjustments: { group: string; reason: string; amount: number }[] = [];
  const denial = line.denials[0];
  if (denial) {
    adjustments.push({ group: denial.group, reason: denial.carc, amount: line.submitted });
  } else {
    const above = cents(line.submitted) - cents(line.eligible);
    if (above !== 0) {
      adjustments.push({ group: 'CO', reason: '45', amount: dollars(above) });
    }
    for (const [reason, amount] of [
      ['1', line.deductible],
      ['2', line.coinsurance],
      ['3', line.copay],
    ] as const) {
      if (cents(amount) !== 0) {
        adjustments.push({ group: 'PR', reason, amount });
      }
    }
  }
  const control = received.lineControlNumbers.get(line.sequence);
  return {
    procedure: { qualifier: 'HC', code: line.code, modifiers },
    charge: line.submitted,
    paid: line.benefit,
    ...(item?.revenue?.coding?.[0]?.code ? { revenueCode: item.revenue.coding[0].code } : {}),
    units: line.units,
    dates: line.dateOfService ? [{ qualifier: '472', value: line.dateOfService }] : [],
    adjustments,
    references: control ? [{ qualifier: '6R', value: control }] : [],
    amounts: denial ? [] : [{ qualifier: 'B6', value: line.eligible }],
    quantities: [],
    remarks: [...new Set(line.denials.flatMap((d) => (d.rarc ? [d.rarc] : [])))],
    pharmacyRejects: [],
  };
}

/** The claim payment (CLP loop) of an adjudicated claim. */
export function claimPayment(
  received: ReceivedClaim837,
  result: AdjudicationResult,
  payerClaimNumber: string,
): ClaimPaymentInput {
  const services = result.lines.map((l) => servicePayment(received, l));
  const paid = services.reduce((s, l) => s + cents(l.paid), 0);
  const patient = services
    .flatMap((s) => s.adjustments)
    .filter((a) => a.group === 'PR')
    .reduce((s, a) => s + cents(a.amount), 0);
  const dates = result.lines
    .map((l) => l.dateOfService)
    .filter((d) => d !== '')
    .sort();
  return {
    patientControlNumber: received.patientControlNumber,
    status: paid === 0 && result.lines.every((l) => l.denials.length > 0) ? '4' : '1',
    charge: dollars(services.reduce((s, l) => s + cents(l.charge), 0)),
    paid: dollars(paid),
    patientResponsibility: dollars(patient),
    filingIndicator: FILING[result.kind],
    payerClaimNumber,
    facilityType: received.kind === '837I' ? '13' : '11',
    frequency: result.frequency,
    adjustments: [],
    names: [
      {
        entity: 'QC',
        entityType: '1',
        last: received.patient.last,
        ...(received.patient.first ? { first: received.patient.first } : {}),
        ...(received.patient.memberId ? { idQualifier: 'MI', id: received.patient.memberId } : {}),
      },
    ],
    references: [],
    dates: [
      ...(dates[0] ? [{ qualifier: '232', value: dates[0] }] : []),
      ...(dates.at(-1) ? [{ qualifier: '233', value: dates.at(-1) ?? '' }] : []),
    ],
    amounts: [],
    quantities: [],
    services,
  };
}

/** The reversal (CLP02 22) of a payment sent before: every amount negated, the same claim number. */
export function reversalOf(payment: ClaimPaymentInput): ClaimPaymentInput {
  const neg = (x: number): number => (cents(x) === 0 ? 0 : -x);
  return {
    ...payment,
    status: '22',
    charge: neg(payment.charge),
    paid: neg(payment.paid),
    ...(payment.patientResponsibility !== undefined
      ? { patientResponsibility: neg(payment.patientResponsibility) }
      : {}),
    services: payment.services.map((s) => ({
      ...s,
      charge: neg(s.charge),
      paid: neg(s.paid),
      adjustments: s.adjustments.map((a) => ({ ...a, amount: neg(a.amount) })),
      amounts: [],
    })),
  };
}

export interface RemittanceHeaderInput {
  readonly payerName: string;
  readonly payerId: string;
  readonly payeeName: string;
  readonly payeeNpi: string;
  readonly trace: string;
  readonly paymentDate: string;
  readonly claims: readonly ClaimPaymentInput[];
  /** Provider-level adjustments: positive reduces the payment (WO recovery), negative adds (L6 interest). */
  readonly providerAdjustments?: readonly { reason: string; amount: number; reference?: string }[];
}

/** One remittance (transaction set) paying these claim payments, balanced. */
export function remittanceOf(input: RemittanceHeaderInput): RemittanceInput {
  const plb = (input.providerAdjustments ?? []).map((p) => ({
    provider: input.payeeNpi,
    fiscalPeriodDate: `${input.paymentDate.slice(0, 4)}-12-31`,
    ...p,
  }));
  const total =
    input.claims.reduce((s, c) => s + cents(c.paid), 0) - plb.reduce((s, p) => s + cents(p.amount), 0);
  return {
    header: {
      payment: {
        handling: total === 0 ? 'H' : 'I',
        amount: dollars(Math.abs(total)),
        creditDebit: total < 0 ? 'D' : 'C',
        method: total === 0 ? 'NON' : 'ACH',
        ...(total === 0 ? {} : { format: 'CCP' }),
        date: input.paymentDate,
      },
      trace: {
        type: '1',
        number: input.trace,
        originator: `1${input.payerId.replace(/\D/g, '').padEnd(9, '0').slice(0, 9)}`,
      },
      references: [],
      payer: {
        name: input.payerName,
        references: [{ qualifier: '2U', value: input.payerId }],
        contacts: [],
      },
      payee: { name: input.payeeName, idQualifier: 'XX', id: input.payeeNpi, references: [], contacts: [] },
    },
    ...(total === 0
      ? {}
      : {
          bank: {
            payerRouting: '011000015',
            payerAccount: '5550001',
            payeeRouting: '021000021',
            payeeAccount: '5550002',
          },
        }),
    claims: input.claims,
    providerAdjustments: () => plb,
  };
}
