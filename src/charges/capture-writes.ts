/**
 * What charge capture writes for a plan, as one batch: each ChargeItem version, one Provenance for
 * each kind of change it makes (the exact stored versions the charges came from, and each charge's
 * rule), the work Tasks, and the AuditEvent of the transaction. Pure apart from the AuditEvent's id;
 * the worker hands the operations to the store.
 */
import { createHash } from 'node:crypto';
import type { ChargeItem, MedicationAdministration, Provenance, ProvenanceEntity } from '@medplum/fhirtypes';
import type { AuditLifecycle } from '../fhir/audit.ts';
import { buildAuditEvent, newAuditEventId, patientsOf } from '../fhir/audit.ts';
import { validateWithOwnProfiles } from '../fhir/definitions.ts';
import type { BatchOperation } from '../store/port.ts';
import type { GroupInputs } from './group.ts';
import { refOf } from './group.ts';
import { primaryCoverage } from './plan-group.ts';
import type { CapturePlan, ChargeChange } from './reconcile.ts';
import { describeCharge, ruleOf, withoutStamp } from './reconcile.ts';
import { ID_AGENT } from '../contract/canonical.ts';

export const CHARGE_CAPTURE_CLIENT = 'dripline/charge-capture';

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 40);
}

/**
 * The one transaction that applies a plan: every ChargeItem change, a Provenance for each kind of
 * change (created, recomputed, voided), the Tasks, and one AuditEvent naming everything written —
 * each entity says whether it was created or changed (as the claim workflow's events do), the
 * patients those resources belong to. One event and one Provenance per activity instead of one
 * per resource written: FHIR's Provenance is one activity with all its targets (R4 §6.3, target
 * 1..*), and each ChargeItem carries its own rule and its `service` and `context` references, so
 * the charge's exact source versions are the Provenance entities those references name. Each
 * resource is validated (its profiles too) before it is written.
 */
export function captureOperations(
  gathered: GroupInputs,
  plan: CapturePlan,
  now: Date,
  publicUrl: string,
): BatchOperation[] {
  const operations: BatchOperation[] = [];
  const written = new Map<string, AuditLifecycle>();
  const patients = new Set<string>();
  const byKind = new Map<ChargeChange['kind'], VersionedChange[]>();
  for (const change of plan.changes) {
    const version = change.kind === 'create' ? '1' : String(Number(change.previous.meta.versionId) + 1);
    const resource = withoutStamp(change.resource);
    validateWithOwnProfiles(resource);
    operations.push(
      change.kind === 'create'
        ? { op: 'create', resource, options: { id: resource.id } }
        : {
            op: 'update',
            resource,
            options: { ifMatchVersion: change.previous.meta.versionId, upsert: false },
          },
    );
    const ofKind = byKind.get(change.kind) ?? [];
    ofKind.push({ change, version });
    byKind.set(change.kind, ofKind);
    written.set(
      `ChargeItem/${resource.id}/_history/${version}`,
      change.kind === 'create' ? 'originate' : 'amend',
    );
    patientsOf(resource).forEach((p) => patients.add(p));
  }
  for (const [kind, changes] of byKind) {
    const provenance = provenanceOf(gathered, kind, changes, now);
    validateWithOwnProfiles(provenance);
    operations.push({ op: 'create', resource: provenance, options: { id: provenance.id } });
    written.set(`Provenance/${provenance.id}`, 'originate');
  }
  for (const write of plan.tasks) {
    const resource = withoutStamp(write.resource);
    validateWithOwnProfiles(resource);
    const version = write.previous ? String(Number(write.previous.meta.versionId) + 1) : '1';
    operations.push(
      write.previous
        ? {
            op: 'update',
            resource,
            options: { ifMatchVersion: write.previous.meta.versionId, upsert: false },
          }
        : { op: 'create', resource, options: { id: resource.id } },
    );
    written.set(`Task/${resource.id}/_history/${version}`, write.previous ? 'amend' : 'originate');
    patientsOf(resource).forEach((p) => patients.add(p));
  }
  if (written.size > 0) {
    const changed = [...written.values()].includes('amend');
    const event = buildAuditEvent({
      id: newAuditEventId(),
      now,
      interaction: changed ? 'update' : 'create',
      outcome: '0',
      clientId: CHARGE_CAPTURE_CLIENT,
      resources: [...written.keys()],
      patients: [...patients],
      publicUrl,
      lifecycles: Object.fromEntries(written),
    });
    operations.push({ op: 'create', resource: event, options: { id: event.id } });
  }
  return operations;
}

