/**
 * Charge capture: takes `encounter-changed` jobs (emitted by ingest when an encounter's
 * documentation changed), recomputes that encounter's charges with the coding engine from the
 * tenant's stored copies, and reconciles them with the ChargeItems already stored:
 *
 * - a new line is created with its stable id, an unchanged one is left alone, a changed one is
 *   updated (If-Match), a billable charge no longer produced is voided (entered-in-error, with a
 *   note why) — so an administration entered in error voids its charges;
 * - every ChargeItem version written gets a Provenance (the administrations, encounter, medication
 *   and coverage versions it came from, and the rule) and an AuditEvent, in the same transaction;
 * - an encounter whose Claim was already submitted (status active) keeps its charges: the
 *   differences go to one "corrected claim needed" Task instead;
 * - documentation issues (held administrations, warnings) are kept in one "documentation issues"
 *   Task per encounter, completed when they are gone.
 *
 * The unit of work is the encounter's group: a home-infusion episode with its nursing visits, or
 * an office / hospital visit with the patient's other visits in the same setting that day (the
 * engine needs them together: second-encounter modifiers, per diems). Only finished visits (and
 * an open home episode) are coded; an encounter entered in error or cancelled has its charges voided.
 *
 * Idempotent and retry-safe: the same inputs give the same plan, an applied plan makes the next one
 * empty, writes are optimistic (If-Match / create-with-id) and each group's writes go in one batch;
 * after writing, the inputs are read again and the group recomputed if they moved meanwhile.
 */
