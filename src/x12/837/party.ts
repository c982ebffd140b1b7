/**
 * The person and place segments several 837 loops share: NM1 for an individual (2010BA subscriber,
 * 2010CA patient), N3/N4 for an address and DMG for a birth date and gender. Each refuses, with
 * X12Error, what the 837 cannot carry (no family name, no street and city, a bad US ZIP code).
 */
import type { Address, HumanName } from '@medplum/fhirtypes';
import { d8, id, segment, text, X12Error } from '../encode.ts';

/** NM1 for an individual: entity IL (subscriber) or QC (patient), name parts, then `idElements`. */
export function nameSegments(
  entity: 'IL' | 'QC',
  name: HumanName | undefined,
  idElements: readonly string[],
  claimId: string,
): string {
  const last = text(name?.family, 60);
  if (!last) {
    throw new X12Error(`${entity === 'IL' ? 'subscriber' : 'patient'} has no family name`, claimId);
  }
  return segment(
    'NM1',
    entity,
    '1',
    last,
    text(name?.given?.[0], 35),
    text(name?.given?.[1], 25),
    '',
    text(name?.suffix?.[0], 10),
    ...idElements,
  );
}

/** N3/N4 of an address (none when it is optional and has no street or city). */
export function addressSegments(
  address: Address | undefined,
  what: string,
  claimId: string,
  required: boolean,
): string[] {
  const line1 = text(address?.line?.[0], 55);
  if (!line1 || !address?.city) {
    if (required) {
      throw new X12Error(`${what} has no street address and city`, claimId);
    }
    return [];
  }
  const country = address.country && !/^(US|USA)$/i.test(address.country) ? text(address.country, 3) : '';
  const postal = (address.postalCode ?? '').replace(/[\s-]/g, '');
  if (!country && !/^(\d{5}|\d{9})$/.test(postal)) {
    throw new X12Error(`${what} postal code "${address.postalCode ?? ''}" must be 5 or 9 digits`, claimId);
  }
  return [
    segment('N3', line1, text(address.line?.[1], 55)),
    segment(
      'N4',
      text(address.city, 30),
      country ? '' : id(address.state, `${what} state`, 2, claimId),
      postal,
      country,
    ),
  ];
}

/** DMG: birth date (D8) and gender (M, F, U). */
export function demographics(
  birthDate: string | undefined,
  gender: string | undefined,
  claimId: string,
): string {
  const g = gender === 'male' ? 'M' : gender === 'female' ? 'F' : 'U';
  return segment('DMG', 'D8', d8(birthDate, 'patient birth date', claimId), g);
}
