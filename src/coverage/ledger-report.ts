/**
 * A patient's authorization ledger as people read it (the API's `GET
 * /api/coverage/authorizations?patient=` and the CLI's `authorizations <patient>`): per
 * authorization its number, payer, dates, status and days left, and per service what was
 * authorized, used (each use: the charge, its visit, date, units, its claim and where that claim
 * is), what remains and what went beyond; the infusions given without one; the booked visits; the
 * open work items. The same reads and the same counting as the scrubber and the ledger worker.
 */
import type { Task } from '@medplum/fhirtypes';
import { LEDGER_TASK_KINDS } from '../contract/authorization.ts';
import { CS_TASK_CODE } from '../contract/canonical.ts';
import type { TenantConfig } from '../config/config.ts';
import type { Store } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import type { LedgerCharge, LedgerEntry } from './ledger.ts';
import type { AuthorizationRequirement, ScheduledVisit } from './ledger-alerts.ts';
import { loadPatientLedger } from './ledger-store.ts';
import { isOpen } from './ledger-tasks.ts';

export interface LedgerReport {
  readonly patient: string;
  /** Today in the tenant's zone: what `status` and `daysLeft` are relative to. */
  readonly today: string;
  /** The configured payer of the patient's primary coverage. */
  readonly payer?: { readonly id: string; readonly payerId: string; readonly name: string };
  readonly authorizations: readonly LedgerEntry[];
  /** Billable charges of codes the payer requires authorization for that no authorization covers. */
  readonly withoutAuthorization: readonly (LedgerCharge & { readonly rule: string })[];
  readonly scheduledVisits: readonly ScheduledVisit[];
  /** The ledger's open Tasks for the patient. */
  readonly workItems: readonly {
    readonly task: string;
    readonly kind: string;
    readonly status: string;
    readonly description?: string;
    readonly focus?: string;
  }[];
}

export async function loadLedgerReport(
  store: Pick<Store, 'resources'>,
  config: TenantConfig,
  patient: string,
  now: Date,
  requirement: AuthorizationRequirement,
): Promise<{ report: LedgerReport; read: readonly string[] }> {
  const view = await loadPatientLedger(store, config, patient, now);
  const tasks = (
    await searchAll<Task>(store, config.id, 'Task', [
      { code: 'patient', kind: 'reference', values: [patient] },
      {
        code: 'code',
        kind: 'token',
        values: LEDGER_TASK_KINDS.map((value) => ({ system: CS_TASK_CODE, value })),
      },
    ])
  ).filter(isOpen);
  const withoutAuthorization = view.ledger.uncovered.flatMap((charge) => {
    const rule = requirement({
      code: charge.code,
      date: charge.date,
      ...(charge.payerId ? { payerId: charge.payerId } : {}),
    });
    return rule ? [{ ...charge, rule }] : [];
  });
  const report: LedgerReport = {
    patient,
    today: view.today,
    ...(view.payer
      ? { payer: { id: view.payer.id, payerId: view.payer.payerId, name: view.payer.name } }
      : {}),
    authorizations: view.ledger.entries,
    withoutAuthorization,
    scheduledVisits: [...view.scheduled].sort((a, b) => a.date.localeCompare(b.date)),
    workItems: tasks.map((t) => ({
      task: `Task/${t.id}`,
      kind: t.code?.coding?.find((c) => c.system === CS_TASK_CODE)?.code ?? '',
      status: t.status,
      ...(t.description ? { description: t.description } : {}),
      ...(t.focus?.reference ? { focus: t.focus.reference } : {}),
    })),
  };
  return { report, read: [...view.read, ...tasks.map((t) => `Task/${t.id}`)] };
}
