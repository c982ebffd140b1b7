/**
 * Draft lines (before keys, revenue codes and merging) and their finishing: lines with the same
 * encounter, kind, code, modifiers and date are merged (units summed, administrations joined), then
 * each gets its stable key (keys.ts) and, on institutional claims, its revenue code (R14).
 */
import type { ChargeLine, ExpectedPayment, LineRationale, NdcLine } from '../types.ts';
import type { CodingTables } from '../tables/types.ts';
import { lineKey } from './keys.ts';

export interface DraftLine {
  readonly kind: ChargeLine['kind'];
  readonly system: 'CPT' | 'HCPCS';
  readonly code: string;
  readonly label: string;
  readonly units: number;
  modifiers: string[];
  readonly dateOfService: string;
  readonly encounterId: string;
  readonly administrationIds: readonly string[];
  readonly ndc?: NdcLine;
  readonly diagnoses: readonly string[];
  readonly rationale: LineRationale;
  /** An initial administration code (R2.1) — at most one per encounter / site without a distinct modifier. */
  readonly initial?: boolean;
  /** Revenue-code lookup refinement, e.g. the drug's therapy class ("drug:hydration"). */
  readonly revenueHint?: string;
  /** Sort anchor (epoch minutes) so lines come out in clinical order. */
  readonly at: number;
  /** A held line (units unknown: 0); kept, never merged with billable ones. */
  readonly hold?: ChargeLine['hold'];
  readonly payment?: ExpectedPayment;
}

/**
 * A draft line in its one shape: every field, in this order, absent ones undefined. Lines built
 * with optional fields spread in had a shape per combination, and merging/keying them (finishLines)
 * was compiled, thrown away on the next shape and compiled again.
 */
export function draftLine(l: DraftLine): DraftLine {
  return {
    kind: l.kind,
    system: l.system,
    code: l.code,
    label: l.label,
    units: l.units,
    modifiers: l.modifiers,
    dateOfService: l.dateOfService,
    encounterId: l.encounterId,
    administrationIds: l.administrationIds,
    ndc: l.ndc,
    diagnoses: l.diagnoses,
    rationale: l.rationale,
    initial: l.initial,
    revenueHint: l.revenueHint,
    at: l.at,
    hold: l.hold,
    payment: l.payment,
  };
}

function mergeRationale(a: LineRationale, b: LineRationale): LineRationale {
  const minutes =
    a.minutes !== undefined || b.minutes !== undefined ? (a.minutes ?? 0) + (b.minutes ?? 0) : undefined;
  let amounts: Record<string, number> | undefined;
  if (a.amounts || b.amounts) {
    amounts = { ...a.amounts };
    for (const [k, v] of Object.entries(b.amounts ?? {})) {
      amounts[k] = (amounts[k] ?? 0) + v;
    }
  }
  return {
    rule: a.rule,
    sources: [...new Set([...a.sources, ...b.sources])],
    text: `${a.text}; ${b.text}`,
    ...(minutes !== undefined ? { minutes } : {}),
    ...(amounts ? { amounts } : {}),
  };
}

function mergeKey(l: DraftLine): string {
  // Initial codes are never merged: two initials (separate sites / encounters) stay two lines even
  // when the payer uses the same distinct-service modifier for both (59).
  const own = l.initial || l.hold ? [...l.administrationIds].sort().join() : '';
  const modifiers = l.modifiers.length > 1 ? [...l.modifiers].sort().join() : (l.modifiers[0] ?? '');
  // A map key only (never stored): fields joined by a separator no code, id or date contains.
  return `${l.hold?.code ?? ''}\u0000${l.encounterId}\u0000${l.kind}\u0000${l.system}\u0000${l.code}\u0000${modifiers}\u0000${l.dateOfService}\u0000${own}`;
}

/** Merges same-identity lines, drops zero-unit lines (held lines stay), adds revenue codes (institutional) and keys. */
export function finishLines(
  drafts: readonly DraftLine[],
  tables: CodingTables,
  institutional: boolean,
): ChargeLine[] {
  const merged = new Map<string, DraftLine>();
  for (const d of drafts) {
    if (d.units <= 0 && !d.hold) {
      continue;
    }
    const k = mergeKey(d);
    const prev = merged.get(k);
    if (!prev) {
      merged.set(k, d);
      continue;
    }
    merged.set(
      k,
      draftLine({
        ...prev,
        units: prev.units + d.units,
        administrationIds: [...new Set([...prev.administrationIds, ...d.administrationIds])],
        diagnoses: prev.diagnoses,
        rationale: mergeRationale(prev.rationale, d.rationale),
        ndc:
          prev.ndc && d.ndc && prev.ndc.ndc11 === d.ndc.ndc11 && prev.ndc.unit === d.ndc.unit
            ? { ...prev.ndc, quantity: Math.round((prev.ndc.quantity + d.ndc.quantity) * 1000) / 1000 }
            : prev.ndc,
        payment: prev.payment && d.payment ? mergePayment(prev.payment, d.payment) : prev.payment,
        at: Math.min(prev.at, d.at),
      }),
    );
  }
  const byKind = tables.revenueCodes.byKind;
  const lines = [...merged.values()].sort(
    (a, b) =>
      collate(a.dateOfService, b.dateOfService) ||
      collate(a.encounterId, b.encounterId) ||
      kindOrder(a.kind) - kindOrder(b.kind) ||
      a.at - b.at ||
      collate(a.code, b.code) ||
      a.modifiers.join().localeCompare(b.modifiers.join()),
  );
  return lines.map((d) => {
    const administrationIds = [...d.administrationIds].sort();
    const code = { system: d.system, code: d.code, label: d.label };
    const modifiers = [...d.modifiers];
    const revenueCode = institutional
      ? ((d.revenueHint ? byKind[d.revenueHint] : undefined) ?? byKind[d.kind])
      : undefined;
    // One object per line, its fields in the order ChargeLine has always been written in.
    return {
      key: lineKey({
        kind: d.kind,
        code,
        modifiers,
        dateOfService: d.dateOfService,
        encounterId: d.encounterId,
        administrationIds,
      }),
      kind: d.kind,
      code,
      units: d.units,
      modifiers,
      dateOfService: d.dateOfService,
      encounterId: d.encounterId,
      administrationIds,
      ...(d.ndc ? { ndc: d.ndc } : {}),
      ...(revenueCode ? { revenueCode } : {}),
      diagnoses: d.diagnoses,
      rationale: d.rationale,
      ...(d.hold ? { hold: d.hold } : {}),
      ...(d.payment ? { payment: d.payment } : {}),
    };
  });
}

function mergePayment(a: ExpectedPayment, b: ExpectedPayment): ExpectedPayment {
  return a.amount !== undefined && b.amount !== undefined
    ? { ...a, amount: Math.round((a.amount + b.amount) * 100) / 100 }
    : a;
}

const KIND_ORDER: readonly ChargeLine['kind'][] = [
  'administration',
  'home-professional',
  'home-nursing',
  'home-per-diem',
  'drug',
  'drug-waste',
  'supply',
];

function kindOrder(kind: ChargeLine['kind']): number {
  return KIND_ORDER.indexOf(kind);
}

/** localeCompare, skipped for equal strings (most lines of an encounter share its date and id). */
function collate(a: string, b: string): number {
  return a === b ? 0 : a.localeCompare(b);
}
