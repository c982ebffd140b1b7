/**
 * Loop 2400, the service lines: reading each Claim.item as an 837 line (procedure and modifiers,
 * revenue code on 837I, units, charge, dates, diagnosis pointers, place of service, the NDC of
 * loop 2410) and writing LX, SV1 (837P) or SV2 (837I), DTP*472, REF*6R (the line item control
 * number every line carries, for matching remittances) and LIN/CTP.
 *
 * 005010X222A1 / X223A2 loop 2400: at most 4 modifiers; SV107 diagnosis pointers required on 837P
 * (at most 4, each within the first 12 diagnoses); SV201 revenue code required on 837I.
 */
import type { ClaimItem } from '@medplum/fhirtypes';
import { normalizeNdc } from '../../coding/ndc.ts';
import { composite, d8, decimal, digits, id, segment, X12Error } from '../encode.ts';
import { cents, firstCode, SYS } from './claim-reading.ts';
import type { Claim837Input, X12Kind } from './types.ts';
import { EXT_CHARGE_AMOUNT } from '../../contract/canonical.ts';
import { EXT_LINE_ITEM_CONTROL_NUMBER } from '../../contract/remittance.ts';

/** Unit qualifiers for CTP05-01 (coding-rules R11.4); GM and MG are accepted as their X12 spellings. */
const NDC_UNITS: Readonly<Record<string, string>> = {
  UN: 'UN',
  ML: 'ML',
  GR: 'GR',
  GM: 'GR',
  F2: 'F2',
  ME: 'ME',
  MG: 'ME',
};

/**
 * The line item control number of an item (837 loop 2400 REF*6R, which payers echo in the 835's
 * loop 2110 REF*6R so the payment of each line can be matched to it): the item's own
 * (extension line-item-control-number), else `<claim id>.<item sequence>` — unique across claims
 * and within 50 characters (REF02). 005010X222A1 / X223A2 loop 2400 REF (line item control number).
 */
export function lineItemControlNumber(
  claimId: string,
  item: Pick<ClaimItem, 'sequence' | 'extension'>,
): string {
  const own = item.extension?.find((e) => e.url === EXT_LINE_ITEM_CONTROL_NUMBER)?.valueString?.trim();
  return own || `${claimId}.${item.sequence}`;
}

/** One Claim.item as an 837 service line. */
export interface Line {
  readonly item: ClaimItem;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly charge: number;
  readonly date: string;
  readonly dateEnd?: string;
  readonly revenue?: string;
  readonly pos?: string;
  readonly pointers: readonly number[];
  readonly ndc?: { code: string; quantity: number; unit: string };
}

/** The claim's items in sequence order as 837 lines: at most 50 on 837P, 999 on 837I. */
export function readLines(
  ctx: Claim837Input,
  kind: X12Kind,
  hiPosition: ReadonlyMap<number, number>,
  claimId: string,
): Line[] {
  const items = [...(ctx.claim.item ?? [])].sort((a, b) => a.sequence - b.sequence);
  if (items.length === 0) {
    throw new X12Error('has no lines', claimId);
  }
  const maxLines = kind === '837P' ? 50 : 999;
  if (items.length > maxLines) {
    throw new X12Error(`has ${items.length} lines; ${kind} carries at most ${maxLines} per claim`, claimId);
  }
  return items.map((item) => lineOf(item, ctx, kind, hiPosition));
}

