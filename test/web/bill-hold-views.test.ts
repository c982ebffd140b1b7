/**
 * The bill hold where a biller works, in real headless Chromium over the sandbox: the sandbox
 * tenant holds an encounter's claim 72 hours after the visit ends (`billHold.hours`), and the
 * browser runs in another zone than the clinic's. A visit of the replayed day, finished inside its
 * hold on the injected clock: the encounter view and the authorization ledger (the patient page)
 * say "held until <the clinic's local time> by the 72-hour bill hold", and the app API answers the
 * `billHold` they draw; once the clock passes the hold and the sweep runs (asked for, not waited
 * on), the claim stands and neither says held. (The worklist lists claims only: a visit with no
 * claim is not on it, so there is nothing there to explain.)
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Claim, Encounter } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { tenantCalendarZone } from '../../src/config/config.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { testAdvancingClock } from '../support/clock.ts';
import { waitFor } from '../support/wait.ts';
import { showsHeading, signedInTopLevel } from './app-helpers.ts';
import { seedAuthorization, TENANT } from './sandbox-seeds.ts';
import { startSandboxApp } from './sandbox-app.ts';
import type { SandboxApp } from './sandbox-app.ts';

const HOLD_HOURS = 72;
const HOUR_MS = 3_600_000;
/** Not the clinic's zone (America/New_York) nor this machine's: the app must not read times in it. */
const BROWSER_ZONE = 'Asia/Tokyo';
const BILLER = /Avery Okafor/;
const clock = testAdvancingClock();
let app: SandboxApp | undefined;
let run: SandboxRun;
let page: Page;
/** The visit the test follows: finished, billable, its patient's only visit of the day. */
let visit: { encounter: Encounter & StoredResource; patientId: string; until: number };

/** A finished visit with billable charges, once charge capture is idle; its patient has no other visit. */
async function finishedVisit(sandbox: SandboxRun): Promise<typeof visit | undefined> {
  const store = sandbox.server.store;
  for (const state of ['ready', 'leased'] as const) {
    if ((await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, state, 1)).length > 0) {
      return undefined;
    }
  }
  const finished = await searchAll<Encounter>(store, TENANT, 'Encounter', [
    { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
  ]);
  const charges = await searchAll<ChargeItem>(store, TENANT, 'ChargeItem');
  for (const encounter of finished) {
    const patient = encounter.subject?.reference ?? '';
    const billable = charges.some(
      (c) => c.status === 'billable' && c.context?.reference === `Encounter/${encounter.id}`,
    );
    const alone = finished.filter((e) => e.subject?.reference === patient).length === 1;
    if (billable && alone && encounter.period?.end && patient.startsWith('Patient/')) {
      return {
        encounter,
        patientId: patient.slice('Patient/'.length),
        until: Date.parse(encounter.period.end) + HOLD_HOURS * HOUR_MS,
      };
    }
  }
  return undefined;
}

const claimsOf = (encounterId: string): Promise<Claim[]> =>
  searchAll<Claim>(run.server.store, TENANT, 'Claim', [
    { code: 'encounter', kind: 'reference', values: [`Encounter/${encounterId}`] },
  ]);

/** How a person in the clinic reads an instant (the clinic's zone), spaces made plain for comparing. */
function clinicTime(epochMs: number): string {
  const zone = tenantCalendarZone(run.tenants.find((t) => t.id === TENANT)!);
  return plain(
    new Date(epochMs).toLocaleString('en-US', {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZone: zone,
      timeZoneName: 'short',
    }),
  );
}
/** ICU writes a narrow no-break space before AM/PM; the page's text and ours compare as plain spaces. */
const plain = (text: string | null): string => (text ?? '').replace(/[\u202f\u00a0\s]+/g, ' ').trim();

const appGet = (path: string): Promise<any> =>
  page.evaluate(async (url) => {
    const response = await fetch(url);
    return { status: response.status, body: await response.json() };
  }, `/app/api/${path}`);

const open = (hash: string): Promise<unknown> => page.evaluate(`location.hash = ${JSON.stringify(hash)}`);

beforeAll(async () => {
  app = await startSandboxApp('dripline-web-hold-', 3, {
    now: clock.now,
    sandboxTenant: { billHold: { hours: HOLD_HOURS } },
    browserTimeZone: BROWSER_ZONE,
    afterReplay: (sandbox) =>
      waitFor('a finished visit with its charges', () => finishedVisit(sandbox), 60_000, 250),
  });
  run = app.run;
  page = app.browser.page;
  visit = (await finishedVisit(run))!;
  // A sweep has run since the charges were captured, and left the visit without a claim.
  await run.server.claims.sweepNow();
  expect(await claimsOf(visit.encounter.id)).toEqual([]);
  expect(visit.until).toBeGreaterThan(clock.now().getTime());
  // The patient's authorization (any service), so the ledger counts the visit's charges as its uses.
  await seedAuthorization(run, `Patient/${visit.patientId}`);
  await signedInTopLevel(page, app.appUrl, run.ehr.fhirBaseUrl, BILLER);
}, 120_000);

