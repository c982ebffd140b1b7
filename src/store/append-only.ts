/**
 * Types whose resources are written once and never replaced: the audit trail (AuditEvent, one per
 * audited read and write, and Provenance). Every store adapter refuses to update one that exists,
 * so a store may skip what only updates need (the SQLite adapter leaves them out of its
 * per-resource index trees: ./sqlite/schema.ts, migration 4, whose SQL is built from this list —
 * changing it needs a migration that rebuilds those trees).
 */
import { conflict, OperationOutcomeError } from '@medplum/core';

export const APPEND_ONLY_TYPES: readonly string[] = ['AuditEvent', 'Provenance'];

export function isAppendOnlyType(type: string): boolean {
  return APPEND_ONLY_TYPES.includes(type);
}

/** The refusal of an update of an existing append-only resource (409). */
export function appendOnlyConflict(type: string, id: string): OperationOutcomeError {
  return new OperationOutcomeError(conflict(`${type} is append-only: ${type}/${id} cannot be replaced`));
}
