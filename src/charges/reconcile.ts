/**
 * Charge reconciliation, pure: what the coding engine produced for a group of encounters, compared
 * with the ChargeItems charge capture stored for them before, gives the writes that make the store
 * agree — create, update (content changed), void (no longer produced) — plus the work Tasks:
 * "corrected claim needed" for encounters whose claim was already submitted (their charges are
 * never changed silently) and "documentation issues" for what held administrations back.
 *
 * Same inputs give the same plan, and a plan applied gives an empty plan next time: that is what
 * makes charge capture idempotent and safe to retry.
 */
import { createHash } from 'node:crypto';
import type { Annotation, ChargeItem, Claim, CodeableConcept, Task, TaskInput } from '@medplum/fhirtypes';
import type { ChargeLine, CodingIssue } from '../coding/types.ts';
import type { StoredResource } from '../store/port.ts';
import { normalizeReference } from '../store/search-index.ts';
import {
  CS_CODING_ISSUE,
  CS_WORK_ITEM,
  EXT_CHARGE_LINE_KEY,
  EXT_CHARGE_MODIFIER,
  EXT_CODING_RATIONALE,
  EXT_NDC_QUANTITY,
  EXT_REVENUE_CODE,
} from '../contract/canonical.ts';

export const CORRECTED_CLAIM_TASK = { code: 'corrected-claim', text: 'corrected claim needed' } as const;
export const DOCUMENTATION_TASK = { code: 'documentation-issues', text: 'documentation issues' } as const;

export type StoredChargeItem = ChargeItem & StoredResource;
export type StoredTask = Task & StoredResource;

/** A ChargeItem the engine produced, with the line it came from. */
export interface ProducedCharge {
  readonly resource: ChargeItem & { id: string };
  readonly line: ChargeLine;
}

/** How this run treats one encounter of the group. */
export type EncounterScope =
  /** Finished (or an active home episode): its charges are recomputed. */
  | { readonly state: 'ready' }
  /** Entered in error, cancelled or deleted at the EHR: every charge it had is voided. */
  | { readonly state: 'void'; readonly reason: string }
  /** Could not be coded at all (e.g. no care setting): charges untouched, the issues go to the Task. */
  | { readonly state: 'uncodable' };

/** What is known about an administration referenced by a stored ChargeItem. */
export interface AdministrationState {
  readonly status?: string;
  readonly encounter?: string;
  readonly deleted?: boolean;
}

export interface PlanInput {
  readonly now: Date;
  readonly patient?: string;
  /** By "Encounter/id"; encounters not listed (not finished yet) are left untouched. */
  readonly encounters: ReadonlyMap<string, EncounterScope>;
  readonly produced: readonly ProducedCharge[];
  /** ChargeItems stored for the encounters (only those charge capture made are considered). */
  readonly existing: readonly StoredChargeItem[];
  /** The submitted (status active) Claim of an encounter, by "Encounter/id". */
  readonly submittedClaims: ReadonlyMap<string, Claim & { id: string }>;
  /** Documentation issues (errors and warnings) by "Encounter/id", for ready encounters. */
  readonly issues: ReadonlyMap<string, readonly CodingIssue[]>;
  /** Administrations the engine held back (no line). */
  readonly held: ReadonlySet<string>;
  /** By "MedicationAdministration/id", for void reasons. */
  readonly administrations: ReadonlyMap<string, AdministrationState>;
  /** Current Tasks by id (the ids of `correctedClaimTaskId` / `documentationTaskId`). */
  readonly tasks: ReadonlyMap<string, StoredTask>;
}

export type ChargeChange =
  | { readonly kind: 'create'; readonly resource: ChargeItem & { id: string }; readonly line: ChargeLine }
  | {
      readonly kind: 'update';
      readonly resource: ChargeItem & { id: string };
      readonly previous: StoredChargeItem;
      readonly line: ChargeLine;
    }
  | {
      readonly kind: 'void';
      readonly resource: ChargeItem & { id: string };
      readonly previous: StoredChargeItem;
      readonly reason: string;
    };

export interface TaskWrite {
  readonly resource: Task & { id: string };
  readonly previous?: StoredTask;
}

export interface CapturePlan {
  /** ChargeItem writes to apply. */
  readonly changes: readonly ChargeChange[];
  /** Changes not applied because the encounter's claim was submitted, by "Claim/id". */
  readonly deferred: ReadonlyMap<string, readonly ChargeChange[]>;
  readonly tasks: readonly TaskWrite[];
  /** Produced ChargeItems already stored with the same content. */
  readonly unchanged: number;
}

function hash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 40);
}

/** Stable Task ids, so a repeated run refreshes the one Task instead of adding another. */
export function correctedClaimTaskId(claim: string, encounter: string): string {
  return `dl-cc-${hash(`corrected-claim|${claim}|${encounter}`)}`;
}

