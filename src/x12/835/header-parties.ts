/**
 * The 835 header's parties, loops 1000A (payer, N1*PR) and 1000B (payee, N1*PE), as they are read
 * (005010X221A1 table 1): the N1 that opens each, then its N3 / N4 address, PER contacts and, for
 * the payee only, RDM. REF is read by the transaction reader (it also belongs to the header).
 */
import { readN1, readPer } from './segments.ts';
import type { Party835, Qualified } from './types.ts';
import type { Elements } from './values.ts';

/** A party being read: its lists grow as its segments arrive. */
export interface PartyDraft {
  name?: string;
  idQualifier?: string;
  id?: string;
  address?: { lines: string[]; city?: string; state?: string; postalCode?: string; country?: string };
  references: Qualified<string>[];
  contacts: { function: string; name?: string; numbers: readonly Qualified<string>[] }[];
}

export const emptyParty = (): PartyDraft & Party835 => ({ references: [], contacts: [] });

/**
 * The party an N1 opens, named and identified as it says, and whose it is: the header holds the
 * payer (N1*PR) then the payee (N1*PE), once each; the payee's N103/N104 are required. Anything
 * else is a fault, and its details are still read into a party nobody keeps.
 */
export function openParty(
  e: Elements,
  read: { readonly payer: PartyDraft | undefined; readonly payee: PartyDraft | undefined },
): { readonly role: 'payer' | 'payee' | undefined; readonly party: PartyDraft } {
  const n1 = readN1(e);
  const party: PartyDraft = {
    ...emptyParty(),
    ...(n1.name ? { name: n1.name } : {}),
    ...(n1.idQualifier ? { idQualifier: n1.idQualifier } : {}),
    ...(n1.id ? { id: n1.id } : {}),
  };
  if (n1.entity === 'PR' && !read.payer && !read.payee) {
    return { role: 'payer', party };
  }
  if (n1.entity === 'PE' && !read.payee) {
    if (!n1.idQualifier) {
      e.fault(
        'required',
        'N103/N104 (the payee identification: XX NPI, FI tax id, XV plan id) are required',
        {
          element: 'N103',
        },
      );
    }
    return { role: 'payee', party };
  }
  e.fault(
    'segment-order',
    `N1*${n1.entity}: the header holds the payer (N1*PR) then the payee (N1*PE), once each`,
  );
  return { role: undefined, party };
}

/**
 * An N3, N4, PER or RDM of the party being read (`party`; undefined when no N1 opened one, a fault).
 * `isPayee`: RDM (remittance delivery method) belongs to loop 1000B only.
 */
export function readPartyDetail(e: Elements, party: PartyDraft | undefined, isPayee: boolean): void {
  const id = e.segment.id;
  if (!party) {
    e.fault('segment-order', `${id} outside loop 1000A/1000B (no N1 before it)`);
    return;
  }
  if (id === 'N3') {
    const lines = [e.required(1, 'address information'), e.text(2)].filter(
      (l): l is string => l !== undefined,
    );
    party.address = { ...(party.address ?? {}), lines: [...(party.address?.lines ?? []), ...lines] };
  } else if (id === 'N4') {
    const city = e.text(1);
    const state = e.text(2);
    const postalCode = e.text(3);
    const country = e.text(4);
    party.address = {
      lines: party.address?.lines ?? [],
      ...(city ? { city } : {}),
      ...(state ? { state } : {}),
      ...(postalCode ? { postalCode } : {}),
      ...(country ? { country } : {}),
    };
  } else if (id === 'PER') {
    party.contacts.push(readPer(e));
  } else if (id === 'RDM' && !isPayee) {
    e.fault('segment-order', 'RDM (remittance delivery method) belongs to the payee (loop 1000B)');
  }
}
