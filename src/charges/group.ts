/**
 * An encounter group and everything its charges depend on, read from the store: the encounters
 * coded together (a home-infusion episode with its visits, or a patient's same-day visits in one
 * setting), how each is treated (recomputed, voided, not yet), the engine's inputs, the submitted
 * claims that hold charges, and the version of everything read (the group's fingerprint).
 * Separate from the worker so that reading is one story and coding/writing another.
 */
import { OperationOutcomeError } from '@medplum/core';
import type {
  Claim,
  Coverage,
  Encounter,
  MedicationAdministration,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { settingOf } from '../coding/fhir/extract.ts';
import type { CareSetting } from '../coding/types.ts';
import { DELETED_AT_SOURCE, hasCopyTag } from '../ingest/copies.ts';
import { hashText } from '../ingest/jobs.ts';
import type { Store, StoreFilter, StoredResource, TenantId, WrittenResource } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { addDays, localDate, startOfDay } from '../time/zone.ts';
import { holdsCharges } from './claim-hold.ts';
import type { EncounterScope } from './reconcile.ts';

/** Everything a group's charges depend on, read from the store. */
export interface GroupInputs {
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
  /** The day whose visits of the patient were searched for (an office or hospital visit's group). */
  readonly sameDay?: { readonly start: string; readonly end: string };
  /** References the inputs make that are not stored (yet): ingest stores a resource before what it references. */
  readonly missing: readonly string[];
}

export function isNotFound(err: unknown): boolean {
  return err instanceof OperationOutcomeError && err.outcome.id === 'not-found';
}

export function refOf(reference: Reference | undefined): string | undefined {
  return reference?.reference ? normalizeReference(reference.reference) : undefined;
}

export function deletedAtSource(resource: Resource): boolean {
  return hasCopyTag(resource, DELETED_AT_SOURCE);
}

/** The clinic's offset, as the EHR wrote it on the encounter's start ("…-05:00"), for dates of service. */
export function offsetOf(instant: string | undefined): string | undefined {
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

/** What decides an encounter's group (groupOf): its episode, patient, setting and day. */
function groupingOf(encounter: Encounter, zone: string | undefined): string {
  const start = encounter.period?.start;
  return JSON.stringify([
    refOf(encounter.partOf) ?? null,
    refOf(encounter.subject) ?? null,
    settingOf(encounter) ?? null,
    start ? (localDay(start, zone)?.start ?? start) : null,
  ]);
}

/** The instant `days` × 24 h after `instant` (negative: before). */
function shiftedByDays(instant: string, days: number): string {
  return new Date(Date.parse(instant) + days * 86_400_000).toISOString();
}

export function byReference(code: string, value: string): StoreFilter[] {
  return [{ code, kind: 'reference', values: [value] }];
}

/** One tenant's reads for charge capture, and the clinic's zone (or fixed offset) for its days. */
export interface GroupReader {
  readonly zone?: string;
  read(reference: string | undefined): Promise<StoredResource | undefined>;
  /**
   * Several references at once, by "Type/id" (those not stored are absent): one `_id` search per
   * type instead of a read each — a visit's charges and Task are looked for by their stable ids
   * before they exist, five or six misses a visit.
   */
  readMany(references: readonly string[]): Promise<Map<string, StoredResource>>;
  search(resourceType: string, filters: StoreFilter[]): Promise<StoredResource[]>;
}

/** Ids per `_id` search of `readMany`: well inside SQLite's parameter limit. */
const READ_MANY_CHUNK = 100;

/** `requested`, when given, collects every reference read, found or not (see inputsMoved). */
export function groupReader(
  store: Store,
  tenant: TenantId,
  zone: string | undefined,
  requested?: Set<string>,
): GroupReader {
  return {
    ...(zone ? { zone } : {}),
    async read(reference) {
      const normalized = reference ? normalizeReference(reference) : undefined;
      if (!normalized) {
        return undefined;
      }
      requested?.add(normalized);
      const [type, id] = normalized.split('/') as [string, string];
      try {
        return await store.resources.read(tenant, type, id);
      } catch (err) {
        if (isNotFound(err)) {
          return undefined;
        }
        throw err;
      }
    },
    async readMany(references) {
      const idsByType = new Map<string, Set<string>>();
      for (const reference of references) {
        const normalized = normalizeReference(reference);
        if (normalized) {
          requested?.add(normalized);
          const [type, id] = normalized.split('/') as [string, string];
          idsByType.set(type, (idsByType.get(type) ?? new Set()).add(id));
        }
      }
      const found = new Map<string, StoredResource>();
      for (const [type, ids] of idsByType) {
        const values = [...ids].map((value) => ({ value }));
        for (let i = 0; i < values.length; i += READ_MANY_CHUNK) {
          const filters: StoreFilter[] = [
            { code: '_id', kind: 'token', values: values.slice(i, i + READ_MANY_CHUNK) },
          ];
          for (const resource of await searchAll(store, tenant, type as Resource['resourceType'], filters)) {
            found.set(`${resource.resourceType}/${resource.id}`, resource);
          }
        }
      }
      return found;
    },
    async search(resourceType, filters) {
      // At most ~21,000 per read: one encounter's related resources never come near it.
      return searchAll(store, tenant, resourceType as Resource['resourceType'], filters, 21_000);
    },
  };
}

/** The encounters coded together with `encounter`. */
async function groupOf(
  reader: GroupReader,
  encounter: Encounter & StoredResource,
): Promise<{
  members: (Encounter & StoredResource)[];
  root: Encounter & StoredResource;
  setting?: CareSetting;
  sameDay?: { start: string; end: string };
}> {
  const parent = refOf(encounter.partOf);
  const root = ((parent ? await reader.read(parent) : undefined) ?? encounter) as Encounter & StoredResource;
  const rootRef = parent ?? `Encounter/${encounter.id}`;
  const byId = new Map<string, Encounter & StoredResource>([
    [root.id, root],
    [encounter.id, encounter],
  ]);
  for (const child of await reader.search('Encounter', byReference('part-of', rootRef))) {
    byId.set(child.id, child as Encounter & StoredResource);
  }
  const setting = settingOf(root) ?? settingOf(encounter);
  const patient = refOf(encounter.subject);
  const day = encounter.period?.start ? localDay(encounter.period.start, reader.zone) : undefined;
  const searchesDay = setting !== undefined && setting !== 'home' && !parent && patient && day;
  if (searchesDay) {
    // The patient's other visits in this setting that day (left and came back): coded together. A
    // visit is on the day it starts (its date of service), so the search is for periods starting
    // in the day — `sa` [day before, day start) is "starts at or after the day's start", `lt`
    // [day end, …) "starts before its end" (port.ts) — not for periods touching it: an encounter
    // left open in the EHR (in progress, no end) touches every later day, and a patient's open
    // visits were each read, and grouped, with every change of each of them.
    const sameDay = await reader.search('Encounter', [
      ...byReference('patient', patient),
      { code: 'date', kind: 'date', prefix: 'sa', start: shiftedByDays(day.start, -1), end: day.start },
      { code: 'date', kind: 'date', prefix: 'lt', start: day.end, end: shiftedByDays(day.end, 1) },
    ]);
    for (const other of sameDay as (Encounter & StoredResource)[]) {
      if (!other.partOf && settingOf(other) === setting) {
        byId.set(other.id, other);
      }
    }
  }
  const members = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  return { members, root, ...(setting ? { setting } : {}), ...(searchesDay ? { sameDay: day } : {}) };
}

/** How this run treats one member of the group; undefined: not finished yet (coded when it is). */
function scopeOf(
  member: Encounter,
  root: { readonly id?: string | undefined },
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

/**
 * Whether a run of charge capture could hold this version of the encounter in scope (ready or
 * void), wherever it stands in a group. Over-inclusive where the group decides: an encounter
 * without a care setting may be the root of a home episode (a visit's setting then counts:
 * groupOf), and one whose parent is not stored is its own group's root. Ingest starts no capture
 * for the changes of an encounter no version of which could be coded (src/ingest/copies.ts
 * NOT_CODABLE_YET): such an encounter gives its group nothing (only members in scope are coded).
 */
export function mayBeCoded(encounter: Encounter): boolean {
  return scopeOf(encounter, encounter, settingOf(encounter) ?? 'home') !== undefined;
}

/**
 * The encounters a version of an encounter was (or would be) coded with, itself left out: its
 * group as that version groups it (its patient's visits that day in its setting, its episode),
 * with the other members as they are now. None when that version could not be coded (it gave its
 * group nothing). Charge capture recomputes those a changed encounter left (moved to another day,
 * patient or episode): their charges were coded with it.
 */
export async function codedWith(
  reader: GroupReader,
  version: Encounter & StoredResource,
  /** The encounter as it is now: nothing is read when both are grouped alike (most changes). */
  current?: Encounter,
): Promise<string[]> {
  if (
    !mayBeCoded(version) ||
    (current && groupingOf(current, reader.zone) === groupingOf(version, reader.zone))
  ) {
    return [];
  }
  const { members } = await groupOf(reader, version);
  return members.filter((m) => m.id !== version.id).map((m) => `Encounter/${m.id}`);
}

/**
 * The group of `reference` (undefined when that encounter is not stored yet: its arrival emits
 * another event) and everything its charges depend on.
 */
export async function gatherGroup(reader: GroupReader, reference: string): Promise<GroupInputs | undefined> {
  const encounter = (await reader.read(reference)) as (Encounter & StoredResource) | undefined;
  if (!encounter) {
    return undefined; // not stored (yet): its arrival emits another event
  }
  const parent = refOf(encounter.partOf);
  const own = scopeOf(
    encounter,
    { id: parent?.split('/')[1] ?? encounter.id },
    parent ? undefined : settingOf(encounter),
  );
  if (!own && !(await everCharged(reader, `Encounter/${encounter.id}`))) {
    // This encounter is not finished (nor void, nor an open home episode) and never was (no
    // charge names it): a member out of scope gives the coding nothing (only ready members'
    // administrations are read), so its change can alter no member's plan — the others' own
    // changes recompute them. (One that was coded and is reopened is read in full: its leaving
    // the group's coding may change the others' charges, a second visit's modifiers or an
    // episode's per diems.) Nothing else is read: the same-day and part-of searches were half the
    // cost of each change of a visit before it finishes (bench:ingest's day shape: four of every
    // five notifications).
    const patient = refOf(encounter.subject);
    return nothingToCode({
      members: [encounter],
      scopes: new Map(),
      ...(patient ? { patient } : {}),
      versions: new Map([[`Encounter/${encounter.id}`, encounter.meta.versionId]]),
    });
  }
  const { members, root, setting, sameDay } = await groupOf(reader, encounter);
  const versions = new Map<string, string>();
  const note = (r: StoredResource): void => {
    versions.set(`${r.resourceType}/${r.id}`, r.meta.versionId);
  };
  members.forEach(note);

  const scopes = new Map<string, EncounterScope>();
  for (const member of members) {
    const scope = scopeOf(member, root, setting);
    if (scope) {
      scopes.set(`Encounter/${member.id}`, scope);
    }
  }
  const patient = refOf(encounter.subject) ?? refOf(root.subject);
  const group = {
    members,
    scopes,
    ...(setting ? { setting } : {}),
    ...(patient ? { patient } : {}),
    ...(sameDay ? { sameDay } : {}),
    versions,
  };
  if (scopes.size === 0) {
    // No member is ready or void: the plan is empty whatever else holds (planCapture plans charges
    // and Tasks for the encounters in scope only), so nothing more is read — the patient, coverage
    // and claims were four reads of each change of a visit before it finishes. Its finishing codes it.
    return nothingToCode(group);
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
        const found = await reader.read(normalized);
        if (found) {
          keep(found);
        } else if (required) {
          missing.push(normalized);
        }
      }
    }
  };

  for (const member of ready) {
    for (const found of await reader.search(
      'MedicationAdministration',
      byReference('encounter', `Encounter/${member.id}`),
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
  if (patient) {
    await follow([{ reference: patient }]);
    const coverages = await reader.search('Coverage', byReference('patient', patient));
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
    const active = (await reader.search('Claim', byReference('encounter', ref)))
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

  return {
    ...group,
    resources,
    claims,
    fingerprint: fingerprintOf(versions),
    missing: ready.length > 0 ? missing : [],
  };
}

/** Whether any ChargeItem names the encounter (charge capture coded it once, at least). */
async function everCharged(reader: GroupReader, encounter: string): Promise<boolean> {
  return (await reader.search('ChargeItem', byReference('encounter', encounter))).length > 0;
}

/** A group with no member in scope, read no further: its plan is empty. */
function nothingToCode(
  group: Pick<GroupInputs, 'members' | 'scopes' | 'patient' | 'versions' | 'setting' | 'sameDay'>,
): GroupInputs {
  return {
    ...group,
    resources: [],
    claims: new Map(),
    fingerprint: fingerprintOf(group.versions),
    missing: [],
  };
}

/** The exact versions a group was read at, as one hash (the settle loop compares two reads). */
function fingerprintOf(versions: ReadonlyMap<string, string>): string {
  return hashText(
    [...versions]
      .map(([ref, v]) => `${ref}/${v}`)
      .sort()
      .join(','),
  );
}

/**
 * Whether a resource written since a group was gathered could be one of its inputs: one it read
 * (or looked for and did not find: a Medication stored after its administration), one that names a
 * member encounter (administrations, part-of visits, claims: the searches by encounter), the
 * patient's coverage, or the patient's encounter on the group's day (the same-day search). Another
 * resource of the patient is no input: nothing else is searched by patient. Over-inclusive where
 * in doubt: a false "moved" costs one more read of the group, a missed one a stale charge that no
 * later job would repair.
 */
export async function inputsMoved(
  reader: GroupReader,
  gathered: Pick<GroupInputs, 'members' | 'versions' | 'patient' | 'sameDay'>,
  requested: ReadonlySet<string>,
  written: readonly WrittenResource[],
): Promise<boolean> {
  const members = new Set(gathered.members.map((m) => `Encounter/${m.id}`));
  for (const w of written) {
    if (
      gathered.versions.has(w.reference) ||
      requested.has(w.reference) ||
      members.has(w.reference) ||
      w.references.some((r) => members.has(r))
    ) {
      return true;
    }
    if (!gathered.patient || !w.references.includes(gathered.patient)) {
      continue;
    }
    if (w.reference.startsWith('Coverage/')) {
      return true;
    }
    if (w.reference.startsWith('Encounter/') && gathered.sameDay) {
      const other = (await reader.read(w.reference)) as Encounter | undefined;
      if (!other || overlapsDay(other, gathered.sameDay)) {
        return true;
      }
    }
  }
  return false;
}

/** Whether an encounter's period may touch the day (no start: it may). */
function overlapsDay(encounter: Encounter, day: { start: string; end: string }): boolean {
  const start = Date.parse(encounter.period?.start ?? '');
  const end = encounter.period?.end ? Date.parse(encounter.period.end) : Number.POSITIVE_INFINITY;
  if (!Number.isFinite(start)) {
    return true;
  }
  return start <= Date.parse(day.end) && (Number.isNaN(end) || end >= Date.parse(day.start));
}
