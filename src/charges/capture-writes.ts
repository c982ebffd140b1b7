/**
 * What charge capture writes for a plan, as one batch: each ChargeItem version with its Provenance
 * (the exact stored versions it came from, and the rule), the work Tasks, and the AuditEvent of the
 * transaction. Pure apart from the AuditEvent's id; the worker hands the operations to the store.
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
 * The one transaction that applies a plan: every ChargeItem change with its Provenance, the Tasks,
 * and one AuditEvent naming everything written — each entity says whether it was created or changed
 * (as the claim workflow's events do), the patients those resources belong to. One event for the
 * transaction instead of one per resource written: four fewer writes for a visit's three charges
 * and its Task. Each resource is validated (its profiles too) before it is written.
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
    written.set(
      `ChargeItem/${resource.id}/_history/${version}`,
      change.kind === 'create' ? 'originate' : 'amend',
    );
    written.set(`Provenance/${provenance.id}`, 'originate');
    patientsOf(resource).forEach((p) => patients.add(p));
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
