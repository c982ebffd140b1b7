/**
 * The AuditEvents of the ingest worker's copy writes (HIPAA §164.312(b): every write of PHI is
 * audited, in the write's own transaction).
 *
 * One event per patient for the copies committed together, not one per copy. Why: the worker
 * writes a batch's copies in one transaction (./worker.ts, a group commit), and an AuditEvent with
 * its search-index rows cost more to store than the copy it records (about 60 µs of the worker's
 * ~210 a notification in bench:ingest's id-only saturation). Grouped by patient, not by
 * transaction: each event names exactly one patient, so the trail `AuditEvent?patient=Patient/x`
 * shows never discloses another patient's records (IHE BALP's patient-subject patterns carry one
 * patient entity each). Each copy is named with the store version written
 * ("Type/id/_history/<version>") and its lifecycle (originate for a new copy, amend for a new
 * version of one), as charge capture's and the claim workflow's multi-resource events are.
 */
import type { AuditLifecycle } from '../fhir/audit.ts';
import { buildAuditEvent } from '../fhir/audit.ts';
import type { BatchOperation } from '../store/port.ts';

/** What one copy write tells the audit of its transaction. */
export interface CopyAudit {
  /** The EHR connection as the event's agent: `ehr-connection/<connection id>`. */
  readonly clientId: string;
  readonly interaction: 'create' | 'update';
  /** The copy's version written: "Type/id/_history/<store version>". */
  readonly resource: string;
  /** The patients the copy concerns ("Patient/id"; src/fhir/audit.ts patientsOf). */
  readonly patients: readonly string[];
}

export interface CopyAuditDeps {
  readonly now: () => Date;
  /** A new AuditEvent's id (src/fhir/audit.ts newAuditEventId). */
  readonly generateId: () => string;
  readonly publicUrl: string;
}

/**
 * The AuditEvent creates for copies committed in one transaction: one per agent and set of
 * patients (a copy about no patient shares the event of the others about none), in first-seen order.
 */
export function copyAuditEvents(audits: readonly CopyAudit[], deps: CopyAuditDeps): BatchOperation[] {
  const groups = new Map<string, { patients: string[]; audits: CopyAudit[] }>();
  for (const audit of audits) {
    const patients = [...new Set(audit.patients)].sort();
    const key = JSON.stringify([audit.clientId, patients]);
    const group = groups.get(key);
    if (group) {
      group.audits.push(audit);
    } else {
      groups.set(key, { patients, audits: [audit] });
    }
  }
  const now = deps.now();
  return [...groups.values()].map(({ patients, audits: group }): BatchOperation => {
    const lifecycles: Record<string, AuditLifecycle> = {};
    for (const audit of group) {
      lifecycles[audit.resource] = audit.interaction === 'create' ? 'originate' : 'amend';
    }
    const event = buildAuditEvent({
      id: deps.generateId(),
      now,
      interaction: group.some((audit) => audit.interaction === 'update') ? 'update' : 'create',
      outcome: '0',
      clientId: group[0]?.clientId ?? '',
      resources: group.map((audit) => audit.resource),
      patients,
      publicUrl: deps.publicUrl,
      lifecycles,
    });
    return { op: 'create', resource: event, options: { id: event.id } };
  });
}
