/**
 * Keeps the authorization ledger's work items current: every `scanMs` it reads what changed since
 * the last scan — charges as charge capture writes them, authorizations (preauthorization
 * ClaimResponses), encounters (visits booked or held), claims, coverages — and re-reads the ledger
 * of each patient concerned (./ledger-store.ts), turning its alerts (./ledger-alerts.ts) into Tasks
 * (./ledger-tasks.ts), written with their AuditEvents in one transaction per patient. At start
 * every patient with a billable charge, an authorization or an open ledger Task is looked at (what
 * changed while Dripline was down is not known); every `fullScanMs`, and when the tenant's calendar
 * day changes, every patient with an authorization or an open ledger Task (what expires within 14
 * days, and which booked visits are next, move with the day; an infusion given without an
 * authorization stays what it was until its data changes). Writes are idempotent: a Task only
 * changes when what it says changes.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  Coverage,
  Encounter,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { LEDGER_TASK_KINDS } from '../contract/authorization.ts';
import { CS_TASK_CODE } from '../contract/canonical.ts';
import type { TenantConfig } from '../config/config.ts';
import { tenantCalendarZone, tenantLedgerSettings } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Store, StoreFilter, StoredResource, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import { localDate } from '../time/zone.ts';
import type { AuthorizationRequirement } from './ledger-alerts.ts';
import { ledgerAlerts } from './ledger-alerts.ts';
import { loadPatientLedger } from './ledger-store.ts';
import { isOpen, reconcileLedgerTasks } from './ledger-tasks.ts';

/** Changes are re-read from this long before the last scan: a write stamped just before may commit after. */
const SCAN_OVERLAP_MS = 60_000;

export interface LedgerWorkerDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly publicUrl: string;
  /** The tenants (read on every scan: the sandbox adds payers at run time). */
  readonly tenants: () => readonly TenantConfig[];
  /** Which codes need authorization, per tenant (the claim scrubber's rule: src/coverage/rules/prior-auth.json). */
  readonly requirement: (tenant: TenantConfig) => AuthorizationRequirement;
  readonly now: () => Date;
  /** How often changes are read (default 30 s). */
  readonly scanMs?: number;
  /** How often every patient is looked at again (default 1 h; also at start and when the day changes). */
  readonly fullScanMs?: number;
  readonly pollMs?: number;
}

interface ScanState {
  /** The latest meta.lastUpdated read (the store's clock): where the next change read starts. */
  watermark?: string;
  fullAt: number;
  day: string;
}

const ledgerTaskFilter: StoreFilter = {
  code: 'code',
  kind: 'token',
  values: LEDGER_TASK_KINDS.map((value) => ({ system: CS_TASK_CODE, value })),
};

export class AuthorizationLedgerWorker extends LoopingWorker {
  readonly #deps: LedgerWorkerDeps;
  readonly #scans = new Map<TenantId, ScanState>();
  #lastScan = 0;

  constructor(deps: LedgerWorkerDeps) {
    super({
      name: 'authorization ledger',
      logger: deps.logger,
      pollMs: deps.pollMs ?? 1_000,
    });
    this.#deps = deps;
  }

  /** Scans every tenant when due; returns 0 (the loop then waits `pollMs`). */
  async runOnce(): Promise<number> {
    const started = this.#deps.now().getTime();
    if (started - this.#lastScan < (this.#deps.scanMs ?? 30_000)) {
      return 0;
    }
    this.#lastScan = started;
    for (const tenant of this.#deps.tenants()) {
      await this.scan(tenant.id);
    }
    return 0;
  }

