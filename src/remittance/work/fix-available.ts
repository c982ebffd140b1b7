/**
 * The fix-available sweep: a denial work item still to be worked (open, or denied again) whose
 * cause has since been fixed moves to `fix-available`, so the biller sees that a corrected claim
 * can go now. The cause read here is the one Dripline can see in its own data: an authorization
 * denial (the fix rule `authorization-absent`, CARC 197 / 15 / 62...) once the authorization ledger
 * holds an authorization covering a denied line (payer, code and date of service) whose number the
 * denied claim did not carry. Other causes (documentation, modifiers) are fixed by the corrected
 * claim itself, which the workflow rebuilds and scrubs.
 *
 * Idempotent: an item already moved is no longer open-to-work, and each move is written with the
 * item's version (a concurrent change makes the write fail, and the next sweep looks again), in
 * one transaction with its AuditEvent. `decideFixAvailable` is pure.
 */
import { createHash } from 'node:crypto';
import type { Claim, Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { CS_WORK_ITEM } from '../../contract/canonical.ts';
import { buildAuditEvent } from '../../fhir/audit.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { TriageFacts } from '../triage/fixes.ts';
import { gatherTriageFacts } from './facts.ts';
import { chainOf, inputCode, readDetail, stateOf, stringInput, withState } from './items.ts';
import { versionCheckedUpdate } from './task-writes.ts';

export const FIX_SWEEP_AGENT = 'dripline/fix-available';
/** The item states a fix can be found for: to be worked. */
const WAITING = new Set(['open', 'denied-again']);
const AUTHORIZATION_RULE = 'authorization-absent';

export interface FixSweepDeps {
  readonly store: Store;
  readonly tenants: () => readonly TenantConfig[];
  readonly publicUrl: string;
  readonly now: () => Date;
}

/** The denied lines of an item (code and date of service), as recorded at posting. */
function deniedLines(task: Task): { code: string; date: string }[] {
  return (task.input ?? [])
    .filter((i) => inputCode(i) === 'denied-line')
    .map((i) => readDetail(i.extension))
    .map((d) => ({ code: String(d['code'] ?? '').toUpperCase(), date: String(d['serviceDate'] ?? '') }))
    .filter((l) => l.code !== '');
}

/**
 * Why the item's cause is fixed (the note to write), or undefined. `claim` is the latest claim of
 * its chain; `facts` were gathered for it now (./facts.ts: the ledger's authorizations covering its
 * lines).
 */
export function decideFixAvailable(task: Task, claim: Claim, facts: TriageFacts): string | undefined {
  if (!WAITING.has(stateOf(task) ?? '')) {
    return undefined;
  }
  const fix = (task.input ?? []).find((i) => inputCode(i) === 'recommended-fix');
  if (!fix || readDetail(fix.extension)['rule'] !== AUTHORIZATION_RULE) {
    return undefined;
  }
  const sent = new Set(
    (claim.insurance ?? []).flatMap((i) => (i.preAuthRef ?? []).map((r) => r.trim().toUpperCase())),
  );
  const denied = new Set(deniedLines(task).map((l) => l.code));
  const found = (facts.authorizations ?? []).filter(
    (a) =>
      !sent.has(a.number.trim().toUpperCase()) &&
      (denied.size === 0 || a.covers.some((code) => denied.has(code.toUpperCase()))),
  );
  if (found.length === 0) {
    return undefined;
  }
  return `Fix available: authorization ${found
    .map((a) => `${a.number} (covers ${a.covers.join(', ')})`)
    .join('; ')} is now on file and was not on Claim/${claim.id ?? '?'}: send the corrected claim.`;
}

export interface FixSweepReport {
  readonly moved: readonly { readonly item: string; readonly note: string }[];
}

/** Moves the tenant's denial items whose cause is fixed to `fix-available`. */
export async function sweepFixAvailable(deps: FixSweepDeps, tenant: TenantId): Promise<FixSweepReport> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const items = await searchAll<Task>(deps.store, tenant, 'Task', [
    { code: 'code', kind: 'token', values: [{ system: CS_WORK_ITEM, value: 'denial' }] },
  ]);
  const moved: { item: string; note: string }[] = [];
  for (const item of items) {
    if (!WAITING.has(stateOf(item) ?? '')) {
      continue;
    }
    const latest = chainOf(item).at(-1);
    const claim = latest
      ? await deps.store.resources.read(tenant, 'Claim', latest).catch(() => undefined)
      : undefined;
    if (!claim || claim.resourceType !== 'Claim') {
      continue;
    }
    // The item names the tenant's payer (its slug), as posting recorded it.
    const slug = (item.input ?? []).find((i) => inputCode(i) === 'payer')?.valueString;
    const payer = config?.payers.find((p) => p.id === slug);
    const facts = await gatherTriageFacts(deps.store, tenant, claim, payer);
    const note = decideFixAvailable(item, claim, facts);
    if (!note) {
      continue;
    }
    const now = deps.now();
    const next = withState(item, 'fix-available', {
      now: now.toISOString(),
      note,
      inputs: [stringInput('evidence', note)],
    });
    const event = buildAuditEvent({
      id: `audit-${createHash('sha256').update(`${item.id}|fix-available|${item.meta.versionId}`).digest('hex').slice(0, 32)}`,
      now,
      interaction: 'update',
      outcome: '0',
      clientId: FIX_SWEEP_AGENT,
      resources: [`Task/${item.id}`, `Claim/${claim.id}`],
      patients: item.for?.reference ? [item.for.reference] : [],
      publicUrl: deps.publicUrl,
    });
    try {
      await deps.store.resources.writeBatch(tenant, [
        versionCheckedUpdate(item, next),
        { op: 'create', resource: event, options: { id: event.id } },
      ]);
      moved.push({ item: item.id, note });
    } catch {
      // Changed meanwhile (a payment posted, a person acted): the next sweep looks again.
    }
  }
  return { moved };
}