import { LoopingWorker } from '../store/worker-loop.ts';
import { createHash, randomUUID } from 'node:crypto';
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type {
  ChargeItem,
  Claim,
  Coverage,
  Encounter,
  MedicationAdministration,
  Provenance,
  ProvenanceEntity,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { codeEncounters } from '../coding/engine/index.ts';
import { toChargeItems } from '../coding/fhir/emit.ts';
import type { EmitContext } from '../coding/fhir/emit.ts';
import { extractCodingInput, settingOf } from '../coding/fhir/extract.ts';
import type { CodingTables } from '../coding/tables/types.ts';
import type { CareSetting, CodingIssue, TenantCodingOptions } from '../coding/types.ts';
import { buildAuditEvent, patientsOf } from '../fhir/audit.ts';
import { getOwnProfile, loadFhirDefinitions } from '../fhir/definitions.ts';
import { DELETED_AT_SOURCE } from '../ingest/copies.ts';
import type { EncounterChangedEvent } from '../ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, hashText } from '../ingest/jobs.ts';
import type { Logger } from '../logger.ts';
import type { BatchOperation, Job, Store, StoreFilter, StoredResource, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { addDays, localDate, startOfDay } from '../time/zone.ts';
import { holdsCharges } from './claim-hold.ts';
import type {
  AdministrationState,
  CapturePlan,
  ChargeChange,
  EncounterScope,
  ProducedCharge,
  StoredChargeItem,
  StoredTask,
  TaskWrite,
} from './reconcile.ts';
import {
  correctedClaimTaskId,
  describeCharge,
  documentationTaskId,
  planCapture,
  ruleOf,
  withoutStamp,
} from './reconcile.ts';

export const CHARGE_CAPTURE_CLIENT = 'dripline/charge-capture';
const AGENT_SYSTEM = 'https://dripline.dev/fhir/sid/agent';

export interface ChargeCaptureDeps {
  readonly store: Store;
  readonly tables: CodingTables;
  readonly logger: Logger;
  /** Base URL of this server (AuditEvent agent identifiers). */
  readonly publicUrl: string;
  /** Per-tenant coding options (340B modifier, the clinic's time zone or fixed UTC offset). */
  readonly codingOptions?: (tenant: TenantId) => TenantCodingOptions | undefined;
  readonly now?: () => Date;
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /** Idle poll interval when no one notifies (default 250 ms). */
  readonly pollMs?: number;
}

/** What one run did for an encounter group (for logs and tests). */
export interface CaptureSummary {
  readonly encounter: string;
  /** The encounters of the group, by state ('ready' | 'void' | 'uncodable' | 'pending'). */
  readonly encounters: Readonly<Record<string, string>>;
  readonly created: number;
  readonly updated: number;
  readonly voided: number;
  readonly unchanged: number;
  /** Changes held back because the encounter's claim was submitted. */
  readonly deferred: number;
  readonly tasks: number;
}

const EMPTY_SUMMARY = (encounter: string): CaptureSummary => ({
  encounter,
  encounters: {},
  created: 0,
  updated: 0,
  voided: 0,
  unchanged: 0,
  deferred: 0,
  tasks: 0,
});

/** Everything a group's charges depend on, read from the store. */
interface Gathered {
  readonly members: readonly (Encounter & StoredResource)[];
  readonly scopes: ReadonlyMap<string, EncounterScope>;
  readonly setting?: CareSetting;
  readonly patient?: string;
  /** Inputs to the engine (ready encounters, their administrations and what those reference). */
  readonly resources: readonly StoredResource[];
  /** Stored version of every resource read, by "Type/id". */
  readonly versions: ReadonlyMap<string, string>;
  readonly claims: ReadonlyMap<string, Claim & { id: string }>;
  /** Changes whenever an input does. */
  readonly fingerprint: string;
  /** References the inputs make that are not stored (yet): ingest stores a resource before what it references. */
  readonly missing: readonly string[];
}

/** The inputs reference resources not stored yet; retried shortly (they normally follow within ms). */
export class IncompleteInputsError extends Error {
  readonly missing: readonly string[];

  constructor(missing: readonly string[]) {
    super(`charge inputs not stored yet: ${missing.length} reference(s)`);
    this.name = 'IncompleteInputsError';
    this.missing = missing;
  }
}

export interface ProcessOptions {
  /**
   * Code even when referenced resources are missing (unknown drugs then become documentation
   * issues). The worker waits a few attempts first; direct calls default to true.
   */
  readonly allowIncomplete?: boolean;
}

/** Attempts that wait for missing references before coding with what is there. */
const INCOMPLETE_ATTEMPTS = 4;

function isNotFound(err: unknown): boolean {
  return err instanceof OperationOutcomeError && err.outcome.id === 'not-found';
}

function isConflict(err: unknown): boolean {
  return (
    err instanceof OperationOutcomeError &&
    (err.outcome.id === 'precondition-failed' || err.outcome.id === 'conflict')
  );
}

function refOf(reference: Reference | undefined): string | undefined {
  return reference?.reference ? normalizeReference(reference.reference) : undefined;
}

function deletedAtSource(resource: Resource): boolean {
  return (resource.meta?.tag ?? []).some(
    (t) => t.system === DELETED_AT_SOURCE.system && t.code === DELETED_AT_SOURCE.code,
  );
}

/** The clinic's offset, as the EHR wrote it on the encounter's start ("…-05:00"), for dates of service. */
function offsetOf(instant: string | undefined): string | undefined {
  const m = instant ? /([+-]\d{2}:\d{2}|Z)$/.exec(instant) : null;
  if (!m?.[1]) {
    return undefined;
  }
  return m[1] === 'Z' ? '+00:00' : m[1];
}

/**
 * The calendar day containing an instant, as a UTC half-open range: the day in the clinic's zone
 * when one is configured, else the day of the offset the instant was written with.
 */
function localDay(instant: string, zone: string | undefined): { start: string; end: string } | undefined {
  if (zone && Number.isFinite(Date.parse(instant))) {
    const date = localDate(instant, zone);
    return {
      start: new Date(startOfDay(date, zone)).toISOString(),
      end: new Date(startOfDay(addDays(date, 1), zone)).toISOString(),
    };
  }
  const offset = offsetOf(instant) ?? '+00:00';
  const date = instant.slice(0, 10);
  const start = Date.parse(`${date}T00:00:00${offset}`);
  if (!/^\d{4}-\d{2}-\d{2}/.test(date) || !Number.isFinite(start)) {
    return undefined;
  }
  return { start: new Date(start).toISOString(), end: new Date(start + 86_400_000).toISOString() };
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 40);
}

export class ChargeCaptureWorker extends LoopingWorker {
  readonly #deps: ChargeCaptureDeps;
  readonly #now: () => Date;

  constructor(deps: ChargeCaptureDeps) {
    super({
      name: 'charge capture',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
    });
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    loadFhirDefinitions();
  }

  /** Leases and processes one batch; returns how many jobs it handled. */
  async runOnce(): Promise<number> {
    const jobs = await this.#deps.store.jobs.lease({
      queue: ENCOUNTER_CHANGED_QUEUE,
      leaseMs: this.#deps.leaseMs ?? 60_000,
      limit: this.#deps.batchSize ?? 32,
      now: this.#now(),
    });
    // Several changes to one encounter collapse into one recomputation.
    const groups = new Map<string, Job[]>();
    for (const job of jobs) {
      const payload = job.payload as Partial<EncounterChangedEvent> | undefined;
      const key = `${job.tenant}|${payload?.encounter ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), job]);
    }
    for (const group of groups.values()) {
      await this.#handle(group);
    }
    return jobs.length;
  }

  async #handle(jobs: readonly Job[]): Promise<void> {
    const [first] = jobs;
    if (!first) {
      return;
    }
    const payloads = jobs.map((j) => j.payload as Partial<EncounterChangedEvent> | undefined);
    const encounter = payloads[0]?.encounter;
    try {
      if (typeof encounter !== 'string' || !normalizeReference(encounter)?.startsWith('Encounter/')) {
        this.#deps.logger.warn({ job: first.id }, 'encounter-changed job without an encounter dropped');
      } else {
        const causes = [...new Set(payloads.flatMap((p) => p?.causes ?? []))].sort();
        const attempts = Math.max(...jobs.map((j) => j.attempts));
        const summary = await this.process(
          first.tenant,
          { encounter, causes },
          { allowIncomplete: attempts >= INCOMPLETE_ATTEMPTS },
        );
        this.#deps.logger.debug({ ...summary, jobs: jobs.length }, 'charges captured');
      }
      for (const job of jobs) {
        await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
      }
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof IncompleteInputsError) {
        // Expected right after ingest: look again in 0.5, 1, 2 s.
        const retryAt = new Date(this.#now().getTime() + 500 * 2 ** Math.min(first.attempts - 1, 3));
        for (const job of jobs) {
          await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
            error: message,
            retryable: true,
            now: this.#now(),
            retryAt: retryAt.toISOString(),
          });
        }
        this.#deps.logger.debug({ jobs: jobs.map((j) => j.id), attempts: first.attempts }, message);
        return;
      }
      this.#deps.logger.warn(
        { jobs: jobs.map((j) => j.id), attempts: first.attempts, err: message },
        'charge capture job failed',
      );
      for (const job of jobs) {
        await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
          error: message,
          retryable: true,
          now: this.#now(),
        });
      }
    }
  }

  /**
   * Recomputes and reconciles the charges of the event's encounter group (exposed for tests).
   * Throws to ask for a retry.
   */
  async process(
    tenant: TenantId,
    event: EncounterChangedEvent,
    options: ProcessOptions = {},
  ): Promise<CaptureSummary> {
    const encounter = normalizeReference(event.encounter);
    if (!encounter?.startsWith('Encounter/')) {
      return EMPTY_SUMMARY(event.encounter);
    }
    await this.#followMovedAdministrations(tenant, event.causes);
    let total = EMPTY_SUMMARY(encounter);
    for (let attempt = 0; attempt < 6; attempt++) {
      const gathered = await this.#gather(tenant, encounter);
      if (!gathered) {
        return total;
      }
      if (gathered.missing.length > 0 && options.allowIncomplete === false) {
        throw new IncompleteInputsError(gathered.missing);
      }
      const plan = await this.#plan(tenant, gathered);
      total = {
        ...total,
        encounters: Object.fromEntries(
          gathered.members.map((m) => [
            `Encounter/${m.id}`,
            gathered.scopes.get(`Encounter/${m.id}`)?.state ?? 'pending',
          ]),
        ),
        unchanged: plan.unchanged,
        deferred: [...plan.deferred.values()].reduce((n, list) => n + list.length, 0),
      };
      if (plan.changes.length === 0 && plan.tasks.length === 0) {
        return total;
      }
      try {
        await this.#write(tenant, gathered, plan);
      } catch (err) {
        if (isConflict(err)) {
          continue; // another writer got there first: look again
        }
        throw err;
      }
      total = {
        ...total,
        created: total.created + plan.changes.filter((c) => c.kind === 'create').length,
        updated: total.updated + plan.changes.filter((c) => c.kind === 'update').length,
        voided: total.voided + plan.changes.filter((c) => c.kind === 'void').length,
        tasks: total.tasks + plan.tasks.length,
      };
      // Inputs that moved while we computed (a concurrent ingest) mean the plan may be stale: redo.
      const after = await this.#gather(tenant, encounter);
      if (!after || after.fingerprint === gathered.fingerprint) {
        return total;
      }
    }
    throw new Error(`charge capture for ${encounter} did not settle: inputs kept changing`);
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  async #read(tenant: TenantId, reference: string | undefined): Promise<StoredResource | undefined> {
    const normalized = reference ? normalizeReference(reference) : undefined;
    if (!normalized) {
      return undefined;
    }
    const [type, id] = normalized.split('/') as [string, string];
    try {
      return await this.#deps.store.resources.read(tenant, type, id);
    } catch (err) {
      if (isNotFound(err)) {
        return undefined;
      }
      throw err;
    }
  }

  async #search(tenant: TenantId, resourceType: string, filters: StoreFilter[]): Promise<StoredResource[]> {
    // At most ~21,000 per read: one encounter's related resources never come near it.
    return searchAll(this.#deps.store, tenant, resourceType as Resource['resourceType'], filters, 21_000);
  }

  #byReference(code: string, value: string): StoreFilter[] {
    return [{ code, kind: 'reference', values: [value] }];
  }

  /** The encounters coded together with `encounter`. */
  async #members(
    tenant: TenantId,
    encounter: Encounter & StoredResource,
  ): Promise<{
    members: (Encounter & StoredResource)[];
    root: Encounter & StoredResource;
    setting?: CareSetting;
  }> {
    const parent = refOf(encounter.partOf);
    const root = ((parent ? await this.#read(tenant, parent) : undefined) ?? encounter) as Encounter &
      StoredResource;
    const rootRef = parent ?? `Encounter/${encounter.id}`;
    const byId = new Map<string, Encounter & StoredResource>([
      [root.id, root],
      [encounter.id, encounter],
    ]);
    for (const child of await this.#search(tenant, 'Encounter', this.#byReference('part-of', rootRef))) {
      byId.set(child.id, child as Encounter & StoredResource);
    }
    const setting = settingOf(root) ?? settingOf(encounter);
    const patient = refOf(encounter.subject);
    const coding = this.#deps.codingOptions?.(tenant);
    const zone = coding?.timeZone ?? coding?.utcOffset;
    const day = encounter.period?.start ? localDay(encounter.period.start, zone) : undefined;
    if (setting !== undefined && setting !== 'home' && !parent && patient && day) {
      // The patient's other visits in this setting that day (left and came back): coded together.
      const sameDay = await this.#search(tenant, 'Encounter', [
        ...this.#byReference('patient', patient),
        { code: 'date', kind: 'date', prefix: 'ge', start: day.start, end: day.end },
        { code: 'date', kind: 'date', prefix: 'le', start: day.start, end: day.end },
      ]);
      for (const other of sameDay as (Encounter & StoredResource)[]) {
        if (!other.partOf && settingOf(other) === setting) {
          byId.set(other.id, other);
        }
      }
    }
    const members = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
    return { members, root, ...(setting ? { setting } : {}) };
  }

  #scopeOf(
    member: Encounter & StoredResource,
    root: Encounter & StoredResource,
    setting: CareSetting | undefined,
  ): EncounterScope | undefined {
    if (deletedAtSource(member)) {
      return { state: 'void', reason: `Encounter/${member.id} was deleted in the EHR` };
    }
    if (member.status === 'entered-in-error' || member.status === 'cancelled') {
      return { state: 'void', reason: `Encounter/${member.id} is ${member.status} in the EHR` };
    }
    if (member.status === 'finished') {
      return { state: 'ready' };
    }
    // A home-infusion episode is open while the therapy runs; its per diems follow its finished visits.
    if (member.id === root.id && setting === 'home' && member.status !== 'planned') {
      return { state: 'ready' };
    }
    return undefined; // not finished yet: coded when it is
  }

  async #gather(tenant: TenantId, reference: string): Promise<Gathered | undefined> {
    const encounter = (await this.#read(tenant, reference)) as (Encounter & StoredResource) | undefined;
    if (!encounter) {
      return undefined; // not stored (yet): its arrival emits another event
    }
    const { members, root, setting } = await this.#members(tenant, encounter);
    const versions = new Map<string, string>();
    const note = (r: StoredResource): void => {
      versions.set(`${r.resourceType}/${r.id}`, r.meta.versionId);
    };
    members.forEach(note);

    const scopes = new Map<string, EncounterScope>();
    for (const member of members) {
      const scope = this.#scopeOf(member, root, setting);
      if (scope) {
        scopes.set(`Encounter/${member.id}`, scope);
      }
    }
    const ready = members.filter((m) => scopes.get(`Encounter/${m.id}`)?.state === 'ready');
    const resources: StoredResource[] = [...ready];
    const seen = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
    const keep = (r: StoredResource | undefined): void => {
      if (r && !seen.has(`${r.resourceType}/${r.id}`)) {
        seen.add(`${r.resourceType}/${r.id}`);
        resources.push(r);
        note(r);
      }
    };
    const missing: string[] = [];
    /** `required`: coding is wrong without it (drug, diagnoses, patient); else only nice to have. */
    const follow = async (refs: (Reference | undefined)[], required = true): Promise<void> => {
      for (const ref of refs) {
        const normalized = refOf(ref);
        if (normalized && !seen.has(normalized)) {
          const found = await this.#read(tenant, normalized);
          if (found) {
            keep(found);
          } else if (required) {
            missing.push(normalized);
          }
        }
      }
    };

    for (const member of ready) {
      for (const found of await this.#search(
        tenant,
        'MedicationAdministration',
        this.#byReference('encounter', `Encounter/${member.id}`),
      )) {
        const ma = found as MedicationAdministration & StoredResource;
        // A copy the EHR deleted is treated like an administration entered in error.
        keep(deletedAtSource(ma) ? { ...ma, status: 'entered-in-error' } : ma);
      }
      await follow([...(member.reasonReference ?? []), ...(member.diagnosis ?? []).map((d) => d.condition)]);
    }
    for (const ma of resources.filter(
      (r): r is MedicationAdministration & StoredResource => r.resourceType === 'MedicationAdministration',
    )) {
      await follow([ma.medicationReference, ...(ma.reasonReference ?? [])]);
      await follow([ma.request], false); // only whether there is an order matters
    }
    const patient = refOf(encounter.subject) ?? refOf(root.subject);
    if (patient) {
      await follow([{ reference: patient }]);
      const coverages = await this.#search(tenant, 'Coverage', this.#byReference('patient', patient));
      for (const coverage of coverages) {
        keep(coverage);
        // Payor organizations only help when the coverage type does not say Medicare / Medicaid.
        await follow((coverage as Coverage).payor ?? [], false);
      }
      if (coverages.length === 0 && ready.length > 0) {
        missing.push(`Coverage?patient=${patient}`); // ingest brings coverage after the patient
      }
    }

    const claims = new Map<string, Claim & { id: string }>();
    for (const member of members) {
      const ref = `Encounter/${member.id}`;
      const active = (await this.#search(tenant, 'Claim', this.#byReference('encounter', ref)))
        // A submitted claim holds its charges, until the claim workflow takes it over for a
        // corrected claim (extension claim-replaced-by) or the payer rejected it: then the changes
        // are applied.
        .filter((c): c is Claim & StoredResource => holdsCharges(c as Claim))
        .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.id.localeCompare(b.id));
      active.forEach(note);
      if (active[0]) {
        claims.set(ref, active[0]);
      }
    }

    const fingerprint = hashText(
      [...versions]
        .map(([ref, v]) => `${ref}/${v}`)
        .sort()
        .join(','),
    );
    return {
      members,
      scopes,
      ...(setting ? { setting } : {}),
      ...(patient ? { patient } : {}),
      resources,
      versions,
      claims,
      fingerprint,
      missing: ready.length > 0 ? missing : [],
    };
  }

  /**
   * An administration moved to another encounter (context corrected) leaves charges on the old
   * one; ingest only announces the new one, so announce the old one too.
   */
  async #followMovedAdministrations(tenant: TenantId, causes: readonly string[]): Promise<void> {
    for (const cause of causes) {
      const ref = normalizeReference(cause);
      if (!ref?.startsWith('MedicationAdministration/')) {
        continue;
      }
      const id = ref.split('/')[1] ?? '';
      let versions: StoredResource[];
      try {
        versions = (
          await this.#deps.store.resources.history(tenant, 'MedicationAdministration', id, { count: 2 })
        ).resources;
      } catch (err) {
        if (isNotFound(err)) {
          continue;
        }
        throw err;
      }
      const [current, previous] = versions as (MedicationAdministration & StoredResource)[];
      const before = refOf(previous?.context);
      const now = refOf(current?.context);
      if (current && before?.startsWith('Encounter/') && before !== now) {
        const event: EncounterChangedEvent = {
          encounter: before,
          causes: [`${ref}/_history/${current.meta.versionId}`],
        };
        await this.#deps.store.jobs.enqueue(tenant, {
          queue: ENCOUNTER_CHANGED_QUEUE,
          key: `${before}|moved|${ref}/${current.meta.versionId}`,
          payload: event,
        });
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Planning
  // -------------------------------------------------------------------------------------------

  async #plan(tenant: TenantId, gathered: Gathered): Promise<CapturePlan> {
    const scopes = new Map(gathered.scopes);
    const issues = new Map<string, CodingIssue[]>();
    const addIssue = (encounter: string, issue: CodingIssue): void => {
      issues.set(encounter, [...(issues.get(encounter) ?? []), issue]);
    };
    let produced: ProducedCharge[] = [];
    let held = new Set<string>();
    const ready = [...scopes].filter(([, s]) => s.state === 'ready').map(([ref]) => ref);

    if (ready.length > 0) {
      const configured = this.#deps.codingOptions?.(tenant);
      const firstStart = gathered.members.find((m) => m.period?.start)?.period?.start;
      // Without a configured zone, dates of service follow the offset the EHR wrote on the visit.
      const utcOffset = configured?.utcOffset ?? offsetOf(firstStart);
      const options: TenantCodingOptions = { ...configured, ...(utcOffset ? { utcOffset } : {}) };
      const extracted = extractCodingInput(gathered.resources, {
        ...(gathered.setting ? { setting: gathered.setting } : {}),
        options,
      });
      if (extracted.problems.length > 0) {
        for (const ref of ready) {
          scopes.set(ref, { state: 'uncodable' });
          addIssue(ref, {
            severity: 'error',
            code: 'uncodable-encounter',
            message: extracted.problems.join('; '),
            encounterId: ref.split('/')[1] ?? '',
          });
        }
      } else {
        const result = codeEncounters(extracted.input, this.#deps.tables);
        held = new Set(result.held);
        const administrationEncounter = new Map(
          extracted.input.administrations.map((a) => [a.id, `Encounter/${a.encounterId}`]),
        );
        for (const issue of result.issues) {
          if (issue.severity === 'information') {
            continue;
          }
          const encounter =
            (issue.administrationId ? administrationEncounter.get(issue.administrationId) : undefined) ??
            (issue.encounterId ? `Encounter/${issue.encounterId}` : undefined);
          const target = encounter && scopes.has(encounter) ? encounter : ready[0];
          if (target) {
            addIssue(target, issue);
          }
        }
        const coverage = this.#primaryCoverage(gathered);
        const ctx: EmitContext = {
          patient: { reference: gathered.patient ?? extracted.patient ?? 'Patient/unknown' },
          setting: extracted.input.setting,
          now: this.#now(),
          ...(coverage ? { coverage: { reference: `Coverage/${coverage.id}` } } : {}),
          ...(coverage?.payor?.[0]?.reference?.startsWith('Organization/')
            ? { insurer: { reference: coverage.payor[0].reference } }
            : {}),
        };
        const items = toChargeItems(result, ctx);
        produced = items.map((resource, i) => ({
          resource,
          line: result.lines[i] as (typeof result.lines)[number],
        }));
      }
    }

    // Stored charges of every encounter in scope, plus any produced id stored elsewhere (defensive).
    const existing = new Map<string, StoredChargeItem>();
    for (const ref of scopes.keys()) {
      for (const item of await this.#search(tenant, 'ChargeItem', this.#byReference('encounter', ref))) {
        existing.set(item.id, item as StoredChargeItem);
      }
    }
    for (const p of produced) {
      if (!existing.has(p.resource.id)) {
        const stored = await this.#read(tenant, `ChargeItem/${p.resource.id}`);
        if (stored) {
          existing.set(stored.id, stored as StoredChargeItem);
        }
      }
    }

    const administrations = new Map<string, AdministrationState>();
    for (const r of gathered.resources) {
      if (r.resourceType === 'MedicationAdministration') {
        const ma = r;
        const encounter = refOf(ma.context);
        administrations.set(`MedicationAdministration/${ma.id}`, {
          status: ma.status,
          ...(encounter ? { encounter } : {}),
          deleted: deletedAtSource(ma),
        });
      }
    }
    for (const item of existing.values()) {
      for (const service of item.service ?? []) {
        const ref = refOf(service);
        if (ref?.startsWith('MedicationAdministration/') && !administrations.has(ref)) {
          const ma = (await this.#read(tenant, ref)) as
            (MedicationAdministration & StoredResource) | undefined;
          const encounter = refOf(ma?.context);
          administrations.set(ref, {
            ...(ma ? { status: ma.status } : {}),
            ...(encounter ? { encounter } : {}),
            deleted: ma ? deletedAtSource(ma) : true,
          });
          if (ma) {
            this.#noteVersion(gathered, ma);
          }
        }
      }
    }

    const tasks = new Map<string, StoredTask>();
    const taskIds = [
      ...[...scopes.keys()].map((ref) => documentationTaskId(ref)),
      ...[...gathered.claims].map(([ref, claim]) => correctedClaimTaskId(`Claim/${claim.id}`, ref)),
    ];
    for (const id of taskIds) {
      const task = await this.#read(tenant, `Task/${id}`);
      if (task) {
        tasks.set(id, task as StoredTask);
      }
    }

    const claims = new Map([...gathered.claims].filter(([ref]) => scopes.has(ref)));
    return planCapture({
      now: this.#now(),
      ...(gathered.patient ? { patient: gathered.patient } : {}),
      encounters: scopes,
      produced,
      existing: [...existing.values()],
      submittedClaims: claims,
      issues,
      held,
      administrations,
      tasks,
    });
  }

  #noteVersion(gathered: Gathered, resource: StoredResource): void {
    (gathered.versions as Map<string, string>).set(
      `${resource.resourceType}/${resource.id}`,
      resource.meta.versionId,
    );
  }

  #primaryCoverage(gathered: Gathered): (Coverage & StoredResource) | undefined {
    return gathered.resources
      .filter((r): r is Coverage & StoredResource => r.resourceType === 'Coverage')
      .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
      .filter((c) => !gathered.patient || refOf(c.beneficiary) === gathered.patient)
      .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || a.id.localeCompare(b.id))[0];
  }

  // -------------------------------------------------------------------------------------------
  // Writing
  // -------------------------------------------------------------------------------------------

  /** One transaction: every ChargeItem change with its Provenance and AuditEvent, and the Tasks. */
  async #write(tenant: TenantId, gathered: Gathered, plan: CapturePlan): Promise<void> {
    const now = this.#now();
    const operations: BatchOperation[] = [];
    for (const change of plan.changes) {
      const version = change.kind === 'create' ? '1' : String(Number(change.previous.meta.versionId) + 1);
      const resource = withoutStamp(change.resource);
      this.#validate(resource);
      operations.push(
        change.kind === 'create'
          ? { op: 'create', resource, options: { id: resource.id } }
          : {
              op: 'update',
              resource,
              options: { ifMatchVersion: change.previous.meta.versionId, upsert: false },
            },
      );
      const provenance = this.#provenance(gathered, change, version, now);
      this.#validate(provenance);
      operations.push({ op: 'create', resource: provenance, options: { id: provenance.id } });
      operations.push(
        this.#audit(
          change.kind === 'create' ? 'create' : 'update',
          [`ChargeItem/${resource.id}/_history/${version}`, `Provenance/${provenance.id}`],
          resource,
          now,
        ),
      );
    }
    for (const write of plan.tasks) {
      operations.push(...this.#taskOperations(write, now));
    }
    await this.#deps.store.resources.writeBatch(tenant, operations);
  }

  #taskOperations(write: TaskWrite, now: Date): BatchOperation[] {
    const resource = withoutStamp(write.resource);
    this.#validate(resource);
    const version = write.previous ? String(Number(write.previous.meta.versionId) + 1) : '1';
    return [
      write.previous
        ? {
            op: 'update',
            resource,
            options: { ifMatchVersion: write.previous.meta.versionId, upsert: false },
          }
        : { op: 'create', resource, options: { id: resource.id } },
      this.#audit(
        write.previous ? 'update' : 'create',
        [`Task/${resource.id}/_history/${version}`],
        resource,
        now,
      ),
    ];
  }

  #audit(
    interaction: 'create' | 'update',
    resources: string[],
    resource: Resource,
    now: Date,
  ): BatchOperation {
    const event = buildAuditEvent({
      id: randomUUID(),
      now,
      interaction,
      outcome: '0',
      clientId: CHARGE_CAPTURE_CLIENT,
      resources,
      patients: patientsOf(resource),
      publicUrl: this.#deps.publicUrl,
    });
    return { op: 'create', resource: event, options: { id: event.id } };
  }

  #validate(resource: Resource): void {
    validateResource(resource);
    for (const url of resource.meta?.profile ?? []) {
      const profile = getOwnProfile(url);
      if (profile) {
        validateResource(resource, { profile });
      }
    }
  }

  /** Where a ChargeItem version came from: the exact stored versions of its sources, and the rule. */
  #provenance(
    gathered: Gathered,
    change: ChargeChange,
    version: string,
    now: Date,
  ): Provenance & { id: string } {
    const item: ChargeItem & { id: string } = change.resource;
    const versioned = (ref: string): string => {
      const v = gathered.versions.get(ref);
      return v ? `${ref}/_history/${v}` : ref;
    };
    const sources: string[] = [];
    const add = (ref: string | undefined): void => {
      if (ref && !sources.includes(ref)) {
        sources.push(ref);
      }
    };
    const byRef = new Map(gathered.resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
    for (const service of item.service ?? []) {
      const ma = refOf(service);
      add(ma);
      const resource = ma ? (byRef.get(ma) as MedicationAdministration | undefined) : undefined;
      add(refOf(resource?.context));
      add(refOf(resource?.medicationReference));
    }
    add(refOf(item.context));
    if (change.kind !== 'void') {
      const coverage = this.#primaryCoverage(gathered);
      add(coverage ? `Coverage/${coverage.id}` : undefined);
    }
    const entity: ProvenanceEntity[] = sources.map((ref) => ({
      role: 'source',
      what: { reference: versioned(ref) },
    }));
    if (change.kind !== 'create') {
      entity.push({
        role: 'revision',
        what: { reference: `ChargeItem/${item.id}/_history/${change.previous.meta.versionId}` },
      });
    }
    const rule = change.kind === 'void' ? ruleOf(change.previous) : change.line.rationale.rule;
    const activity =
      change.kind === 'create'
        ? {
            code: 'CREATE',
            display: 'create',
            text: `charge capture created ${describeCharge(item)} by rule ${rule ?? '?'}`,
          }
        : change.kind === 'update'
          ? {
              code: 'UPDATE',
              display: 'revise',
              text: `charge capture recomputed ${describeCharge(item)} by rule ${rule ?? '?'} (was ${describeCharge(change.previous)})`,
            }
          : {
              code: 'NULLIFY',
              display: 'nullify',
              text: `charge capture voided ${describeCharge(item)} (rule ${rule ?? '?'})`,
            };
    const target = `ChargeItem/${item.id}/_history/${version}`;
    return {
      resourceType: 'Provenance',
      id: `prov-${shortHash(target)}`,
      target: [{ reference: target }],
      recorded: now.toISOString(),
      activity: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
            code: activity.code,
            display: activity.display,
          },
        ],
        text: activity.text,
      },
      reason: [
        {
          text: change.kind === 'void' ? change.reason : `rule ${rule ?? '?'}: ${change.line.rationale.text}`,
        },
      ],
      agent: [
        {
          type: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
                code: 'assembler',
                display: 'Assembler',
              },
            ],
          },
          who: {
            identifier: { system: AGENT_SYSTEM, value: 'charge-capture' },
            display: 'Dripline charge capture',
          },
        },
      ],
      entity,
    };
  }
}

/**
 * A view of `store` that calls `onEnqueue` after a job of `queue` was enqueued through it (single
 * enqueue or inside a batch): ingest's encounter-changed events wake charge capture in the same
 * process instead of waiting for its poll.
 */
export function notifyOnEnqueue(store: Store, queue: string, onEnqueue: () => void): Store {
  const resources = new Proxy(store.resources, {
    get(target, prop) {
      if (prop === 'writeBatch') {
        return async (tenant: TenantId, operations: readonly BatchOperation[]) => {
          const result = await target.writeBatch(tenant, operations);
          if (operations.some((o) => o.op === 'enqueue' && o.job.queue === queue)) {
            onEnqueue();
          }
          return result;
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const jobs = new Proxy(store.jobs, {
    get(target, prop) {
      if (prop === 'enqueue') {
        return async (...args: Parameters<Store['jobs']['enqueue']>) => {
          const result = await target.enqueue(...args);
          if (args[1].queue === queue) {
            onEnqueue();
          }
          return result;
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'resources') {
        return resources;
      }
      if (prop === 'jobs') {
        return jobs;
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
