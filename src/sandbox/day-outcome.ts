/**
 * The seeded day measured against its own declaration of deliberate errors
 * (src/sandbox/ehr/seed/model.ts `SeededError`): the first-pass clean rate of the claims that carry no
 * seeded error (every one should pass its first scrub), the share of seeded errors caught by the
 * rule meant for each, and any hold no seeded error explains. `dayOutcome` is pure; `observeDay`
 * reads what it needs from the store (claims, their first scrub, the Tasks).
 */
import type { Claim, Task } from '@medplum/fhirtypes';
import { DOCUMENTATION_TASK } from '../charges/reconcile.ts';
import { claimFrequencyOf, encountersOfClaim } from '../claims/workflow/identity.ts';
import { claimStateOf } from '../claims/workflow/state.ts';
import { claimTaskId, findingsOfTask } from '../claims/workflow/tasks.ts';
import type { Store, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import type { SeededError } from './ehr/seed/model.ts';

/** An original claim (frequency 1) and what its first scrub decided. */
export interface ObservedClaim {
  readonly id: string;
  /** "Encounter/id" of its lines. */
  readonly encounters: readonly string[];
  readonly firstScrub: 'held' | 'ready';
  /** Rule ids of the error findings of its first scrub (empty when it went out clean). */
  readonly firstErrors: readonly string[];
}

/** The error-severity documentation issues charge capture recorded for an encounter. */
export interface ObservedCoding {
  /** "Encounter/id". */
  readonly encounter: string;
  readonly errors: readonly string[];
}

export interface DayOutcome {
  /** Original claims with no seeded error on their encounters, and how many passed their first scrub. */
  readonly clean: { readonly passed: number; readonly total: number };
  /** Seeded errors, and how many the rule meant for each caught. */
  readonly seeded: {
    readonly caught: number;
    readonly total: number;
    readonly missed: readonly SeededError[];
  };
  /** Held claims with error rules that no seeded error of theirs accounts for. */
  readonly unexplained: readonly { readonly claim: string; readonly rules: readonly string[] }[];
  /** Caught seeded errors by rule. */
  readonly byRule: Readonly<Record<string, number>>;
}

const ratio = (n: number, d: number): number => (d === 0 ? 1 : n / d);

export function rates(outcome: DayOutcome): { clean: number; caught: number } {
  return {
    clean: ratio(outcome.clean.passed, outcome.clean.total),
    caught: ratio(outcome.seeded.caught, outcome.seeded.total),
  };
}

export function dayOutcome(
  seeded: readonly SeededError[],
  claims: readonly ObservedClaim[],
  coding: readonly ObservedCoding[],
): DayOutcome {
  const seededOf = (encounter: string): SeededError[] =>
    seeded.filter((e) => `Encounter/${e.encounter}` === encounter);
  let passed = 0;
  let total = 0;
  const unexplained: { claim: string; rules: string[] }[] = [];
  for (const claim of claims) {
    const own = claim.encounters.flatMap(seededOf);
    if (own.length === 0) {
      total += 1;
      passed += claim.firstScrub === 'ready' ? 1 : 0;
    }
    const expected = new Set(own.filter((e) => e.caughtBy === 'scrub').map((e) => e.rule));
    if (own.some((e) => e.caughtBy === 'coding')) {
      // A line coding held back keeps its claim waiting (scrub rule charge-held): the claim-level
      // face of the same seeded error, not another one.
      expected.add('charge-held');
    }
    const rules = [...new Set(claim.firstErrors.filter((r) => !expected.has(r)))];
    if (rules.length > 0) {
      unexplained.push({ claim: claim.id, rules });
    }
  }
  const missed: SeededError[] = [];
  const byRule: Record<string, number> = {};
  for (const error of seeded) {
    const encounter = `Encounter/${error.encounter}`;
    const caught =
      error.caughtBy === 'coding'
        ? coding.some((c) => c.encounter === encounter && c.errors.includes(error.rule))
        : claims.some((c) => c.encounters.includes(encounter) && c.firstErrors.includes(error.rule));
    if (caught) {
      byRule[error.rule] = (byRule[error.rule] ?? 0) + 1;
    } else {
      missed.push(error);
    }
  }
  return {
    clean: { passed, total },
    seeded: { caught: seeded.length - missed.length, total: seeded.length, missed },
    unexplained,
    byRule,
  };
}

/** What `dayOutcome` needs, read from the tenant's store. */
export async function observeDay(
  store: Store,
  tenant: TenantId,
): Promise<{ claims: ObservedClaim[]; coding: ObservedCoding[] }> {
  const claims: ObservedClaim[] = [];
  for (const claim of await searchAll<Claim>(store, tenant, 'Claim')) {
    if (claimFrequencyOf(claim) !== '1') {
      continue;
    }
    const versions = (await store.resources.history(tenant, 'Claim', claim.id)).resources.reverse();
    const firstScrub = versions
      .map((v) => claimStateOf(v as Claim))
      .find((s): s is 'held' | 'ready' => s === 'held' || s === 'ready');
    if (!firstScrub) {
      continue;
    }
    let firstErrors: string[] = [];
    if (firstScrub === 'held') {
      // The claim's Task was written at its first hold: its oldest version holds those findings.
      const task = await store.resources
        .history(tenant, 'Task', claimTaskId(claim.id))
        .then((h) => h.resources.at(-1) as Task | undefined)
        .catch(() => undefined);
      firstErrors = [
        ...new Set(
          (task ? findingsOfTask(task) : []).filter((f) => f.severity === 'error').map((f) => f.ruleId),
        ),
      ];
    }
    claims.push({ id: claim.id, encounters: encountersOfClaim(claim), firstScrub, firstErrors });
  }
  const coding: ObservedCoding[] = [];
  for (const task of await searchAll<Task>(store, tenant, 'Task')) {
    if (!task.code?.coding?.some((c) => c.code === DOCUMENTATION_TASK.code) || !task.focus?.reference) {
      continue;
    }
    const errors = (task.input ?? [])
      .filter((input) => input.type.text?.startsWith('error:') === true)
      .flatMap((input) => (input.type.coding ?? []).map((c) => c.code ?? ''));
    coding.push({ encounter: task.focus.reference, errors });
  }
  return { claims, coding };
}
