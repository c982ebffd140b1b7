/** Compact builders for coding-engine scenarios (real tables from src/coding/tables). */
import { loadCodingTables } from '../../../src/coding/tables/load.ts';
import type { CodingTables } from '../../../src/coding/tables/types.ts';
import type {
  CareSetting,
  ChargeLine,
  CodingInput,
  DocumentedAdministration,
  EncounterContext,
  PayerKind,
  TenantCodingOptions,
} from '../../../src/coding/types.ts';

export const TABLES: CodingTables = loadCodingTables();
export const DAY = '2025-03-10';

/** "09:15" → DAY 09:15Z; "+1 02:00" → next day; full ISO passes through. */
export function at(t: string, day = DAY): string {
  if (t.includes('T')) {
    return t;
  }
  const m = /^\+(\d+) (\d{2}:\d{2})$/.exec(t);
  if (m) {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + Number(m[1]));
    return `${d.toISOString().slice(0, 10)}T${m[2]}:00Z`;
  }
  return `${day}T${t}:00Z`;
}

export type AdmExtra = Partial<Omit<DocumentedAdministration, 'id' | 'drug'>> & { day?: string };

/** An administration of a drug given by HCPCS (or `{ndc}` / `{rxnorm}` / `{text}`). */
export function adm(
  id: string,
  drug: string | DocumentedAdministration['drug'],
  start: string | undefined,
  end: string | undefined,
  extra: AdmExtra = {},
): DocumentedAdministration {
  const { day, ...rest } = extra;
  const d = typeof drug === 'string' ? { hcpcs: drug } : drug;
  const entry = TABLES.drugs.drugs.find((x) => x.hcpcs === d.hcpcs);
  return {
    id,
    encounterId: 'E1',
    status: 'completed',
    drug: d,
    route: 'intravenous',
    ...(entry ? { dose: { value: entry.billingUnit.value, unit: entry.billingUnit.unit } } : {}),
    ...(start !== undefined ? { start: at(start, day) } : {}),
    ...(end !== undefined ? { end: at(end, day) } : {}),
    ordered: true,
    ...rest,
  };
}

export function visit(
  id: string,
  start?: string,
  end?: string,
  extra: Partial<EncounterContext> = {},
): EncounterContext {
  return {
    id,
    kind: 'visit',
    ...(start ? { start: at(start) } : {}),
    ...(end ? { end: at(end) } : {}),
    diagnoses: ['K50.90'],
    ...extra,
  };
}

export function input(
  setting: CareSetting,
  administrations: DocumentedAdministration[],
  opts: { payer?: PayerKind; encounters?: EncounterContext[]; options?: TenantCodingOptions } = {},
): CodingInput {
  return {
    setting,
    payer: opts.payer ?? 'medicare',
    encounters: opts.encounters ?? [visit('E1')],
    administrations,
    ...(opts.options ? { options: opts.options } : {}),
  };
}

/** "96366x2", "J1745x5-JW", "J1745x0!held" (a held line), with "@date" when asked. */
export function show(l: ChargeLine, withDate = false): string {
  const mods = l.modifiers.length > 0 ? `-${l.modifiers.join('-')}` : '';
  return `${l.code.code}x${l.units}${mods}${l.hold ? '!held' : ''}${withDate ? `@${l.dateOfService}` : ''}`;
}