export function documentationTaskId(encounter: string): string {
  return `dl-doc-${hash(`documentation-issues|${encounter}`)}`;
}

/** ChargeItems charge capture made (it never touches ones entered by people or other software). */
export function isCaptured(item: ChargeItem): boolean {
  return (item.extension ?? []).some((e) => e.url === EXT_CHARGE_LINE_KEY);
}

/** The coding line a captured ChargeItem was made for (its line-key extension). */
function lineKeyOf(item: ChargeItem): string | undefined {
  return item.extension?.find((e) => e.url === EXT_CHARGE_LINE_KEY)?.valueString;
}

/** JSON with sorted keys: stored resources may come back with another key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** What billing content a ChargeItem carries: everything but store metadata and when it was entered. */
function billingContent(item: ChargeItem): string {
  const { meta, enteredDate: _entered, note: _note, ...rest } = item;
  return canonicalJson({ ...rest, profile: meta?.profile ?? [] });
}

/** A resource as written back: store-stamped meta fields dropped (the store stamps the new version). */
export function withoutStamp<T extends { meta?: StoredResource['meta'] | ChargeItem['meta'] }>(
  resource: T,
): T {
  if (!resource.meta) {
    return resource;
  }
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta;
  return { ...resource, meta };
}

/** "96366 ×1 (mod 59)" — how a charge reads in a work item. */
export function describeCharge(item: ChargeItem): string {
  const code = item.code?.coding?.[0]?.code ?? item.code?.text ?? 'charge';
  const modifiers = (item.extension ?? [])
    .filter((e) => e.url === EXT_CHARGE_MODIFIER)
    .map((e) => e.valueCoding?.code)
    .filter((c): c is string => c !== undefined);
  const units = item.quantity?.value ?? 0;
  return `${code} ×${units}${modifiers.length > 0 ? ` ${modifiers.join('-')}` : ''}`;
}

/** Which parts of a charge differ, in billing words ("units", "diagnoses", ...). */
export function changedParts(previous: ChargeItem, next: ChargeItem): string[] {
  const ext = (item: ChargeItem, url: string): string =>
    canonicalJson((item.extension ?? []).filter((e) => e.url === url));
  const parts: [string, (item: ChargeItem) => unknown][] = [
    ['status', (i) => i.status],
    ['code', (i) => i.code],
    ['units', (i) => i.quantity],
    ['modifiers', (i) => ext(i, EXT_CHARGE_MODIFIER)],
    ['NDC', (i) => [i.productCodeableConcept, ext(i, EXT_NDC_QUANTITY)]],
    ['revenue code', (i) => ext(i, EXT_REVENUE_CODE)],
    ['diagnoses', (i) => i.reason],
    ['administrations', (i) => i.service],
    ['date of service', (i) => i.occurrenceDateTime ?? i.occurrencePeriod],
    ['patient', (i) => i.subject],
    ['rationale', (i) => ext(i, EXT_CODING_RATIONALE)],
  ];
  const changed = parts
    .filter(([, get]) => canonicalJson(get(previous)) !== canonicalJson(get(next)))
    .map(([n]) => n);
  return changed.length > 0 || billingContent(previous) === billingContent(next)
    ? changed
    : ['other content'];
}

export function ruleOf(item: ChargeItem): string | undefined {
  return item.extension?.find((e) => e.url === EXT_CODING_RATIONALE)?.extension?.find((e) => e.url === 'rule')
    ?.valueString;
}

function describeChange(change: ChargeChange): string {
  switch (change.kind) {
    case 'create':
      return `add ${describeCharge(change.resource)} (rule ${change.line.rationale.rule}: ${change.line.rationale.text})`;
    case 'update':
      return `change ${changedParts(change.previous, change.resource).join(', ')} of ChargeItem/${change.resource.id}: ${describeCharge(change.previous)} → ${describeCharge(change.resource)} (rule ${change.line.rationale.rule}: ${change.line.rationale.text})`;
    case 'void':
      return `void ChargeItem/${change.resource.id} ${describeCharge(change.previous)}: ${change.reason}`;
    default:
      return change satisfies never;
  }
}

const ACTION_TEXT: Readonly<Record<ChargeChange['kind'], string>> = {
  create: 'charge to add',
  update: 'charge to change',
  void: 'charge to void',
};

