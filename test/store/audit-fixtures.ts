/** AuditEvents as the FHIR API writes them (src/fhir/audit.ts), for the store's audit log tests. */
import { randomUUIDv7 } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import { buildAuditEvent } from '../../src/fhir/audit.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { waitFor } from '../support/wait.ts';

export function readAudit(id: string, reference: string): AuditEvent & { id: string } {
  return restAudit(id, reference, 'read');
}

/** A create's AuditEvent as the FHIR API writes it, naming the resource created. */
export function createAudit(id: string, reference: string): AuditEvent & { id: string } {
  return restAudit(id, reference, 'create');
}

function restAudit(
  id: string,
  reference: string,
  interaction: 'read' | 'create',
): AuditEvent & { id: string } {
  return buildAuditEvent({
    id,
    now: new Date('2026-12-06T15:00:00Z'),
    interaction,
    outcome: '0',
    clientId: 'audit-client',
    resources: [reference],
    patients: reference.startsWith('Patient/') ? [reference] : [],
    publicUrl: 'https://dripline.example',
  });
}

/**
 * Until the store's audit thread is ready (it starts at an append once the log is opened with
 * `threadAtEventsPerSecond: 0`; until it is ready, events go straight into the main file).
 */
export async function untilJournaling(store: SqliteStore, tenant: string): Promise<void> {
  await waitFor(
    'the audit thread ready',
    async () => {
      if (!store.auditLog.journaling) {
        await store.auditLog.append(tenant, [readAudit(randomUUIDv7(), 'Patient/warm-up')]);
      }
      return store.auditLog.journaling;
    },
    20_000,
    10,
  );
}
