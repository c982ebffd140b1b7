/**
 * The Medicare reference payment of a drug line, from the CMS quarter table of its date of service:
 * the ASP payment limit per billing unit (ASP + 6%, the amount Part B allows per unit in the office
 * and for separately payable OPPS drugs) × units; zero for a drug OPPS packages (status indicator N)
 * on an institutional claim (R14.2, HCPRO-0636: reported, not paid separately). The remittance check
 * compares what a payer paid with it; commercial contracts differ and are not modelled here.
 */
import { quarterFor } from '../tables/cms.ts';
import type { CmsDrug, CodingTables } from '../tables/types.ts';
import type { ExpectedPayment } from '../types.ts';

/** OPPS status indicators of drugs paid only inside the procedure they go with. */
const PACKAGED = new Set(['N']);

export function isPackaged(cms: CmsDrug | undefined): boolean {
  return cms?.statusIndicator !== undefined && PACKAGED.has(cms.statusIndicator);
}

/**
 * Whether OPPS packages `code` on `dateOfService` (the CMS table of that quarter): the engine leaves
 * JW/JZ off such lines on institutional claims (R10.3), and the scrubber reads the same fact here.
 */
export function isPackagedOn(tables: CodingTables, code: string, dateOfService: string): boolean {
  return isPackaged(quarterFor(tables.cms, dateOfService).quarter.drugs.get(code));
}

export function expectedPayment(
  cms: CmsDrug | undefined,
  quarter: string,
  units: number,
  institutional: boolean,
): ExpectedPayment {
  const common = {
    quarter,
    ...(cms?.statusIndicator ? { statusIndicator: cms.statusIndicator } : {}),
    ...(cms?.coinsurance !== undefined ? { coinsurancePercent: cms.coinsurance } : {}),
  };
  if (institutional && isPackaged(cms)) {
    return { basis: 'opps-packaged', ...common, perUnit: 0, amount: 0 };
  }
  if (cms?.paymentLimit === undefined) {
    return { basis: 'not-priced', ...common };
  }
  return {
    basis: 'asp-limit',
    ...common,
    perUnit: cms.paymentLimit,
    amount: Math.round(cms.paymentLimit * units * 100) / 100,
  };
}