/** Why a stored charge is no longer produced, in words a biller can act on. */
function voidReason(
  previous: StoredChargeItem,
  input: PlanInput,
  produced: readonly ProducedCharge[],
): string {
  const encounter = previous.context?.reference ? normalizeReference(previous.context.reference) : undefined;
  const scope = encounter ? input.encounters.get(encounter) : undefined;
  if (scope?.state === 'void') {
    return scope.reason;
  }
  for (const service of previous.service ?? []) {
    const ref = service.reference ? normalizeReference(service.reference) : undefined;
    if (!ref) {
      continue;
    }
    const state = input.administrations.get(ref);
    if (state?.deleted) {
      return `${ref} was deleted in the EHR`;
    }
    if (state?.status === 'entered-in-error') {
      return `${ref} was marked entered-in-error in the EHR`;
    }
    if (state?.status === 'not-done') {
      return `${ref} is documented as not done`;
    }
    if (state?.encounter && encounter && state.encounter !== encounter) {
      return `${ref} now belongs to ${state.encounter}`;
    }
    if (input.held.has(ref.split('/')[1] ?? '')) {
      return `${ref} is held for documentation issues (see the documentation issues Task)`;
    }
  }
  const services = new Set((previous.service ?? []).map((s) => s.reference));
  const replacements = produced
    .filter((p) => (p.resource.service ?? []).some((s) => services.has(s.reference)))
    .map((p) => `ChargeItem/${p.resource.id} ${describeCharge(p.resource)}`);
  return replacements.length > 0
    ? `the corrected documentation is coded differently; replaced by ${replacements.join(', ')}`
    : 'the current documentation no longer produces this charge';
}

function correctedClaimTask(
  input: PlanInput,
  claim: Claim & { id: string },
  encounter: string,
  changes: readonly ChargeChange[],
  previous: StoredTask | undefined,
): Task & { id: string } {
  const now = input.now.toISOString();
  const pending = changes.length > 0;
  const patient = input.patient ?? claim.patient?.reference;
  return {
    resourceType: 'Task',
    id: correctedClaimTaskId(`Claim/${claim.id}`, encounter),
    status: pending ? 'requested' : 'cancelled',
    ...(pending
      ? {}
      : { statusReason: { text: 'the charges again match the submitted claim: no correction needed' } }),
    intent: 'order',
    priority: 'routine',
    code: {
      coding: [{ system: CS_WORK_ITEM, code: CORRECTED_CLAIM_TASK.code }],
      text: CORRECTED_CLAIM_TASK.text,
    },
    description: `The documentation of ${encounter} changed after Claim/${claim.id} was submitted; its charges were left as billed. Submit a corrected (replacement) claim with the changes below.`,
    focus: { reference: `Claim/${claim.id}` },
    ...(patient ? { for: { reference: patient } } : {}),
    encounter: { reference: encounter },
    authoredOn: previous?.authoredOn ?? now,
    lastModified: now,
    ...(changes.length > 0
      ? {
          input: changes.map((c): TaskInput => ({
            type: { text: ACTION_TEXT[c.kind] },
            ...(c.kind === 'create'
              ? { valueString: describeChange(c) }
              : { valueReference: { reference: `ChargeItem/${c.resource.id}`, display: describeChange(c) } }),
          })),
        }
      : {}),
  };
}

function issueText(issue: CodingIssue, held: ReadonlySet<string>): string {
  const heldText =
    issue.administrationId && held.has(issue.administrationId) ? ' — held: no charge until corrected' : '';
  return `${issue.message}${heldText}`;
}

function issueConcept(issue: CodingIssue): CodeableConcept {
  return {
    coding: [{ system: CS_CODING_ISSUE, code: issue.code }],
    text: `${issue.severity}: ${issue.code}`,
  };
}

function documentationTask(
  input: PlanInput,
  encounter: string,
  issues: readonly CodingIssue[],
  previous: StoredTask | undefined,
): Task & { id: string } {
  const now = input.now.toISOString();
  const open = issues.length > 0;
  const held = issues.filter((i) => i.administrationId && input.held.has(i.administrationId)).length;
  return {
    resourceType: 'Task',
    id: documentationTaskId(encounter),
    status: open ? 'requested' : 'completed',
    intent: 'order',
    priority: 'routine',
    code: {
      coding: [{ system: CS_WORK_ITEM, code: DOCUMENTATION_TASK.code }],
      text: DOCUMENTATION_TASK.text,
    },
    description: open
      ? `${issues.length} documentation issue(s) in ${encounter}${held > 0 ? `; ${held} administration(s) held without a charge` : ''}. Correct the documentation in the EHR; charges are recomputed when it changes.`
      : `No documentation issues remain in ${encounter}.`,
    focus: { reference: encounter },
    ...(input.patient ? { for: { reference: input.patient } } : {}),
    encounter: { reference: encounter },
    authoredOn: previous?.authoredOn ?? now,
    lastModified: now,
    ...(open
      ? {
          input: issues.map((issue): TaskInput => ({
            type: issueConcept(issue),
            ...(issue.administrationId
              ? {
                  valueReference: {
                    reference: `MedicationAdministration/${issue.administrationId}`,
                    display: issueText(issue, input.held),
                  },
                }
              : { valueString: issueText(issue, input.held) }),
          })),
        }
      : {}),
  };
}

