/**
 * Lookups in the hand-curated catalog (drugs.json): by NDC package and by RxNorm code. The order in
 * which documentation is resolved to a HCPCS code is resolve.ts's.
 */
import { normalizeNdc } from '../ndc.ts';
import type { CodingTables, DrugEntry, DrugPackage } from '../tables/types.ts';

/** The engine's name for the shared NDC normalization (R11.1). */
export { normalizeNdc as ndc11 } from '../ndc.ts';

interface CatalogIndex {
  readonly byNdc: ReadonlyMap<string, { drug: DrugEntry; pkg: DrugPackage }>;
  readonly byRxnorm: ReadonlyMap<string, DrugEntry>;
  readonly byHcpcs: ReadonlyMap<string, DrugEntry[]>;
  /** Printed NDCs already looked up (null: none), so each is normalized once per process. */
  readonly lookups: Map<string, { drug: DrugEntry; pkg: DrugPackage } | null>;
}

const MAX_LOOKUPS = 50_000;

const indexes = new WeakMap<CodingTables, CatalogIndex>();

function indexOf(tables: CodingTables): CatalogIndex {
  const cached = indexes.get(tables);
  if (cached) {
    return cached;
  }
  const byNdc = new Map<string, { drug: DrugEntry; pkg: DrugPackage }>();
  const byRxnorm = new Map<string, DrugEntry>();
  const byHcpcs = new Map<string, DrugEntry[]>();
  for (const drug of tables.drugs.drugs) {
    for (const pkg of drug.packages) {
      byNdc.set(pkg.ndc11, { drug, pkg });
      byNdc.set(`raw:${pkg.ndc.replace(/-/g, '')}`, { drug, pkg });
    }
    for (const rx of drug.rxnorm ?? []) {
      if (!byRxnorm.has(rx)) {
        byRxnorm.set(rx, drug);
      }
    }
    const list = byHcpcs.get(drug.hcpcs.toUpperCase()) ?? [];
    list.push(drug);
    byHcpcs.set(drug.hcpcs.toUpperCase(), list);
  }
  const index = { byNdc, byRxnorm, byHcpcs, lookups: new Map() };
  indexes.set(tables, index);
  return index;
}

export function lookupNdc(
  tables: CodingTables,
  ndc: string,
): { drug: DrugEntry; pkg: DrugPackage } | undefined {
  const index = indexOf(tables);
  const known = index.lookups.get(ndc);
  if (known !== undefined) {
    return known ?? undefined;
  }
  const n = normalizeNdc(ndc);
  const hit = (n ? index.byNdc.get(n) : undefined) ?? index.byNdc.get(`raw:${ndc.replace(/[-\s]/g, '')}`);
  if (index.lookups.size >= MAX_LOOKUPS) {
    index.lookups.clear();
  }
  index.lookups.set(ndc, hit ?? null);
  return hit;
}

/** The catalog drug an RxNorm code identifies. */
export function lookupRxnorm(tables: CodingTables, rxnorm: string): DrugEntry | undefined {
  return indexOf(tables).byRxnorm.get(rxnorm.trim());
}
