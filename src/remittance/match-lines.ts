/**
 * Which claim line each paid line is (pure). The line item control number the payer echoes (835
 * loop 2110 REF*6R, ours from 837 loop 2400: src/x12/837/lines-2400.ts) decides when present;
 * payers that do not echo it are matched by procedure code and charge, then by code alone,
 * greedily in order, never using a claim line twice (the fallback Ottehr's ERA posting uses:
 * ../shared/research/market.md §1.4). The code compared is the one billed: SVC06 when the payer
 * adjudicated another code, else SVC01. A paid line that matches nothing keeps no item sequence.
 */
import type { Claim, ClaimItem } from '@medplum/fhirtypes';
import { lineItemControlNumber } from '../x12/837/lines-2400.ts';
import type { LineDraft } from './claim-payment.ts';
import type { PostedLine } from './posted.ts';

export type LineMatch = Pick<PostedLine, 'itemSequence' | 'matchedBy'>;

function itemCode(item: ClaimItem): string {
  const coding = item.productOrService.coding ?? [];
  return (
    coding.find((c) => /cpt|hcpcs/i.test(c.system ?? ''))?.code ??
    coding.find((c) => !/ndc/i.test(c.system ?? ''))?.code ??
    ''
  ).toUpperCase();
}

function itemModifiers(item: ClaimItem): string {
  return (item.modifier ?? [])
    .map((m) => m.coding?.[0]?.code ?? '')
    .filter((m) => m !== '')
    .sort()
    .join(',');
}

const cents = (x: number | undefined): number => Math.round((x ?? Number.NaN) * 100);

/** The claim item each line matches, in line order. */
export function matchLines(claim: Claim & { id: string }, lines: readonly LineDraft[]): LineMatch[] {
  const items = [...(claim.item ?? [])].sort((a, b) => a.sequence - b.sequence);
  const used = new Set<number>();
  const out: LineMatch[] = lines.map(() => ({}));
  const byControl = new Map(items.map((i) => [lineItemControlNumber(claim.id, i), i]));
  lines.forEach((line, at) => {
    const item = line.lineItemControlNumber ? byControl.get(line.lineItemControlNumber) : undefined;
    if (item && !used.has(item.sequence)) {
      used.add(item.sequence);
      out[at] = { itemSequence: item.sequence, matchedBy: 'line-item-control-number' };
    }
  });
  const billed = (line: LineDraft): { code: string; modifiers: string } => {
    const p = line.billedProcedure ?? line.procedure;
    return { code: p.code.toUpperCase(), modifiers: [...p.modifiers].sort().join(',') };
  };
  const passes: {
    matchedBy: 'code-and-charge' | 'code';
    fits: (item: ClaimItem, line: LineDraft) => boolean;
  }[] = [
    {
      matchedBy: 'code-and-charge',
      fits: (item, line) =>
        itemCode(item) === billed(line).code &&
        itemModifiers(item) === billed(line).modifiers &&
        cents(item.net?.value) === cents(line.submitted),
    },
    {
      matchedBy: 'code-and-charge',
      fits: (item, line) =>
        itemCode(item) === billed(line).code && cents(item.net?.value) === cents(line.submitted),
    },
    { matchedBy: 'code', fits: (item, line) => itemCode(item) === billed(line).code },
  ];
  for (const pass of passes) {
    lines.forEach((line, at) => {
      if (out[at]?.itemSequence !== undefined) {
        return;
      }
      const item = items.find((i) => !used.has(i.sequence) && pass.fits(i, line));
      if (item) {
        used.add(item.sequence);
        out[at] = { itemSequence: item.sequence, matchedBy: pass.matchedBy };
      }
    });
  }
  return out;
}