afterAll(async () => {
  await app?.stop();
});

test('encounter view: no claim yet, held until the visit’s end + 72 h in the clinic’s time', async () => {
  expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe(BROWSER_ZONE);
  const zone = tenantCalendarZone(run.tenants.find((t) => t.id === TENANT)!);
  const answer = await appGet(`encounters/${visit.encounter.id}`);
  expect(answer.status).toBe(200);
  expect(answer.body.claims).toEqual([]);
  expect(answer.body.billHold).toEqual({
    until: new Date(visit.until).toISOString(),
    hours: HOLD_HOURS,
    timeZone: zone,
  });

  await open(`#/encounter/${visit.encounter.id}`);
  await showsHeading(page, /— encounter$/);
  const said = page.getByText(/^No claim yet: held until/);
  await said.waitFor();
  expect(plain(await said.textContent())).toContain(
    `No claim yet: held until ${clinicTime(visit.until)} by the ${HOLD_HOURS}-hour bill hold`,
  );
  // The visit's own times read in the clinic's zone too, not the browser's.
  expect(answer.body.encounter.timeZone).toBe(zone);
  const { start, end } = visit.encounter.period ?? {};
  expect(plain(await page.locator('p.meta').first().textContent())).toContain(
    `${clinicTime(Date.parse(start ?? ''))} to ${clinicTime(Date.parse(end ?? ''))}`,
  );
}, 60_000);

test('ledger: the visit’s charges, used under the authorization, say they are held and until when', async () => {
  const answer = await appGet(`patients/${visit.patientId}/coverage`);
  expect(answer.status).toBe(200);
  const uses = (answer.body.authorizations as any[])
    .flatMap((a) => a.services.flatMap((s: any) => s.uses))
    .filter((u) => u.encounter === `Encounter/${visit.encounter.id}`);
  expect(uses.length).toBeGreaterThan(0);
  for (const use of uses) {
    expect(use.claim).toBeUndefined();
    expect(use.billHold).toEqual({
      until: new Date(visit.until).toISOString(),
      hours: HOLD_HOURS,
      timeZone: tenantCalendarZone(run.tenants.find((t) => t.id === TENANT)!),
    });
  }

  await open(`#/coverage/${visit.patientId}`);
  await showsHeading(page, /^Prior authorization and eligibility/);
  const held = page.locator('ul.held li');
  await held.first().waitFor();
  expect(await held.count()).toBe(uses.length);
  for (const text of await held.allTextContents()) {
    expect(plain(text)).toContain(
      `No claim yet: held until ${clinicTime(visit.until)} by the ${HOLD_HOURS}-hour bill hold`,
    );
  }
}, 60_000);

test('after the hold: the sweep bills the visit, and neither view says held', async () => {
  clock.advance(visit.until - clock.now().getTime() + 60_000);
  const claims = await waitFor(
    'the visit’s claim after its hold',
    async () => {
      const found = await claimsOf(visit.encounter.id);
      if (found.length > 0) {
        return found;
      }
      await run.server.claims.sweepNow();
      return undefined;
    },
    60_000,
    250,
  );
  // Three days on, the biller's session has ended (8 hours at most): she opens the app again.
  await signedInTopLevel(page, app!.appUrl, run.ehr.fhirBaseUrl, BILLER);

  const encounter = await appGet(`encounters/${visit.encounter.id}`);
  expect(encounter.body.claims.map((c: any) => c.id)).toEqual(claims.map((c) => c.id));
  expect(encounter.body).not.toHaveProperty('billHold');
  await open(`#/encounter/${visit.encounter.id}`);
  await showsHeading(page, /— encounter$/);
  await page.locator(`section.card[aria-label="Claim ${claims[0]!.id}"]`).waitFor();
  expect(await page.getByText(/held until/).count()).toBe(0);
  expect(await page.getByText('No claim yet').count()).toBe(0);

  const coverage = await appGet(`patients/${visit.patientId}/coverage`);
  const uses = (coverage.body.authorizations as any[])
    .flatMap((a) => a.services.flatMap((s: any) => s.uses))
    .filter((u) => u.encounter === `Encounter/${visit.encounter.id}`);
  expect(uses.length).toBeGreaterThan(0);
  for (const use of uses) {
    expect(use.claim).toMatch(/^Claim\//);
    expect(use).not.toHaveProperty('billHold');
  }
  await open(`#/coverage/${visit.patientId}`);
  await showsHeading(page, /^Prior authorization and eligibility/);
  await page.locator('article.authorization').first().waitFor();
  expect(await page.locator('ul.held').count()).toBe(0);
  expect(await page.getByText(/held until/).count()).toBe(0);
}, 90_000);