interface VersionedChange {
  readonly change: ChargeChange;
  /** The ChargeItem version this change writes. */
  readonly version: string;
}

const ACTIVITY: Readonly<Record<ChargeChange['kind'], { code: string; display: string; verb: string }>> = {
  create: { code: 'CREATE', display: 'create', verb: 'created' },
  update: { code: 'UPDATE', display: 'revise', verb: 'recomputed' },
  void: { code: 'NULLIFY', display: 'nullify', verb: 'voided' },
};

/**
 * Where one kind of change's ChargeItem versions came from: the exact stored versions of their
 * sources (administrations, their encounters and medications, the charge's encounter, the primary
 * coverage), each previous version a change replaces (`revision`), and each charge's rule.
 */
function provenanceOf(
  gathered: GroupInputs,
  kind: ChargeChange['kind'],
  changes: readonly VersionedChange[],
  now: Date,
): Provenance & { id: string } {
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
  const coverage = kind === 'void' ? undefined : primaryCoverage(gathered);
  const revisions: ProvenanceEntity[] = [];
  const reasons: string[] = [];
  const descriptions: string[] = [];
  for (const { change } of changes) {
    const item: ChargeItem & { id: string } = change.resource;
    for (const service of item.service ?? []) {
      const ma = refOf(service);
      add(ma);
      const resource = ma ? (byRef.get(ma) as MedicationAdministration | undefined) : undefined;
      add(refOf(resource?.context));
      add(refOf(resource?.medicationReference));
    }
    add(refOf(item.context));
    add(coverage ? `Coverage/${coverage.id}` : undefined);
    if (change.kind !== 'create') {
      revisions.push({
        role: 'revision',
        what: { reference: `ChargeItem/${item.id}/_history/${change.previous.meta.versionId}` },
      });
    }
    const rule = change.kind === 'void' ? ruleOf(change.previous) : change.line.rationale.rule;
    descriptions.push(
      change.kind === 'update'
        ? `${describeCharge(item)} by rule ${rule ?? '?'} (was ${describeCharge(change.previous)})`
        : `${describeCharge(item)} (rule ${rule ?? '?'})`,
    );
    reasons.push(
      change.kind === 'void' ? change.reason : `rule ${rule ?? '?'}: ${change.line.rationale.text}`,
    );
  }
  const entity: ProvenanceEntity[] = [
    ...sources.map((ref) => ({ role: 'source' as const, what: { reference: versioned(ref) } })),
    ...revisions,
  ];
  const targets = changes.map(
    ({ change, version }) => `ChargeItem/${change.resource.id}/_history/${version}`,
  );
  const activity = ACTIVITY[kind];
  return {
    resourceType: 'Provenance',
    id: `prov-${shortHash(`${kind} ${targets.join(' ')}`)}`,
    target: targets.map((reference) => ({ reference })),
    recorded: now.toISOString(),
    activity: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
          code: activity.code,
          display: activity.display,
        },
      ],
      text: `charge capture ${activity.verb} ${descriptions.join('; ')}`,
    },
    // One reason per target, in target order: why that charge version says what it says.
    reason: reasons.map((text, i) => ({ text: `${targets[i] ?? ''}: ${text}` })),
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
          identifier: { system: ID_AGENT, value: 'charge-capture' },
          display: 'Dripline charge capture',
        },
      },
    ],
    entity,
  };
}
