/**
 * What-if reimbursement (pure): what a set of claim lines would be allowed under the tenant's
 * contracts as they are, and under a scenario — another payer mix (each line priced by every payer
 * of the mix, weighted by its share) and/or other contract terms (a payer's lines priced by another
 * contract of the same contracts file, e.g. a proposed one). Every amount comes from
 * `expectedAllowed` (./expected.ts), the function the underpayment check reads, so a what-if and
 * the variance of a real payment price a line the same way.
 *
 * "Allowed" is what the clinic is paid in all for the line: the payer's payment plus the patient's
 * share. A line no contract term prices is counted in `notPriced` and adds nothing (so a scenario
 * is never flattered by a line it cannot price: compare `notPriced` too).
 */
import type { Contract } from '../../config/contracts-file.ts';
import { round2 } from '../amounts.ts';
import type { ExpectedLineInput } from './expected.ts';
import { expectedAllowed } from './expected.ts';
import type { ReferenceRates } from './references.ts';

export interface WhatIfLine extends ExpectedLineInput {
  readonly claim: string;
  /** The payer the line was billed to (tenant payer id). */
  readonly payer: string;
}

export interface WhatIfScenario {
  /** Payer id → share (0..1, summing to 1): every line priced by each, weighted. Unset: as billed. */
  readonly mix?: Readonly<Record<string, number>>;
  /** Payer id → contract id (of the same contracts): that payer's lines priced by that contract's terms. */
  readonly contracts?: Readonly<Record<string, string>>;
}

export interface PayerAmount {
  readonly payer: string;
  readonly share: number;
  readonly allowed: number;
  readonly notPriced: number;
}

export interface WhatIfSide {
  readonly allowed: number;
  readonly notPriced: number;
  readonly byPayer: readonly PayerAmount[];
}

export interface WhatIfResult {
  readonly claims: number;
  readonly lines: number;
  readonly billed: number;
  readonly current: WhatIfSide;
  readonly scenario: WhatIfSide;
  /** scenario.allowed − current.allowed. */
  readonly difference: number;
}

export class WhatIfError extends Error {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(message);
    this.parameter = parameter;
  }
}

/** The contracts a scenario prices by: a named contract stands in for the payer's own, at any date. */
export function scenarioContracts(
  contracts: readonly Contract[],
  swaps: Readonly<Record<string, string>> = {},
): Contract[] {
  const swapped = Object.entries(swaps).map(([payer, id]) => {
    const contract = contracts.find((c) => c.id === id);
    if (!contract) {
      throw new WhatIfError(
        'contract',
        `No contract "${id}" in the tenant's contracts (${contracts.map((c) => c.id).join(', ') || 'none'})`,
      );
    }
    const { through: _through, ...rest } = contract;
    return { ...rest, payer, effective: '0000-01-01' };
  });
  return [...swapped, ...contracts.filter((c) => swaps[c.payer] === undefined)];
}

function side(
  lines: readonly WhatIfLine[],
  contracts: readonly Contract[],
  references: ReferenceRates,
  mix: Readonly<Record<string, number>> | undefined,
): WhatIfSide {
  const payers = new Map<string, { share: number; allowed: number; notPriced: number }>();
  let allowed = 0;
  let notPriced = 0;
  for (const line of lines) {
    const shares: [string, number][] = mix ? Object.entries(mix) : [[line.payer, 1]];
    for (const [payer, share] of shares) {
      const p = payers.get(payer) ?? { share: mix ? share : 0, allowed: 0, notPriced: 0 };
      const expected = expectedAllowed({ contracts, payer, line, references });
      if (expected) {
        p.allowed += expected.amount * share;
        allowed += expected.amount * share;
      } else {
        p.notPriced += 1;
        notPriced += share;
      }
      if (!mix) {
        p.share += 1 / lines.length;
      }
      payers.set(payer, p);
    }
  }
  return {
    allowed: round2(allowed),
    notPriced: Math.round(notPriced * 100) / 100,
    byPayer: [...payers.entries()]
      .map(([payer, p]) => ({
        payer,
        share: Math.round(p.share * 10_000) / 10_000,
        allowed: round2(p.allowed),
        notPriced: p.notPriced,
      }))
      .sort((a, b) => a.payer.localeCompare(b.payer)),
  };
}

/** Checks a mix: known payers, shares in (0, 1] summing to 1 (within a hundredth of a percent). */
export function checkMix(mix: Readonly<Record<string, number>>, payers: readonly string[]): void {
  const entries = Object.entries(mix);
  if (entries.length === 0) {
    throw new WhatIfError('mix', 'The mix names no payer');
  }
  for (const [payer, share] of entries) {
    if (!payers.includes(payer)) {
      throw new WhatIfError('mix', `Unknown payer "${payer}" in the mix (payers: ${payers.join(', ')})`);
    }
    if (!Number.isFinite(share) || share <= 0 || share > 1) {
      throw new WhatIfError('mix', `The share of "${payer}" must be in (0, 1], got ${share}`);
    }
  }
  const total = entries.reduce((s, [, share]) => s + share, 0);
  if (Math.abs(total - 1) > 0.0001) {
    throw new WhatIfError('mix', `The shares add up to ${total}, not 1`);
  }
}

export function whatIf(input: {
  readonly lines: readonly WhatIfLine[];
  readonly contracts: readonly Contract[];
  readonly references: ReferenceRates;
  readonly scenario: WhatIfScenario;
}): WhatIfResult {
  const { lines, references, scenario } = input;
  const current = side(lines, input.contracts, references, undefined);
  const next = side(lines, scenarioContracts(input.contracts, scenario.contracts), references, scenario.mix);
  return {
    claims: new Set(lines.map((l) => l.claim)).size,
    lines: lines.length,
    billed: round2(lines.reduce((s, l) => s + (l.charge ?? 0), 0)),
    current,
    scenario: next,
    difference: round2(next.allowed - current.allowed),
  };
}