  /** Re-reads the ledger of every patient whose data changed (all of them when a full pass is due); returns the Tasks written. */
  async scan(tenant: TenantId): Promise<number> {
    const config = this.#deps.tenants().find((t) => t.id === tenant);
    if (!config) {
      return 0;
    }
    const now = this.#deps.now();
    const day = localDate(now, tenantCalendarZone(config));
    const previous = this.#scans.get(tenant);
    const full =
      previous?.watermark === undefined ||
      previous.day !== day ||
      now.getTime() - previous.fullAt >= (this.#deps.fullScanMs ?? 3_600_000);
    // What changed since the last scan is always read (a full pass must not move the watermark
    // past changes it did not look at); a full pass adds everyone it covers.
    const changed =
      previous?.watermark !== undefined
        ? await this.#changedSince(tenant, Date.parse(previous.watermark) - SCAN_OVERLAP_MS)
        : undefined;
    const everyone = full ? await this.#everyone(tenant, previous?.watermark === undefined) : undefined;
    const patients = new Set([...(changed?.patients ?? []), ...(everyone?.patients ?? [])]);
    const latest = [changed?.latest, everyone?.latest]
      .filter((t): t is string => t !== undefined)
      .sort((a, b) => Date.parse(a) - Date.parse(b))
      .at(-1);
    let written = 0;
    for (const patient of [...patients].sort()) {
      written += await this.evaluate(config, patient);
    }
    // Only once every patient is done does the next scan start after these changes.
    const watermark = [previous?.watermark, latest]
      .filter((t): t is string => t !== undefined)
      .sort((a, b) => Date.parse(a) - Date.parse(b))
      .at(-1);
    this.#scans.set(tenant, {
      ...(watermark ? { watermark } : {}),
      fullAt: full ? now.getTime() : (previous?.fullAt ?? now.getTime()),
      day,
    });
    return written;
  }

  /** Brings one patient's ledger Tasks in line with the ledger; returns the Tasks written. */
  async evaluate(config: TenantConfig, patient: string): Promise<number> {
    const { store, publicUrl } = this.#deps;
    const now = this.#deps.now();
    const settings = tenantLedgerSettings(config);
    const view = await loadPatientLedger(store, config, patient, now);
    const alerts = ledgerAlerts(view.ledger, {
      patient,
      scheduled: view.scheduled,
      visitsAhead: settings.visitsAhead,
      expiringDays: settings.expiringDays,
      requirement: this.#deps.requirement(config),
    });
    const tasks = await searchAll<Task>(store, config.id, 'Task', [
      { code: 'patient', kind: 'reference', values: [patient] },
      ledgerTaskFilter,
    ]);
    const operations = reconcileLedgerTasks(alerts, tasks, now, publicUrl);
    if (operations.length === 0) {
      return 0;
    }
    await store.resources.writeBatch(config.id, operations);
    const written = operations.filter((op) => 'resource' in op && op.resource.resourceType === 'Task').length;
    this.#deps.logger.info({ tenant: config.id, tasks: written }, 'authorization ledger work items updated');
    return written;
  }

  /** Patients with a preauthorization on file or an open ledger Task, and (`withCharges`) a billable charge. */
  async #everyone(
    tenant: TenantId,
    withCharges: boolean,
  ): Promise<{ patients: Set<string>; latest?: string }> {
    const { store } = this.#deps;
    const patients = new Set<string>();
    const add = (reference: string | undefined): void => {
      const ref = normalizeReference(reference ?? '');
      if (ref?.startsWith('Patient/')) {
        patients.add(ref);
      }
    };
    const charges = withCharges
      ? await searchAll<ChargeItem>(store, tenant, 'ChargeItem', [
          { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
        ])
      : [];
    charges.forEach((c) => add(c.subject.reference));
    const responses = (await searchAll<ClaimResponse>(store, tenant, 'ClaimResponse', [])).filter(
      (r) => r.use === 'preauthorization',
    );
    responses.forEach((r) => add(r.patient.reference));
    const tasks = (await searchAll<Task>(store, tenant, 'Task', [ledgerTaskFilter])).filter(isOpen);
    tasks.forEach((t) => add(t.for?.reference));
    const latest = latestOf(charges, responses);
    return { patients, ...(latest ? { latest } : {}) };
  }

  /** The patients of what was written since `since` (store time, ms), with the latest stamp read. */
  async #changedSince(tenant: TenantId, since: number): Promise<{ patients: Set<string>; latest?: string }> {
    const { store } = this.#deps;
    const changed: StoreFilter = {
      code: '_lastUpdated',
      kind: 'date',
      prefix: 'ge',
      start: new Date(since).toISOString(),
      end: new Date(since + 1).toISOString(),
    };
    const patients = new Set<string>();
    const read: (Resource & StoredResource)[][] = [];
    const collect = async <T extends Resource>(
      type: T['resourceType'],
      patientOf: (r: T) => string | undefined,
    ): Promise<void> => {
      const found = await searchAll<T>(store, tenant, type, [changed]);
      read.push(found);
      for (const r of found) {
        const ref = normalizeReference(patientOf(r) ?? '');
        if (ref?.startsWith('Patient/')) {
          patients.add(ref);
        }
      }
    };
    await collect<ChargeItem>('ChargeItem', (r) => r.subject.reference);
    await collect<ClaimResponse>('ClaimResponse', (r) => r.patient.reference);
    await collect<Encounter>('Encounter', (r) => r.subject?.reference);
    await collect<Claim>('Claim', (r) => r.patient.reference);
    await collect<Coverage>('Coverage', (r) => r.beneficiary.reference);
    const latest = latestOf(...read);
    return { patients, ...(latest ? { latest } : {}) };
  }
}

function latestOf(...lists: readonly (readonly StoredResource[])[]): string | undefined {
  let latest: string | undefined;
  for (const list of lists) {
    for (const r of list) {
      if (latest === undefined || Date.parse(r.meta.lastUpdated) > Date.parse(latest)) {
        latest = r.meta.lastUpdated;
      }
    }
  }
  return latest;
}
