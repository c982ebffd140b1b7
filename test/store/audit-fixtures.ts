/** A read's AuditEvent as the FHIR API writes it (src/fhir/audit.ts), for the store's audit log tests. */
import type { AuditEvent } from '@medplum/fhirtypes';
import { buildAuditEvent } from '../../src/fhir/audit.ts';

export function readAudit(id: string, reference: string): AuditEvent & { id: string } {
  return buildAuditEvent({
    id,
    now: new Date('2026-12-06T15:00:00Z'),
    interaction: 'read',
    outcome: '0',
    clientId: 'audit-client',
    resources: [reference],
    patients: reference.startsWith('Patient/') ? [reference] : [],
    publicUrl: 'https://dripline.example',
  });
}
