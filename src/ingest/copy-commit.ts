/**
 * The transaction of the ingest worker's copies (./worker.ts): a group commit whose writes are
 * the copies of a batch's jobs, ending with what their notes (./copies.ts `CopyNote`) leave to it.
 * Their charge capture events, one job per encounter (./encounter-events.ts
 * `mergedEncounterChanges`), and their AuditEvents, one per patient (./copy-audit.ts): both cost
 * as much to store as the copies themselves when written one per copy (bench:ingest). A write
 * retried alone (its group failed) gets those of its own note.
 */
import { GroupCommit } from '../store/group-commit.ts';
import type { BatchOperation, Store } from '../store/port.ts';
import type { CopyNote } from './copies.ts';
import type { CopyAuditDeps } from './copy-audit.ts';
import { copyAuditEvents } from './copy-audit.ts';
import { mergedEncounterChanges } from './encounter-events.ts';

/** What a transaction of copies ends with, for the notes of its writes. */
export function copyTrailer(notes: readonly CopyNote[], deps: CopyAuditDeps): BatchOperation[] {
  return [
    ...mergedEncounterChanges(notes.flatMap((note) => note.events)),
    ...copyAuditEvents(
      notes.flatMap((note) => (note.audit ? [note.audit] : [])),
      deps,
    ),
  ];
}

/** The group commit of the worker's copies. */
export function copyGroupCommit(store: Store, deps: CopyAuditDeps): GroupCommit<CopyNote> {
  return new GroupCommit<CopyNote>(store, { trailer: (_tenant, notes) => copyTrailer(notes, deps) });
}
