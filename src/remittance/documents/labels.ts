/**
 * Our own short words for a billed code, for letters and patient statements (never a bare code,
 * never the AMA's CPT descriptor): administration codes by the coding tables' Dripline labels,
 * drugs by the catalog's short HCPCS label, anything else named as a service with its code. The
 * coding tables are loaded once, on first use (~0.6 s).
 */
import { codeLabel } from '../../coding/engine/administration-labels.ts';
import { findDrug } from '../../coding/tables/find-drug.ts';
import { loadCodingTables } from '../../coding/tables/load.ts';
import type { CodingTables } from '../../coding/tables/types.ts';

let tables: CodingTables | undefined;

export function serviceLabel(code: string): string {
  tables ??= loadCodingTables();
  const admin = codeLabel(tables, code);
  if (admin !== code) {
    return admin;
  }
  const drug = /^[A-Z]\d{4}$/.test(code) ? findDrug(tables, { hcpcs: code })?.drug : undefined;
  return drug ? drug.hcpcsLabel : `Outpatient service (code ${code})`;
}
