/**
 * The catalog drug for what was documented (an NDC, an RxNorm code or a HCPCS code): any code of
 * the drug universe (./universe.ts), through indexes built once per loaded tables.
 */
import { normalizeNdc } from '../ndc.ts';
import type { CodingTables, DrugEntry, DrugPackage } from './types.ts';
import { drugEntryFor } from './universe.ts';

interface DrugIndex {
  readonly byNdc: ReadonlyMap<string, { drug: DrugEntry; package: DrugPackage }>;
  readonly byRxnorm: ReadonlyMap<string, DrugEntry>;
  readonly byHcpcs: ReadonlyMap<string, DrugEntry>;
}

const indexes = new WeakMap<CodingTables, DrugIndex>();

function indexOf(tables: CodingTables): DrugIndex {
  let idx = indexes.get(tables);
  if (!idx) {
    const byNdc = new Map<string, { drug: DrugEntry; package: DrugPackage }>();
    const byRxnorm = new Map<string, DrugEntry>();
    const byHcpcs = new Map<string, DrugEntry>();
    for (const drug of tables.drugs.drugs) {
      for (const pkg of drug.packages) {
        const ndc11 = normalizeNdc(pkg.ndc) ?? pkg.ndc11;
        if (!byNdc.has(ndc11)) {
          byNdc.set(ndc11, { drug, package: pkg });
        }
      }
      for (const rx of drug.rxnorm ?? []) {
        if (!byRxnorm.has(rx)) {
          byRxnorm.set(rx, drug);
        }
      }
      const h = drug.hcpcs.toUpperCase();
      if (!byHcpcs.has(h)) {
        byHcpcs.set(h, drug);
      }
    }
    idx = { byNdc, byRxnorm, byHcpcs };
    indexes.set(tables, idx);
  }
  return idx;
}

/**
 * The catalog drug for what was documented: by NDC first (both sides normalized to 11 digits; the
 * matching package is returned too), then by RxNorm code, then by HCPCS code (first catalog entry
 * in file order, else the entry derived from the CMS tables, ./universe.ts). Undefined when nothing
 * matches.
 */
export function findDrug(
  tables: CodingTables,
  query: { readonly ndc?: string; readonly rxnorm?: string; readonly hcpcs?: string },
): { drug: DrugEntry; package?: DrugPackage } | undefined {
  const idx = indexOf(tables);
  if (query.ndc !== undefined) {
    const ndc11 = normalizeNdc(query.ndc);
    const hit = ndc11 === undefined ? undefined : idx.byNdc.get(ndc11);
    if (hit) {
      return { drug: hit.drug, package: hit.package };
    }
  }
  if (query.rxnorm !== undefined) {
    const drug = idx.byRxnorm.get(query.rxnorm.trim());
    if (drug) {
      return { drug };
    }
  }
  if (query.hcpcs !== undefined) {
    const drug = idx.byHcpcs.get(query.hcpcs.trim().toUpperCase()) ?? drugEntryFor(tables, query.hcpcs);
    if (drug) {
      return { drug };
    }
  }
  return undefined;
}