/** One item as a line; X12Error names what it lacks (units, a pointer, an NDC quantity...). */
function lineOf(
  item: ClaimItem,
  ctx: Claim837Input,
  kind: X12Kind,
  hiPosition: ReadonlyMap<number, number>,
): Line {
  const claimId = ctx.claim.id;
  const at = `item ${item.sequence}`;
  const coding = item.productOrService.coding ?? [];
  const codeValue =
    coding.find((c) => /cpt|hcpcs/i.test(c.system ?? ''))?.code ??
    coding.find((c) => c.system !== SYS.ndc)?.code;
  const revenueRaw = firstCode(item.revenue);
  const revenue =
    revenueRaw !== undefined
      ? digits(revenueRaw.padStart(4, '0'), `${at} revenue code`, [4], claimId)
      : undefined;
  if (kind === '837I' && !revenue) {
    throw new X12Error(`${at} has no revenue code (SV201 is required on 837I)`, claimId);
  }
  const code =
    codeValue !== undefined || kind === '837P' ? id(codeValue, `${at} procedure code`, 48, claimId) : '';
  const modifiers = (item.modifier ?? []).map((m) => id(firstCode(m), `${at} modifier`, 2, claimId));
  if (modifiers.length > 4) {
    throw new X12Error(`${at} has ${modifiers.length} modifiers; an 837 line carries at most 4`, claimId);
  }
  const units = item.quantity?.value;
  if (units === undefined || !(units > 0)) {
    throw new X12Error(`${at} has no units (quantity)`, claimId);
  }
  // SV102 / SV203: Claim.item.net (the chargemaster line charge of src/claims/build.ts), else a
  // charge-amount extension, else unitPrice × factor × units; rounded to cents so CLM02 balances.
  const unitPrice = item.unitPrice?.value;
  const chargeExt = item.extension?.find((e) => e.url === EXT_CHARGE_AMOUNT)?.valueMoney?.value;
  const charge =
    cents(
      item.net?.value ?? chargeExt ?? (unitPrice !== undefined ? unitPrice * (item.factor ?? 1) * units : 0),
    ) / 100;
  const start = item.servicedDate ?? item.servicedPeriod?.start ?? ctx.claim.billablePeriod?.start;
  const end = item.servicedPeriod?.end;
  const date = d8(start, `${at} date of service`, claimId);
  const dateEnd =
    end !== undefined && d8(end, `${at} end of service`, claimId) !== date
      ? d8(end, `${at} end`, claimId)
      : undefined;
  const pointers = (item.diagnosisSequence ?? []).map((seq) => {
    const p = hiPosition.get(seq);
    if (p === undefined) {
      throw new X12Error(`${at} points to diagnosis ${seq}, which the claim does not carry`, claimId);
    }
    return p;
  });
  if (kind === '837P') {
    if (pointers.length === 0) {
      throw new X12Error(`${at} has no diagnosis pointer (SV107 is required on 837P)`, claimId);
    }
    if (pointers.length > 4 || pointers.some((p) => p > 12)) {
      throw new X12Error(
        `${at} diagnosis pointers must be at most 4, each within the first 12 diagnoses`,
        claimId,
      );
    }
  }
  const pos = firstCode(item.locationCodeableConcept);
  let ndc: Line['ndc'];
  for (const detail of item.detail ?? []) {
    const ndcRaw = detail.productOrService.coding?.find((c) => c.system === SYS.ndc)?.code;
    if (ndcRaw === undefined) {
      continue;
    }
    const ndcCode = normalizeNdc(ndcRaw);
    if (!ndcCode) {
      throw new X12Error(`${at} NDC "${ndcRaw}" is not an 11-digit (5-4-2) NDC`, claimId);
    }
    const q = detail.quantity;
    const unit = NDC_UNITS[(q?.code ?? q?.unit ?? '').toUpperCase()];
    if (q?.value === undefined || !(q.value > 0) || !unit) {
      throw new X12Error(`${at} NDC ${ndcCode} needs a quantity with unit UN, ML, GR, F2 or ME`, claimId);
    }
    ndc = { code: ndcCode, quantity: q.value, unit };
    break;
  }
  return {
    item,
    code,
    modifiers,
    units,
    charge,
    date,
    pointers,
    ...(dateEnd ? { dateEnd } : {}),
    ...(revenue ? { revenue } : {}),
    ...(pos ? { pos: id(pos, `${at} place of service`, 2, claimId) } : {}),
    ...(ndc ? { ndc } : {}),
  };
}

/** Appends loop 2400 of each line to `out`; SV105 only where a line's place differs from the claim's. */
export function writeServiceLines(
  out: string[],
  lines: readonly Line[],
  kind: X12Kind,
  claimPos: string,
  claimId: string,
): void {
  lines.forEach((l, i) => {
    out.push(segment('LX', String(i + 1)));
    const procedure = l.code ? composite('HC', l.code, ...l.modifiers) : '';
    const charge = decimal(l.charge, `item ${l.item.sequence} charge`, 2, claimId);
    const units = decimal(l.units, `item ${l.item.sequence} units`, 3, claimId);
    if (kind === '837P') {
      const pos = l.pos && l.pos !== claimPos ? l.pos : '';
      out.push(segment('SV1', procedure, charge, 'UN', units, pos, '', composite(...l.pointers.map(String))));
    } else {
      out.push(segment('SV2', l.revenue, procedure, charge, 'UN', units));
    }
    out.push(
      l.dateEnd
        ? segment('DTP', '472', 'RD8', `${l.date}-${l.dateEnd}`)
        : segment('DTP', '472', 'D8', l.date),
    );
    out.push(
      segment(
        'REF',
        '6R',
        id(
          lineItemControlNumber(claimId, l.item),
          `item ${l.item.sequence} line item control number`,
          50,
          claimId,
        ),
      ),
    );
    if (l.ndc) {
      out.push(segment('LIN', '', 'N4', l.ndc.code));
      out.push(
        segment(
          'CTP',
          '',
          '',
          '',
          decimal(l.ndc.quantity, `item ${l.item.sequence} NDC quantity`, 3, claimId),
          l.ndc.unit,
        ),
      );
    }
  });
}
