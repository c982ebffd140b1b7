/**
 * Drug resolution against the catalog: the NDC of the package actually used first (the HCPCS code
 * follows the NDC, drug-table notes; R11.1), then RxNorm, then a documented HCPCS code.
 */
import { normalizeNdc } from '../ndc.ts';
import type { CodingTables, DrugEntry, DrugPackage } from '../tables/types.ts';

/** The engine's name for the shared NDC normalization (R11.1). */
export { normalizeNdc as ndc11 } from '../ndc.ts';

export interface ResolvedDrug {
  readonly drug: DrugEntry;
  /** The package matched by NDC, when the NDC was documented and is in the catalog. */
  readonly pkg?: DrugPackage;
  readonly matchedBy: 'ndc' | 'rxnorm' | 'hcpcs';
}

interface CatalogIndex {
  readonly byNdc: ReadonlyMap<string, { drug: DrugEntry; pkg: DrugPackage }>;
  readonly byRxnorm: ReadonlyMap<string, DrugEntry>;
  readonly byHcpcs: ReadonlyMap<string, DrugEntry[]>;
}

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
  const index = { byNdc, byRxnorm, byHcpcs };
  indexes.set(tables, index);
  return index;
}

export function lookupNdc(
  tables: CodingTables,
  ndc: string,
): { drug: DrugEntry; pkg: DrugPackage } | undefined {
  const index = indexOf(tables);
  const n = normalizeNdc(ndc);
  return (n ? index.byNdc.get(n) : undefined) ?? index.byNdc.get(`raw:${ndc.replace(/[-\s]/g, '')}`);
}

/** Resolves the documented drug; `ndcUnmatched` is true when an NDC was documented but is not in the catalog. */
export function resolveDrug(
  tables: CodingTables,
  drug: { readonly ndc?: string; readonly rxnorm?: string; readonly hcpcs?: string },
): { resolved?: ResolvedDrug; ndcUnmatched: boolean } {
  const index = indexOf(tables);
  let ndcUnmatched = false;
  if (drug.ndc) {
    const hit = lookupNdc(tables, drug.ndc);
    if (hit) {
      return { resolved: { drug: hit.drug, pkg: hit.pkg, matchedBy: 'ndc' }, ndcUnmatched };
    }
    ndcUnmatched = true;
  }
  if (drug.rxnorm) {
    const hit = index.byRxnorm.get(drug.rxnorm);
    if (hit) {
      return { resolved: { drug: hit, matchedBy: 'rxnorm' }, ndcUnmatched };
    }
  }
  if (drug.hcpcs) {
    const hits = index.byHcpcs.get(drug.hcpcs.toUpperCase());
    // Several products under one HCPCS code (e.g. labeler variants) share the billing rules; the first is used.
    if (hits?.[0]) {
      return { resolved: { drug: hits[0], matchedBy: 'hcpcs' }, ndcUnmatched };
    }
  }
  return { ndcUnmatched };
}
