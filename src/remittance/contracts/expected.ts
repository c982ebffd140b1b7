/**
 * What a payer's contract says a line should be allowed: the contract in force for the payer on
 * the date of service, and its first term that prices the line — carve-outs first, then the
 * terms in the order the contract lists them (the contracts file format:
 * src/config/contracts-file.ts). Pure: the contracts and reference rates are passed in.
 *
 * `expectedAllowed` is the one function that answers "what should this payer allow for this
 * service": the underpayment check (./variance.ts) reads it, and so does anyone estimating what a
 * patient will owe before the service.
 */
import type { Contract, ContractTerm, TermMatch } from '../../config/contracts-file.ts';
import { round2 } from '../amounts.ts';
import type { ReferenceRates } from './references.ts';

export interface ExpectedLineInput {
  /** CPT/HCPCS code. */
  readonly code: string;
  readonly modifiers?: readonly string[];
  /** Units billed (drugs: HCPCS billing units). */
  readonly units: number;
  /** The line's charge (for percent-of-billed terms). */
  readonly charge?: number;
  /** Date of service, YYYY-MM-DD. */
  readonly date: string;
}

export interface ExpectedAllowed {
  /** USD, rounded to cents. */
  readonly amount: number;
  /** USD per unit, when the term prices per unit. */
  readonly perUnit?: number;
  readonly contract: { readonly id: string; readonly name: string; readonly source: string };
  readonly term: {
    readonly id: string;
    readonly kind: ContractTerm['kind'];
    readonly carveOut: boolean;
    /** The term in words, e.g. "106 % of medicare-asp" or "fee schedule $150.00 per unit". */
    readonly description: string;
    readonly note?: string;
  };
  /** How the amount was reached: rate, reference table and period, units. */
  readonly basis: string;
  /** True when a reference rate came from a hand-seeded table (UNVERIFIED). */
  readonly unverified: boolean;
}

/** The contract with this payer in force on the date (effective ≤ date ≤ through). */
export function contractFor(
  contracts: readonly Contract[],
  payer: string,
  date: string,
): Contract | undefined {
  return contracts.find(
    (c) => c.payer === payer && c.effective <= date && (c.through === undefined || date <= c.through),
  );
}

function codeMatches(code: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    const [from, to] = p.split('-');
    return to === undefined
      ? code === from
      : code.length === (from ?? '').length && code >= (from ?? '') && code <= to;
  });
}

/** Whether a term's `match` admits the line (no match: every line). */
export function termMatches(
  match: TermMatch | undefined,
  line: ExpectedLineInput,
  references: ReferenceRates,
): boolean {
  if (!match) {
    return true;
  }
  if (match.codes && !codeMatches(line.code, match.codes)) {
    return false;
  }
  if (match.drugs !== undefined && references.isDrug(line.code, line.date) !== match.drugs) {
    return false;
  }
  if (match.modifiers && !match.modifiers.some((m) => (line.modifiers ?? []).includes(m))) {
    return false;
  }
  return true;
}

const usd = (x: number): string => `$${x.toFixed(2)}`;

/** The amount a term gives the line, or undefined when the term does not price it. */
function priceBy(
  term: ContractTerm,
  line: ExpectedLineInput,
  references: ReferenceRates,
):
  | (Pick<ExpectedAllowed, 'amount' | 'perUnit' | 'basis' | 'unverified'> & { description: string })
  | undefined {
  switch (term.kind) {
    case 'fee-schedule': {
      const rate = term.rates[line.code];
      if (rate === undefined) {
        return undefined;
      }
      return {
        amount: round2(rate * line.units),
        perUnit: rate,
        description: `fee schedule ${usd(rate)} per unit`,
        basis: `${usd(rate)} × ${line.units} unit(s)${term.ratesFile ? ` (${term.ratesFile.split(/[\\/]/).at(-1) ?? ''})` : ''}`,
        unverified: false,
      };
    }
    case 'percent-of-reference': {
      const reference = references.rate(term.reference, line.code, line.date);
      if (!reference) {
        return undefined;
      }
      const perUnit = (reference.perUnit * term.percent) / 100;
      return {
        amount: round2(perUnit * line.units),
        perUnit,
        description: `${term.percent} % of ${term.reference}`,
        basis: `${term.percent} % × ${reference.perUnit.toFixed(4)} × ${line.units} unit(s); ${reference.basis}`,
        unverified: !reference.verified,
      };
    }
    case 'percent-of-billed': {
      if (line.charge === undefined) {
        return undefined;
      }
      return {
        amount: round2((line.charge * term.percent) / 100),
        description: `${term.percent} % of billed charges`,
        basis: `${term.percent} % × charge ${usd(line.charge)}`,
        unverified: false,
      };
    }
  }
}

/**
 * The allowed amount the payer's contract expects for a line, naming the contract and term used;
 * undefined when no contract is in force or no term prices the line.
 */
export function expectedAllowed(input: {
  readonly contracts: readonly Contract[];
  readonly payer: string;
  readonly line: ExpectedLineInput;
  readonly references: ReferenceRates;
}): ExpectedAllowed | undefined {
  const { line, references } = input;
  const contract = contractFor(input.contracts, input.payer, line.date);
  if (!contract) {
    return undefined;
  }
  const ordered = [...contract.terms.filter((t) => t.carveOut), ...contract.terms.filter((t) => !t.carveOut)];
  for (const term of ordered) {
    if (!termMatches(term.match, line, references)) {
      continue;
    }
    const priced = priceBy(term, line, references);
    if (!priced) {
      continue;
    }
    const { description, ...rest } = priced;
    return {
      ...rest,
      contract: { id: contract.id, name: contract.name, source: contract.source },
      term: {
        id: term.id,
        kind: term.kind,
        carveOut: term.carveOut === true,
        description: `${term.carveOut ? 'carve-out: ' : ''}${description}`,
        ...(term.note ? { note: term.note } : {}),
      },
    };
  }
  return undefined;
}