/** Task content that matters for "did anything change" (not when it was last looked at). */
function taskContent(task: Task): string {
  const { meta: _m, lastModified: _lm, authoredOn: _a, ...rest } = task;
  return canonicalJson(rest);
}

function taskWrite(next: Task & { id: string }, previous: StoredTask | undefined): TaskWrite | undefined {
  if (previous && taskContent(previous) === taskContent(next)) {
    return undefined;
  }
  return previous ? { resource: next, previous } : { resource: next };
}

/** The writes (and Tasks) that make the stored charges agree with what was produced. */
export function planCapture(input: PlanInput): CapturePlan {
  const now = input.now.toISOString();
  const inScope = (item: ChargeItem): string | undefined => {
    const ref = item.context?.reference ? normalizeReference(item.context.reference) : undefined;
    return ref && input.encounters.has(ref) ? ref : undefined;
  };
  const existing = new Map(input.existing.filter(isCaptured).map((c) => [c.id, c]));
  const byLineKey = new Map([...existing.values()].map((c) => [lineKeyOf(c), c]));
  // A line's stored charge is found by its id, or by its line key when it was stored under the id
  // lines had before (../coding/fhir/emit.ts legacyChargeItemId): it keeps that id.
  const produced = input.produced
    .filter((p) => input.encounters.get(inScope(p.resource) ?? '')?.state === 'ready')
    .map((p): ProducedCharge => {
      const stored = existing.has(p.resource.id) ? undefined : byLineKey.get(p.line.key);
      return stored ? { ...p, resource: { ...p.resource, id: stored.id } } : p;
    });
  const producedIds = new Set(produced.map((p) => p.resource.id));

  const byEncounter = new Map<string, ChargeChange[]>();
  const add = (encounter: string, change: ChargeChange): void => {
    byEncounter.set(encounter, [...(byEncounter.get(encounter) ?? []), change]);
  };
  let unchanged = 0;

  for (const p of produced) {
    const encounter = inScope(p.resource) ?? '';
    const previous = existing.get(p.resource.id);
    if (!previous) {
      add(encounter, { kind: 'create', resource: p.resource, line: p.line });
      continue;
    }
    if (billingContent(previous) === billingContent(p.resource)) {
      unchanged++;
      continue;
    }
    add(encounter, {
      kind: 'update',
      resource: { ...p.resource, enteredDate: previous.enteredDate ?? p.resource.enteredDate },
      previous,
      line: p.line,
    });
  }

  for (const previous of [...existing.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const encounter = inScope(previous);
    if (
      !encounter ||
      input.encounters.get(encounter)?.state === 'uncodable' ||
      producedIds.has(previous.id) ||
      (previous.status !== 'billable' && previous.status !== 'planned')
    ) {
      continue;
    }
    const reason = voidReason(previous, input, produced);
    const note: Annotation = { time: now, text: `Voided by Dripline charge capture: ${reason}` };
    add(encounter, {
      kind: 'void',
      resource: {
        ...withoutStamp(previous),
        status: 'entered-in-error',
        note: [...(previous.note ?? []), note],
      },
      previous,
      reason,
    });
  }

  const changes: ChargeChange[] = [];
  const deferred = new Map<string, readonly ChargeChange[]>();
  const tasks: TaskWrite[] = [];
  for (const encounter of [...input.encounters.keys()].sort()) {
    const list = byEncounter.get(encounter) ?? [];
    const claim = input.submittedClaims.get(encounter);
    if (!claim) {
      changes.push(...list);
      continue;
    }
    // Submitted: the charges stay as billed; the differences go to the corrected-claim Task.
    deferred.set(`Claim/${claim.id}`, [...(deferred.get(`Claim/${claim.id}`) ?? []), ...list]);
    const id = correctedClaimTaskId(`Claim/${claim.id}`, encounter);
    const previous = input.tasks.get(id);
    if (list.length === 0 && (!previous || previous.status !== 'requested')) {
      continue;
    }
    const write = taskWrite(correctedClaimTask(input, claim, encounter, list, previous), previous);
    if (write) {
      tasks.push(write);
    }
  }

  for (const [encounter, scope] of [...input.encounters].sort(([a], [b]) => a.localeCompare(b))) {
    const id = documentationTaskId(encounter);
    const previous = input.tasks.get(id);
    const issues = scope.state === 'void' ? [] : (input.issues.get(encounter) ?? []);
    if (issues.length === 0 && (!previous || previous.status === 'completed')) {
      continue;
    }
    const write = taskWrite(documentationTask(input, encounter, issues, previous), previous);
    if (write) {
      tasks.push(write);
    }
  }

  return { changes, deferred, tasks, unchanged };
}
