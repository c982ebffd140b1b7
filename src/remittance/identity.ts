/**
 * Who a remittance is from and for, and what makes it the same remittance (pure):
 *
 * - the payer: the tenant payer (config `payers[]`) whose payer id the 835 names — REF*2U under
 *   N1*PR, N1*PR04, TRN03 (the payer's originating company id, "1" + its EIN) or TRN04, BPR10;
 * - the payee: the tenant's billing provider, by N1*PE NPI (XX) or tax id (FI, REF*TJ) — a
 *   remittance for another provider is refused;
 * - its identity: payer and TRN02 (the check or EFT trace number, unique per payment per payer),
 *   and its amounts fingerprint (BPR02 and its sign, the number of claim payments, Σ CLP03, Σ CLP04,
 *   Σ PLB). The same remittance sent again — whatever its delimiters, line breaks or envelope
 *   control numbers — has the same identity and fingerprint and changes nothing; the same identity
 *   with other amounts is a conflict a person must look at;
 * - stable ids: the PaymentReconciliation of a remittance, the ExplanationOfBenefit of each claim
 *   payment by its position in the transaction set (claims sharing a CLP01 stay apart).
 */
import { createHash } from 'node:crypto';
import type { BillingProvider, PayerEndpoint } from '../config/billing.ts';
import type { Header835, TransactionSummary835 } from '../x12/835/types.ts';

const sha = (text: string, length = 32): string =>
  createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);

/** The ids a remittance header gives its payer, most specific first. */
export function payerIdsOf(header: Pick<Header835, 'payer' | 'trace' | 'payment'>): string[] {
  const ids = [
    ...header.payer.references.filter((r) => r.qualifier === '2U').map((r) => r.value),
    header.payer.id,
    header.trace.originator,
    header.trace.originator?.replace(/^1(?=\d{9}$)/, ''),
    header.trace.supplemental,
    header.payment.originatingCompany,
  ];
  return [
    ...new Set(ids.filter((i): i is string => i !== undefined && i.trim() !== '').map((i) => i.trim())),
  ];
}

/** The tenant payer the remittance is from, if it names one. */
export function identifyPayer(
  header: Pick<Header835, 'payer' | 'trace' | 'payment'>,
  payers: readonly PayerEndpoint[],
): PayerEndpoint | undefined {
  const ids = payerIdsOf(header);
  for (const id of ids) {
    const payer = payers.find((p) => p.payerId === id);
    if (payer) {
      return payer;
    }
  }
  return undefined;
}

/**
 * Why the payee is not this tenant's billing provider (undefined: it is). The payee's own
 * identification decides (N1*PE XX = NPI, FI = tax id); only without one does REF*TJ (tax id).
 */
export function payeeProblem(
  header: Pick<Header835, 'payee'>,
  billing: BillingProvider | undefined,
): string | undefined {
  const payee = header.payee;
  if (!billing) {
    return 'the tenant has no billing provider configured: remittances cannot be matched to it';
  }
  const digits = (v: string): string => v.replace(/\D/g, '');
  let named: string;
  if (payee.idQualifier === 'XX' && payee.id) {
    named = `NPI ${payee.id}`;
    if (digits(payee.id) === billing.npi) {
      return undefined;
    }
  } else if (payee.idQualifier === 'FI' && payee.id) {
    named = `tax id ${payee.id}`;
    if (digits(payee.id) === billing.taxId) {
      return undefined;
    }
  } else {
    const taxIds = payee.references.filter((r) => r.qualifier === 'TJ').map((r) => digits(r.value));
    named = taxIds.length > 0 ? `tax id ${taxIds.join(', ')}` : 'no NPI or tax id';
    if (taxIds.includes(billing.taxId)) {
      return undefined;
    }
  }
  return `the payee (${payee.name ?? 'unnamed'}, ${named}) is not this tenant's billing provider (NPI ${billing.npi}, tax id ${billing.taxId})`;
}

/** The remittance's identity: tenant payer and trace number. */
export function remittanceKey(payer: string, trace: string): string {
  return `${payer}|${trace}`;
}

/** The fingerprint of a remittance's amounts (module comment). */
export function amountsKey(
  summary: Pick<
    TransactionSummary835,
    'header' | 'claims' | 'totalCharge' | 'totalPaid' | 'providerAdjustments'
  >,
): string {
  const p = summary.header?.payment;
  const plb = summary.providerAdjustments.reduce((s, a) => s + Math.round(a.amount * 100), 0);
  return [
    p ? `${p.creditDebit}${Math.round(p.amount * 100)}` : '',
    summary.claims,
    Math.round(summary.totalCharge * 100),
    Math.round(summary.totalPaid * 100),
    plb,
  ].join('|');
}

/** PaymentReconciliation id of a remittance. */
export function reconciliationId(key: string): string {
  return `rem-${sha(key)}`;
}

/** ExplanationOfBenefit id of the claim payment at `position` in the remittance. */
export function claimPaymentId(key: string, position: number): string {
  return `eob-${sha(`${key}#${position}`)}`;
}

/** ExplanationOfBenefit id of a FHIR payer's answer (its ClaimResponse or EOB id at that payer). */
export function fhirAnswerId(payer: string, answer: string): string {
  return `eob-${sha(`fhir|${payer}|${answer}`)}`;
}

export function shortHash(text: string): string {
  return sha(text, 16);
}
