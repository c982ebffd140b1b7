/**
 * What charge capture writes for a plan, as one batch: each ChargeItem version with its Provenance
 * (the exact stored versions it came from, and the rule) and AuditEvent, and the work Tasks. Pure
 * apart from the AuditEvent ids; the worker hands the operations to the store.
 */
import { createHash, randomUUID } from 'node:crypto';
import type {
  ChargeItem,
  MedicationAdministration,
  Provenance,
  ProvenanceEntity,
  Resource,
} from '@medplum/fhirtypes';
import { buildAuditEvent, patientsOf } from '../fhir/audit.ts';
import { validateWithOwnProfiles } from '../fhir/definitions.ts';
import type { BatchOperation } from '../store/port.ts';
import type { GroupInputs } from './group.ts';
import { refOf } from './group.ts';
import { primaryCoverage } from './plan-group.ts';
import type { CapturePlan, ChargeChange, TaskWrite } from './reconcile.ts';
import { describeCharge, ruleOf, withoutStamp } from './reconcile.ts';
import { ID_AGENT } from '../contract/canonical.ts';

export const CHARGE_CAPTURE_CLIENT = 'dripline/charge-capture';

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 40);
}

/**
 * The one transaction that applies a plan: every ChargeItem change with its Provenance and
 * AuditEvent, and the Tasks. Each resource is validated (its profiles too) before it is written.
 */
export function captureOperations(
  gathered: GroupInputs,
  plan: CapturePlan,
  now: Date,
  publicUrl: string,
): BatchOperation[] {
  const operations: BatchOperation[] = [];
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
    const provenance = provenanceOf(gathered, change, version, now);
    validateWithOwnProfiles(provenance);
    operations.push({ op: 'create', resource: provenance, options: { id: provenance.id } });
    operations.push(
      audit(
        change.kind === 'create' ? 'create' : 'update',
        [`ChargeItem/${resource.id}/_history/${version}`, `Provenance/${provenance.id}`],
        resource,
        now,
        publicUrl,
      ),
    );
  }
  for (const write of plan.tasks) {
    operations.push(...taskOperations(write, now, publicUrl));
  }
  return operations;
}

function taskOperations(write: TaskWrite, now: Date, publicUrl: string): BatchOperation[] {
  const resource = withoutStamp(write.resource);
  validateWithOwnProfiles(resource);
  const version = write.previous ? String(Number(write.previous.meta.versionId) + 1) : '1';
  return [
    write.previous
      ? {
          op: 'update',
          resource,
          options: { ifMatchVersion: write.previous.meta.versionId, upsert: false },
        }
      : { op: 'create', resource, options: { id: resource.id } },
    audit(
      write.previous ? 'update' : 'create',
      [`Task/${resource.id}/_history/${version}`],
      resource,
      now,
      publicUrl,
    ),
  ];
}

function audit(
  interaction: 'create' | 'update',
  resources: string[],
  resource: Resource,
  now: Date,
  publicUrl: string,
): BatchOperation {
  const event = buildAuditEvent({
    id: randomUUID(),
    now,
    interaction,
    outcome: '0',
    clientId: CHARGE_CAPTURE_CLIENT,
    resources,
    patients: patientsOf(resource),
    publicUrl,
  });
  return { op: 'create', resource: event, options: { id: event.id } };
}

/** Where a ChargeItem version came from: the exact stored versions of its sources, and the rule. */
function provenanceOf(
  gathered: GroupInputs,
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
    const coverage = primaryCoverage(gathered);
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
          identifier: { system: ID_AGENT, value: 'charge-capture' },
          display: 'Dripline charge capture',
        },
      },
    ],
    entity,
  };
}
