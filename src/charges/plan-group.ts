/**
 * Planning one encounter group's charges: code its ready encounters with the engine, read what the
 * plan reconciles with (the stored charges, the administrations they name, the group's Tasks), and
 * hand both to the pure planner (./reconcile.ts). Reads only; the worker writes the plan.
 */
import type { Coverage, MedicationAdministration } from '@medplum/fhirtypes';
import { codeEncounters } from '../coding/engine/index.ts';
import { legacyChargeItemId, toChargeItems } from '../coding/fhir/emit.ts';
import type { EmitContext } from '../coding/fhir/emit.ts';
import { extractCodingInput } from '../coding/fhir/extract.ts';
import type { CodingTables } from '../coding/tables/types.ts';
import type { CodingIssue, TenantCodingOptions } from '../coding/types.ts';
import type { StoredResource } from '../store/port.ts';
import type { GroupInputs, GroupReader } from './group.ts';
import { byReference, deletedAtSource, offsetOf, refOf } from './group.ts';
import type {
  AdministrationState,
  CapturePlan,
  ProducedCharge,
  StoredChargeItem,
  StoredTask,
} from './reconcile.ts';
import { correctedClaimTaskId, documentationTaskId, planCapture } from './reconcile.ts';

export interface PlanOptions {
  readonly tables: CodingTables;
  /** The tenant's coding options (340B modifier, time zone or fixed UTC offset). */
  readonly coding?: TenantCodingOptions;
  readonly now: () => Date;
}

/**
 * The plan for a gathered group: the engine's charges for its ready encounters (or the reason they
 * cannot be coded), compared with the stored charges, their administrations and the group's Tasks.
 */
export async function planGroup(
  reader: GroupReader,
  gathered: GroupInputs,
  { tables, coding: configured, now }: PlanOptions,
): Promise<CapturePlan> {
  const scopes = new Map(gathered.scopes);
  const issues = new Map<string, CodingIssue[]>();
  const addIssue = (encounter: string, issue: CodingIssue): void => {
    issues.set(encounter, [...(issues.get(encounter) ?? []), issue]);
  };
  let produced: ProducedCharge[] = [];
  let held = new Set<string>();
  const ready = [...scopes].filter(([, s]) => s.state === 'ready').map(([ref]) => ref);

  if (ready.length > 0) {
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
      const result = codeEncounters(extracted.input, tables);
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
      const coverage = primaryCoverage(gathered);
      const ctx: EmitContext = {
        patient: { reference: gathered.patient ?? extracted.patient ?? 'Patient/unknown' },
        setting: extracted.input.setting,
        now: now(),
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
    for (const item of await reader.search('ChargeItem', byReference('encounter', ref))) {
      existing.set(item.id, item as StoredChargeItem);
    }
  }
  // Under its id, or the id lines had before (kept by the charges stored then).
  const elsewhere = produced
    .map((p) => [p.resource.id, legacyChargeItemId(p.line)] as const)
    .filter(([id, legacy]) => !existing.has(id) && !existing.has(legacy))
    .flatMap(([id, legacy]) => [`ChargeItem/${id}`, `ChargeItem/${legacy}`]);
  for (const stored of (await reader.readMany(elsewhere)).values()) {
    existing.set(stored.id, stored as StoredChargeItem);
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
        const ma = (await reader.read(ref)) as (MedicationAdministration & StoredResource) | undefined;
        const encounter = refOf(ma?.context);
        administrations.set(ref, {
          ...(ma ? { status: ma.status } : {}),
          ...(encounter ? { encounter } : {}),
          deleted: ma ? deletedAtSource(ma) : true,
        });
        if (ma) {
          noteVersion(gathered, ma);
        }
      }
    }
  }

  const tasks = new Map<string, StoredTask>();
  const taskIds = [
    ...[...scopes.keys()].map((ref) => documentationTaskId(ref)),
    ...[...gathered.claims].map(([ref, claim]) => correctedClaimTaskId(`Claim/${claim.id}`, ref)),
  ];
  for (const task of (await reader.readMany(taskIds.map((id) => `Task/${id}`))).values()) {
    tasks.set(task.id, task as StoredTask);
  }

  const claims = new Map([...gathered.claims].filter(([ref]) => scopes.has(ref)));
  return planCapture({
    now: now(),
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

/** A resource read while planning joins the group's versions (its Provenance names them). */
function noteVersion(gathered: GroupInputs, resource: StoredResource): void {
  (gathered.versions as Map<string, string>).set(
    `${resource.resourceType}/${resource.id}`,
    resource.meta.versionId,
  );
}

/** The patient's primary coverage among the group's inputs (the charges' coverage and insurer). */
export function primaryCoverage(gathered: GroupInputs): (Coverage & StoredResource) | undefined {
  return gathered.resources
    .filter((r): r is Coverage & StoredResource => r.resourceType === 'Coverage')
    .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
    .filter((c) => !gathered.patient || refOf(c.beneficiary) === gathered.patient)
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || a.id.localeCompare(b.id))[0];
}
