/**
 * Which X12 service types (1365) an eligibility inquiry asks about, from ./service-types.json (data,
 * with its sources): 30 always, the care setting's own, and chemotherapy for a chemotherapy order.
 * Loaded and checked once; pure after that.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CareSetting } from '../../coding/types.ts';

export interface ServiceTypeTable {
  readonly labels: Readonly<Record<string, string>>;
  readonly always: readonly string[];
  readonly bySetting: Readonly<Record<CareSetting, readonly string[]>>;
  readonly chemotherapy: readonly string[];
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), 'service-types.json');
const CODE = /^[A-Z0-9]{1,2}$/;
let cached: ServiceTypeTable | undefined;

export function loadServiceTypes(): ServiceTypeTable {
  if (cached) {
    return cached;
  }
  const raw = JSON.parse(readFileSync(FILE, 'utf8')) as Partial<ServiceTypeTable>;
  const lists = [
    raw.always,
    raw.chemotherapy,
    raw.bySetting?.office,
    raw.bySetting?.['hospital-outpatient'],
    raw.bySetting?.home,
  ];
  const labels = raw.labels ?? {};
  for (const list of lists) {
    if (!Array.isArray(list) || list.some((c) => typeof c !== 'string' || !CODE.test(c) || !labels[c])) {
      throw new Error(`${FILE}: every list must hold X12 1365 codes that have a label`);
    }
  }
  cached = raw as ServiceTypeTable;
  return cached;
}

/** The service types to ask about for a visit in `setting` (unknown: the office's), chemotherapy or not. */
export function serviceTypesFor(
  context: { readonly setting?: CareSetting; readonly chemotherapy?: boolean },
  table: ServiceTypeTable = loadServiceTypes(),
): string[] {
  const codes = [
    ...table.always,
    ...table.bySetting[context.setting ?? 'office'],
    ...(context.chemotherapy ? table.chemotherapy : []),
  ];
  return [...new Set(codes)];
}

export function serviceTypeLabel(code: string, table: ServiceTypeTable = loadServiceTypes()): string {
  return table.labels[code] ?? `service type ${code}`;
}
