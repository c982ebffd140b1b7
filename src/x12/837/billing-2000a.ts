/**
 * Loop 2000A, the billing provider: HL (level 20), PRV*BI with its taxonomy, and loop 2010AA (NM1*85
 * with the NPI, N3/N4, REF*EI with the tax id).
 */
import { digits, id, npi, segment, text } from '../encode.ts';
import { addressSegments } from './party.ts';
import type { BillingProvider837 } from './types.ts';

/** Appends loop 2000A (HL 1) to `out`. */
export function writeBillingProvider(out: string[], provider: BillingProvider837, claimId: string): void {
  out.push(segment('HL', '1', '', '20', '1'));
  out.push(segment('PRV', 'BI', 'PXC', id(provider.taxonomy, 'billing provider taxonomy', 50, claimId)));
  out.push(
    segment(
      'NM1',
      '85',
      '2',
      text(provider.name, 60),
      '',
      '',
      '',
      '',
      'XX',
      npi(provider.npi, 'billing provider NPI', claimId),
    ),
  );
  out.push(
    ...addressSegments(
      {
        line: [...provider.address.line],
        city: provider.address.city,
        state: provider.address.state,
        postalCode: provider.address.postalCode,
      },
      'billing provider',
      claimId,
      true,
    ),
  );
  out.push(segment('REF', 'EI', digits(provider.taxId, 'billing provider tax id', [9], claimId)));
}
