/**
 * Checks of what the lines bill, against the coding tables and the payer's rules: NCCI PTP pairs
 * and MUE units (src/coding/tables; UNVERIFIED entries only warn), medical necessity
 * (rules/medical-necessity.json), payer rules (NDC required, refused codes, JW/JZ as
 * src/coding/engine/waste-modifiers.ts reads them), and charges the coding engine holds.
 */
import { isPackagedOn } from '../../coding/engine/payment.ts';
import { checkWasteModifiers } from '../../coding/engine/waste-modifiers.ts';
import { SYSTEMS } from '../../coding/fhir/extract.ts';
import type { CodingTables, MueEntry } from '../../coding/tables/types.ts';
import type { ClaimContext } from '../types.ts';
import type { Findings, Line } from './findings.ts';
import { claimDiagnosisCodes } from './findings.ts';
import type { ClaimRules } from './rules.ts';
import { EXT_CODING_RATIONALE } from '../../contract/canonical.ts';

/** Distinct-service modifiers that bypass an NCCI indicator-1 edit (R13.3). */
const NCCI_BYPASS = new Set(['59', 'XE', 'XS', 'XP', 'XU']);

export function checkNcci(tables: CodingTables, lines: readonly Line[], f: Findings): void {
  for (const pair of tables.ncci.pairs) {
    if (pair.modifierIndicator === '9') {
      continue;
    }
    for (const c1 of lines.filter((l) => l.code === pair.column1)) {
      for (const c2 of lines.filter((l) => l.code === pair.column2 && l.date === c1.date)) {
        const bypassed = c2.modifiers.some((m) => NCCI_BYPASS.has(m));
        if (pair.modifierIndicator === '1' && bypassed) {
          continue;
        }
        f.add(
          'ncci-ptp',
          pair.modifierIndicator === '0'
            ? `${c2.code} (line ${c2.sequence}) is bundled into ${c1.code} (line ${c1.sequence}) on ${c1.date}; modifier indicator 0: no modifier allows it.`
            : `${c2.code} (line ${c2.sequence}) is bundled into ${c1.code} (line ${c1.sequence}) on ${c1.date} without a distinct-service modifier (indicator 1).`,
          {
            itemSequence: c2.sequence,
            verification: pair.verification,
            ...(pair.rule ? { source: `coding-rules ${pair.rule}` } : {}),
            ...(pair.modifierIndicator === '0'
              ? {
                  overridable: false,
                  fix: `Remove ${c2.code}: it is never payable with ${c1.code} on the same date.`,
                }
              : {}),
          },
        );
      }
    }
  }
}

/** MUE entries by setting and code, in table order; built once per loaded table. */
const mueIndexes = new WeakMap<CodingTables['mue'], Map<string, { entry: MueEntry; order: number }[]>>();

/** The table's entries for the setting and any of the codes, in table order (the order of findings). */
function mueEntriesFor(tables: CodingTables, setting: string, codes: Iterable<string>): MueEntry[] {
  let index = mueIndexes.get(tables.mue);
  if (!index) {
    const built = new Map<string, { entry: MueEntry; order: number }[]>();
    tables.mue.entries.forEach((entry, order) => {
      const key = `${entry.setting}|${entry.code}`;
      built.set(key, [...(built.get(key) ?? []), { entry, order }]);
    });
    index = built;
    mueIndexes.set(tables.mue, index);
  }
  const found = [...new Set(codes)].flatMap((code) => index.get(`${setting}|${code}`) ?? []);
  return found.sort((a, b) => a.order - b.order).map((x) => x.entry);
}

export function checkMue(ctx: ClaimContext, tables: CodingTables, lines: readonly Line[], f: Findings): void {
  const setting = ctx.setting === 'hospital-outpatient' ? 'outpatient-hospital' : 'practitioner';
  for (const entry of mueEntriesFor(
    tables,
    setting,
    lines.map((l) => l.code),
  )) {
    const matching = lines.filter((l) => l.code === entry.code);
    const groups =
      entry.mai === 1
        ? matching.map((l) => ({ key: `line ${l.sequence}`, lines: [l] }))
        : [...new Set(matching.map((l) => l.date))].sort().map((date) => ({
            key: date,
            lines: matching.filter((l) => l.date === date),
          }));
    for (const group of groups) {
      const units = group.lines.reduce((sum, l) => sum + l.units, 0);
      if (units > entry.units) {
        const first = group.lines[0] as Line;
        f.add(
          'mue',
          `${entry.code}: ${units} units on ${entry.mai === 1 ? group.key : `date of service ${group.key}`} exceed the MUE of ${entry.units} (MAI ${entry.mai}).`,
          {
            itemSequence: first.sequence,
            verification: entry.verification,
            ...(entry.source ? { source: entry.source } : {}),
            ...(entry.mai === 2 ? { overridable: false } : {}),
          },
        );
      }
    }
  }
}

