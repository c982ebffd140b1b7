/**
 * Prior authorization end to end over real HTTP, on the sandbox: the seeded day's orders come in
 * from the sandbox EHR; an infusion order whose drug the payer's rules put under authorization
 * (infliximab, J1745, for a commercial or Medicaid plan) becomes a PAS request to the sandbox payer,
 * which pends it; Dripline's PAS subscription at the payer is notified when the review ends; the
 * approval is kept as the preauthorization ClaimResponse the claims capability reads, and the
 * patient's claim carries the certification number. Registered by test/coverage/e2e.test.ts ahead of
 * its own proof, in its sandbox world (a world is seconds of CPU to start and replay).
 */
import { expect, test } from '@jest/globals';
import type { Claim, ClaimResponse, DocumentReference, Subscription } from '@medplum/fhirtypes';
import { authorizationsOf } from '../../../src/coverage/authorizations.ts';
import { caseIdOf, PRIOR_AUTH_QUEUE, sourceOf, stateOf } from '../../../src/coverage/pas/records.ts';
import { readRecord, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { SandboxRun } from '../../../src/sandbox/index.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import { waitFor } from '../../support/wait.ts';

const TENANT = 'sandbox';

/**
 * Registers the PAS end-to-end tests in the world `world` gives: the sandbox with its prior
 * authorization payer (reviews ending after a delay), its day replayed.
 */
export function pasEndToEndTests(world: () => SandboxRun): void {
  const preauthorizations = async (): Promise<Claim[]> =>
    searchAll<Claim>(world().server.store, TENANT, 'Claim', [
      { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
    ]);

  const drug = (claim: Claim): string | undefined => claim.item?.[0]?.productOrService.coding?.[0]?.code;

  test('an infliximab order: pended by the payer, approved through the PAS subscription, kept as the authorization on file, carried by the claim', async () => {
    const store = world().server.store;
    // 1. The order came in from the EHR and became a PAS request to the payer, which pended it.
    const request = await waitFor(
      'a PAS request for infliximab',
      async () => (await preauthorizations()).find((c) => drug(c) === 'J1745'),
      45_000,
    );
    expect(sourceOf(request)).toMatch(/^MedicationRequest\/mr-\d+-infliximab-[^/]+\/_history\/[0-9a-f-]+$/);
    const caseId = caseIdOf(request.id!);

    // 2. Approved once the payer's review ends: the decision came by the subscription notification.
    const approved = await waitFor(
      'the approval',
      async () => {
        const claim = (await store.resources.read(TENANT, 'Claim', request.id!)) as Claim;
        return stateOf(claim) === 'certified' ? claim : undefined;
      },
      30_000,
    );
    const states = (await store.resources.history(TENANT, 'Claim', approved.id!)).resources
      .map((v) => stateOf(v as Claim))
      .reverse();
    expect(states).toEqual(['prepared', 'pended', 'certified']);
    const record = (await store.resources.read(
      TENANT,
      'Subscription',
      subscriptionRecordId(approved.extension!.find((e) => e.url.endsWith('/pas-payer'))!.valueString!),
    )) as Subscription;
    expect(readRecord(record)).toMatchObject({ status: 'active', unsupported: false });
    const messages = (await searchAll<DocumentReference>(store, TENANT, 'DocumentReference', [])).filter(
      (d) => d.context?.related?.some((r) => r.reference === `Claim/${approved.id!}`),
    );
    // Each message as received is kept (the sandbox payer's kinds share one PAS endpoint, so the
    // notification can come through each of the tenant's subscriptions there: applied once).
    expect([...new Set(messages.map((d) => d.type?.text))].sort()).toEqual([
      'PAS request Bundle sent (Claim/$submit)',
      'PAS subscription notification received',
      'Payer answer to Claim/$submit',
    ]);

    // 3. The approval is the preauthorization ClaimResponse on file, with its version history.
    const response = (await store.resources.read(TENANT, 'ClaimResponse', caseId)) as ClaimResponse;
    const versions = await store.resources.history(TENANT, 'ClaimResponse', caseId);
    expect(versions.total).toBe(2);
    const [authorization] = authorizationsOf([response], [approved]);
    expect(authorization).toMatchObject({
      number: expect.stringMatching(/^AUTH\d{6}$/),
      patient: approved.patient.reference,
    });
    expect(authorization!.services.map((s) => s.code)).toEqual(['J1745']);

    // 4. The patient's claim carries the certification number (rebuilt when the authorization arrived).
    // Each look asks the claim worker for a sweep (it bills the visit, or rechecks its held claim)
    // rather than waiting out the sweep's timer.
    const billed = await waitFor(
      'the claim carrying the authorization number',
      async () => {
        await world().server.claims.sweepNow();
        return (
          await searchAll<Claim>(store, TENANT, 'Claim', [
            { code: 'patient', kind: 'reference', values: [approved.patient.reference!] },
          ])
        ).find(
          (c) =>
            c.use === 'claim' &&
            (c.insurance ?? []).some((i) => i.focal && (i.preAuthRef ?? []).includes(authorization!.number)),
        );
      },
      60_000,
    );
    expect(billed.item?.some((i) => i.productOrService.coding?.some((c) => c.code === 'J1745'))).toBe(true);

    // Nothing left on the queue: every job ran.
    expect(await store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'dead', 10)).toEqual([]);
  }, 150_000);

  test('every request of the day was answered, each answer applied to its own request', async () => {
    // The day's orders are still being planned after the replay ends; a request is kept
    // (`prepared`) before its send job runs; a send the payer did not answer is retried after a
    // back-off. So wait until no order or send job is queued or under way: then nothing may be left
    // prepared (kept and never sent) or unanswered.
    const store = world().server.store;
    const planningOrSending = async (): Promise<number> => {
      let n = 0;
      for (const state of ['ready', 'leased'] as const) {
        const jobs = await store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, state, 1_000);
        n += jobs.filter((j) =>
          ['order', 'send'].includes((j.payload as { kind?: string }).kind ?? ''),
        ).length;
      }
      return n;
    };
    await waitFor(
      'no PAS order or send queued',
      async () => ((await planningOrSending()) === 0 ? true : undefined),
      60_000,
    );
    const claims = await preauthorizations();
    expect(claims.length).toBeGreaterThan(1);
    // Nothing kept and left unsent, nothing answered with something Dripline could not read.
    expect(claims.map((c) => stateOf(c)).filter((s) => s === 'prepared' || s === 'unanswered')).toEqual([]);
    const tasks = await searchAll(world().server.store, TENANT, 'Task', []);
    const unmatched = tasks.filter(
      (t) =>
        t.resourceType === 'Task' &&
        t.code?.coding?.some((c) => c.code === 'unknown-answer' || c.code === 'invalid-answer'),
    );
    expect(unmatched).toEqual([]);
  }, 90_000);
}
