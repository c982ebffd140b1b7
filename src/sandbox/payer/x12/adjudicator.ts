/**
 * The sandbox X12 payer's claims office: each claim of an 837 batch adjudicated by the payer's own
 * rules and tables (../adjudicate.ts, the same as its FHIR endpoint's), remembered (for the
 * replacements and voids that name it by its claim number), and answered as an 835 claim payment
 * (./remit.ts). A replacement that reverses an earlier payment is answered by the reversal of that
 * payment (CLP02 22) and the replacement's own payment. `reprocess` is the payer reworking a claim
 * it paid (a reversal, then the corrected payment under a new claim number), as real payers do
 * after a fee schedule or enrollment correction. In memory: the sandbox's batches live one day.
 */
import { adjudicate } from '../adjudicate.ts';
import { priorClaimOf, supersede } from '../reversals.ts';
import type { PriorClaim } from '../results.ts';
import type { PayerKind, PayerTables } from '../tables.ts';
import type { ClaimPaymentInput } from '../../../x12/835/write835.ts';
import type { ReceivedClaim837 } from './read837.ts';
import { claimPayment, reversalOf } from './remit.ts';

export interface X12AdjudicatorOptions {
  readonly tables: PayerTables;
  /** Payer id (837 NM1*PR) → the kind of payer it adjudicates as. */
  readonly payerIds: Readonly<Record<string, PayerKind>>;
  /** Prefix of its claim numbers (CLP07). */
  readonly claimNumberPrefix: string;
}

export class X12Adjudicator {
  readonly #options: X12AdjudicatorOptions;
  readonly #known: PriorClaim[] = [];
  /** The latest payment sent for each claim number, for reversals. */
  readonly #payments = new Map<string, ClaimPaymentInput>();
  #count = 0;

  constructor(options: X12AdjudicatorOptions) {
    this.#options = options;
  }

  kindOf(payerId: string): PayerKind | undefined {
    return Object.hasOwn(this.#options.payerIds, payerId) ? this.#options.payerIds[payerId] : undefined;
  }

  #nextNumber(receivedDate: string): string {
    this.#count += 1;
    return `${this.#options.claimNumberPrefix}${receivedDate.replaceAll('-', '')}${String(this.#count).padStart(6, '0')}`;
  }

  /** The claim payments answering one received claim (a reversal first when it replaces a paid claim). */
  answer(received: ReceivedClaim837, receivedDate: string): ClaimPaymentInput[] {
    const kind = this.kindOf(received.payerId) ?? 'commercial';
    const result = adjudicate({
      claim: received.claim,
      kind,
      tables: this.#options.tables,
      receivedDate,
      knownClaims: this.#known,
    });
    const number = this.#nextNumber(receivedDate);
    const out: ClaimPaymentInput[] = [];
    if (result.reversal) {
      const at = this.#known.findIndex((k) => k.controlNumber === result.reversal?.controlNumber);
      const reversedPayment = this.#payments.get(result.reversal.controlNumber);
      if (at >= 0) {
        this.#known[at] = supersede(this.#known[at] as PriorClaim, number, result.reversal.frequency);
      }
      if (reversedPayment) {
        out.push(reversalOf(reversedPayment));
      }
    }
    this.#known.push(
      priorClaimOf(received.claim, result, { controlNumber: number, claimId: received.claim.id }),
    );
    const payment = claimPayment(received, result, number);
    this.#payments.set(number, payment);
    out.push(payment);
    return out;
  }

  /**
   * The payer reworks a claim it paid: the reversal of that payment and the same payment again
   * under a new claim number (the payer's correction). Undefined when it never paid that number.
   */
  reprocess(claimNumber: string, receivedDate: string): ClaimPaymentInput[] | undefined {
    const payment = this.#payments.get(claimNumber);
    if (!payment || payment.status === '22') {
      return undefined;
    }
    const number = this.#nextNumber(receivedDate);
    const corrected: ClaimPaymentInput = { ...payment, payerClaimNumber: number };
    this.#payments.set(number, corrected);
    this.#payments.delete(claimNumber);
    const at = this.#known.findIndex((k) => k.controlNumber === claimNumber);
    if (at >= 0) {
      const prior = this.#known[at] as PriorClaim;
      this.#known[at] = { ...prior, controlNumber: number };
    }
    return [reversalOf(payment), corrected];
  }
}