export function checkMedicalNecessity(
  ctx: ClaimContext,
  rules: ClaimRules,
  lines: readonly Line[],
  f: Findings,
): void {
  const codes = claimDiagnosisCodes(ctx.claim);
  const all = [...codes.values()];
  for (const line of lines) {
    const entry = rules.medicalNecessity.find((e) => e.hcpcs.includes(line.code));
    if (!entry) {
      continue;
    }
    const lineCodes = (line.item.diagnosisSequence ?? [])
      .map((p) => codes.get(p))
      .filter((c) => c !== undefined);
    const supports = (c: string): boolean => entry.covered.some((prefix) => c.startsWith(prefix));
    if (lineCodes.some(supports)) {
      continue;
    }
    const onClaim = all.find(supports);
    f.add(
      'med-necessity',
      onClaim
        ? `Line ${line.sequence} (${line.code}, ${entry.name}) does not point at ${onClaim}, the claim diagnosis that supports it.`
        : `No claim diagnosis (${all.join(', ') || 'none'}) supports ${line.code} (${entry.name}); covered: ${entry.covered.join(', ')}.`,
      { itemSequence: line.sequence, source: `${entry.source} [${entry.verification}]` },
    );
  }
}

export function checkPayerRules(
  ctx: ClaimContext,
  tables: CodingTables,
  lines: readonly Line[],
  f: Findings,
): void {
  const rules = tables.payers[ctx.payer.kind];
  for (const line of lines) {
    const at = { itemSequence: line.sequence, source: `payer-${ctx.payer.kind}.json` };
    if (rules.refusedCodes.includes(line.code)) {
      f.add(
        'payer-refused-code',
        `${ctx.payer.name} does not accept ${line.code} (line ${line.sequence}).`,
        at,
      );
    }
    if (!line.drug) {
      continue;
    }
    const hasNdc = (line.item.detail ?? []).some((d) =>
      d.productOrService.coding?.some((c) => c.system === SYSTEMS.ndc && /^[0-9]{11}$/.test(c.code ?? '')),
    );
    if (rules.ndcRequired && !hasNdc) {
      f.add(
        'payer-ndc-required',
        `Drug line ${line.sequence} (${line.code}) has no 11-digit NDC; ${ctx.payer.name} requires it.`,
        at,
      );
    }
  }
  // JW/JZ: the reading the coding engine emits (src/coding/engine/waste-modifiers.ts).
  const waste = checkWasteModifiers(
    rules.wasteModifiers,
    lines.map((line) => {
      const ndc = line.item.detail
        ?.flatMap((d) => d.productOrService.coding ?? [])
        .find((c) => c.system === SYSTEMS.ndc)?.code;
      return {
        sequence: line.sequence,
        code: line.code,
        date: line.date,
        modifiers: line.modifiers,
        container: line.drug?.container,
        // OPPS packaged (status N) on an institutional claim: JW/JZ do not apply (R10.3).
        packaged: ctx.setting === 'hospital-outpatient' && isPackagedOn(tables, line.code, line.date),
        ...(ndc ? { ndc } : {}),
      };
    }),
  );
  for (const finding of waste) {
    f.add('payer-jw-jz', finding.message, {
      itemSequence: finding.sequence,
      source: `payer-${ctx.payer.kind}.json; coding-rules ${finding.rule}`,
    });
  }
}

/**
 * Lines the coding engine holds (ChargeItem `planned`: the drug was given, its code is known, its
 * units are not) are not on the claim; the claim waits for them rather than go out without them.
 */
export function checkHeldCharges(ctx: ClaimContext, f: Findings): void {
  for (const charge of ctx.chargeItems.filter((c) => c.status === 'planned')) {
    const code = charge.code?.coding?.find((c) => c.code !== undefined)?.code ?? 'a charge';
    const why = charge.extension
      ?.find((e) => e.url === EXT_CODING_RATIONALE)
      ?.extension?.find((e) => e.url === 'text')?.valueString;
    f.add('charge-held', `${code} is held by coding and not on the claim${why ? `: ${why}` : ''}.`);
  }
}
