/**
 * The front of the sandbox day (issue 13 item 6): before the day's infusions are billed, Dripline
 * asks the payers about every patient's coverage (eligibility) and asks for prior authorization
 * (Da Vinci PAS) for the orders the payers' rules put under it. In a clinic the orders are signed
 * days before the visit; the day replays everything at once, so the day script starts the claim
 * workflow only once this coverage work has settled (`coverageSettled`). Then it reports what
 * coverage did (`coverageFigures`) and which claims an authorization obtained that day saved from
 * a denial (`savedFromDenial`): claims with a line the payer's rule puts under prior authorization
 * (the scrubber's rule, src/claims/ledger.ts `authorizationRequirement`) that carry a number from a
 * PAS answer (a preauthorization ClaimResponse) received since the day began.
 */
import type { Claim, ClaimResponse, CoverageEligibilityResponse, Resource } from '@medplum/fhirtypes';
import { authorizationRequirement } from '../claims/ledger.ts';
import type { CodingTables } from '../coding/tables/types.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import { authorizationsOf } from '../coverage/authorizations.ts';
import { ELIGIBILITY_QUEUE } from '../coverage/eligibility/records.ts';
import { PRIOR_AUTH_QUEUE, stateOf } from '../coverage/pas/records.ts';
import { isSilenceCheck } from '../coverage/pas/subscription-check.ts';
import type { PasState } from '../coverage/pas/records.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../ingest/jobs.ts';
import type { Store, StoredResource, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';

export interface CoverageFigures {
  /** Patients whose coverage a payer answered about. */
  readonly eligibilityChecked: number;
  /** Of those, by the latest answer: coverage in force, not in force, not verified (an error). */
  readonly active: number;
  readonly inactive: number;
  readonly unverified: number;
  /** PAS cases (one per order and payer) by where the latest request stands. */
  readonly pas: {
    readonly approved: number;
    readonly modified: number;
    readonly denied: number;
    readonly pended: number;
    /** Errors, rejections, cancellations, requests not yet answered. */
    readonly other: number;
  };
}

export interface SavedClaim {
  readonly claim: string;
  readonly patient: string;
  /** The codes on it that needed authorization. */
  readonly codes: readonly string[];
  /** The authorization numbers it carries that were obtained that day. */
  readonly numbers: readonly string[];
  /** Where the claim stands now (its workflow state). */
  readonly state: string | undefined;
}

const all = <T extends Resource>(
  store: Store,
  tenant: TenantId,
  type: T['resourceType'],
): Promise<(T & StoredResource)[]> => searchAll<T>(store, tenant, type);

/** PAS submissions (`<case>-<n>`): the latest of each case, superseded ones aside. */
function latestSubmissions(requests: readonly (Claim & StoredResource)[]): (Claim & StoredResource)[] {
  const byCase = new Map<string, { n: number; claim: Claim & StoredResource }>();
  for (const claim of requests) {
    if (claim.use !== 'preauthorization' || stateOf(claim) === undefined || stateOf(claim) === 'superseded') {
      continue;
    }
    const cut = claim.id.lastIndexOf('-');
    const n = Number(claim.id.slice(cut + 1));
    const known = byCase.get(claim.id.slice(0, cut));
    if (!known || known.n < n) {
      byCase.set(claim.id.slice(0, cut), { n, claim });
    }
  }
  return [...byCase.values()].map((v) => v.claim);
}

const UNSETTLED: ReadonlySet<PasState> = new Set(['prepared', 'pended', 'unanswered']);

async function pendingJobs(store: Store, tenant: TenantId, queue: string): Promise<number> {
  let n = 0;
  for (const state of ['ready', 'leased'] as const) {
    // A kept PAS subscription's silence check always waits for its time: not work under way.
    n += (await store.jobs.listJobs(tenant, queue, state, 10_000)).filter((j) => !isSilenceCheck(j)).length;
  }
  return n;
}

/**
 * Whether the day's coverage work has settled: ingest has copied what the EHR sent, no eligibility
 * or prior authorization job is waiting or running, and no PAS request is still prepared or pended
 * at the payer. Returns what is still under way (empty when settled).
 */
export async function coverageUnderWay(store: Store, tenant: TenantId): Promise<Record<string, number>> {
  const jobs = {
    ingest: await pendingJobs(store, tenant, INGEST_QUEUE),
    charges: await pendingJobs(store, tenant, ENCOUNTER_CHANGED_QUEUE),
    eligibility: await pendingJobs(store, tenant, ELIGIBILITY_QUEUE),
    priorAuth: await pendingJobs(store, tenant, PRIOR_AUTH_QUEUE),
  };
  const pasOpen = latestSubmissions(await all<Claim>(store, tenant, 'Claim')).filter((c) =>
    UNSETTLED.has(stateOf(c) ?? 'prepared'),
  ).length;
  return Object.fromEntries(Object.entries({ ...jobs, pasOpen }).filter(([, n]) => n > 0));
}

/**
 * Waits (polling, with a deadline) until `coverageUnderWay` has been empty on `looks` consecutive
 * looks; `onLook` hears each look (progress). Throws at the deadline, naming what was left.
 */
export async function coverageSettled(
  store: Store,
  tenant: TenantId,
  options: {
    readonly timeoutMs: number;
    readonly pollMs?: number;
    readonly looks?: number;
    readonly onLook?: (underWay: Record<string, number>) => void;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let quiet = 0;
  for (;;) {
    const underWay = await coverageUnderWay(store, tenant);
    options.onLook?.(underWay);
    quiet = Object.keys(underWay).length === 0 ? quiet + 1 : 0;
    if (quiet >= (options.looks ?? 3)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`coverage work not settled after ${options.timeoutMs} ms: ${JSON.stringify(underWay)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

/** What eligibility and PAS did for the tenant, counted from what Dripline stored. */
export async function coverageFigures(store: Store, tenant: TenantId): Promise<CoverageFigures> {
  const latest = new Map<string, CoverageEligibilityResponse>();
  for (const response of await all<CoverageEligibilityResponse>(
    store,
    tenant,
    'CoverageEligibilityResponse',
  )) {
    const patient = response.patient.reference ?? '';
    const known = latest.get(patient);
    if (!known || (Date.parse(known.created) || 0) < (Date.parse(response.created) || 0)) {
      latest.set(patient, response);
    }
  }
  const answers = [...latest.values()];
  const unverified = answers.filter((r) => r.outcome === 'error').length;
  const inactive = answers.filter((r) => r.outcome !== 'error' && r.insurance?.[0]?.inforce === false).length;
  const pas = { approved: 0, modified: 0, denied: 0, pended: 0, other: 0 };
  for (const request of latestSubmissions(await all<Claim>(store, tenant, 'Claim'))) {
    const state = stateOf(request);
    const key =
      state === 'certified'
        ? 'approved'
        : state === 'modified' || state === 'partial'
          ? 'modified'
          : state === 'denied' || state === 'pended'
            ? state
            : 'other';
    pas[key] += 1;
  }
  return {
    eligibilityChecked: answers.length,
    active: answers.length - inactive - unverified,
    inactive,
    unverified,
    pas,
  };
}

const dayOf = (item: NonNullable<Claim['item']>[number]): string =>
  (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10);

/**
 * The claims saved from an authorization denial: claims with a line that
 * needed prior authorization under the payer's rule, carrying a number that a PAS answer received
 * at or after `since` gave.
 */
export async function savedFromDenial(input: {
  readonly store: Store;
  readonly tenant: TenantId;
  /** The tenant's payers (their ids and kinds: which rule applies). */
  readonly payers: readonly Pick<PayerEndpoint, 'payerId' | 'kind'>[];
  readonly tables: CodingTables;
  readonly since: Date;
  readonly stateOf: (claim: Claim) => string | undefined;
}): Promise<SavedClaim[]> {
  const { store, tenant, since } = input;
  const claims = await all<Claim>(store, tenant, 'Claim');
  const responses = (await all<ClaimResponse>(store, tenant, 'ClaimResponse')).filter(
    (r) => r.use === 'preauthorization' && Date.parse(r.meta.lastUpdated) >= since.getTime(),
  );
  const obtained = new Set(
    authorizationsOf(
      responses,
      claims.filter((c) => c.use === 'preauthorization'),
    ).map((a) => a.number),
  );
  const needs = authorizationRequirement({ payers: input.payers }, input.tables);
  const saved: SavedClaim[] = [];
  for (const claim of claims) {
    if (claim.use !== 'claim') {
      continue;
    }
    const numbers = (claim.insurance ?? [])
      .filter((i) => i.focal)
      .flatMap((i) => i.preAuthRef ?? [])
      .filter((n) => obtained.has(n));
    const payerId = claim.insurer?.identifier?.value ?? '';
    const codes = [
      ...new Set(
        (claim.item ?? []).flatMap((item) =>
          (item.productOrService.coding ?? []).flatMap((c) =>
            c.code && needs({ code: c.code, date: dayOf(item), payerId }) ? [c.code] : [],
          ),
        ),
      ),
    ];
    if (numbers.length > 0 && codes.length > 0) {
      const state = input.stateOf(claim);
      saved.push({
        claim: `Claim/${claim.id}`,
        patient: claim.patient.reference ?? '',
        codes,
        numbers,
        state,
      });
    }
  }
  return saved.sort((a, b) => a.claim.localeCompare(b.claim));
}
