/**
 * Documentation completeness of the administrations behind each charge: on file, completed, start
 * time, stop time for time-based codes, dose for drugs, site, order and performer (signature).
 */
import type { MedicationAdministration } from '@medplum/fhirtypes';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { ClaimContext } from '../types.ts';
import type { Findings, Line } from './findings.ts';
import { idOf } from './findings.ts';
import { EXT_CHARGE_ITEM } from '../../contract/canonical.ts';

/** Administration roles whose code depends on duration: they need a stop time. */
const TIMED_ROLES = new Set([
  'initial',
  'additional-hour',
  'sequential',
  'concurrent',
  'prolonged-pump',
  'home-visit',
  'home-visit-additional-hour',
]);

export function checkDocumentation(
  ctx: ClaimContext,
  tables: CodingTables,
  lines: readonly Line[],
  f: Findings,
): void {
  const chargeItems = new Map(ctx.chargeItems.map((c) => [c.id ?? '', c]));
  const administrations = new Map(ctx.administrations.map((a) => [a.id ?? '', a]));
  const adminCodes = new Map(tables.administrationCodes.codes.map((c) => [c.code, c]));
  for (const line of lines) {
    const chargeRef = line.item.extension?.find((e) => e.url === EXT_CHARGE_ITEM)?.valueReference?.reference;
    const charge = chargeItems.get(idOf(chargeRef, 'ChargeItem') ?? '');
    if (!charge) {
      continue;
    }
    const adminCode = adminCodes.get(line.code);
    const timed = adminCode !== undefined && TIMED_ROLES.has(adminCode.role);
    const isDrug = line.drug !== undefined;
    const seen = new Set<string>();
    for (const service of charge.service ?? []) {
      const id = idOf(service.reference, 'MedicationAdministration');
      if (id === undefined || seen.has(id)) {
        continue;
      }
      seen.add(id);
      const ma: MedicationAdministration | undefined = administrations.get(id);
      const at = { itemSequence: line.sequence };
      if (!ma) {
        f.add(
          'doc-administration-missing',
          `Line ${line.sequence} (${line.code}): administration ${id} is not on file.`,
          at,
        );
        continue;
      }
      const what = `Line ${line.sequence} (${line.code}), administration ${id}`;
      if (ma.status !== 'completed') {
        f.add('doc-status', `${what} has status ${ma.status}.`, at);
      }
      const start = ma.effectivePeriod?.start ?? ma.effectiveDateTime;
      if (!start) {
        f.add('doc-start-time', `${what} has no start time.`, at);
      }
      if (timed && !ma.effectivePeriod?.end) {
        f.add('doc-stop-time', `${what} has no stop time; ${line.code} is time-based.`, at);
      }
      if (isDrug && ma.dosage?.dose?.value === undefined) {
        f.add('doc-dose', `${what} has no documented dose.`, at);
      }
      if (adminCode !== undefined && !ma.dosage?.site) {
        f.add('doc-site', `${what} has no documented site.`, at);
      }
      if (!ma.request?.reference) {
        f.add('doc-order', `${what} is not linked to an order.`, at);
      }
      if ((ma.performer ?? []).length === 0) {
        f.add('doc-signature', `${what} has no performer (signature).`, at);
      }
    }
  }
}
