/**
 * The billers' app in real headless Chromium, launched the way people launch it: from the sandbox
 * EHR's chart page, as a cross-site iframe (the EHR on 127.0.0.1, Dripline on localhost), through
 * SMART App Launch with PKCE, an id_token and partitioned cookies. Each view is checked, acted in,
 * screenshot (with TEST_SCREENSHOTS=1: ./chromium.ts) and checked with axe-core (0 serious or
 * critical); then, in the same world, browser and biller's session, the patient's page
 * (./patient-page.ts); then the failures: unknown iss, replayed state, a person without a role, an
 * action without the CSRF token, an ended session. The world is the sandbox as `npm start` runs
 * it, checked as such first (../sandbox/sandbox-mode-checks.ts). (500 work items at 390 px:
 * worklist-load.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, Claim, Practitioner, Task } from '@medplum/fhirtypes';
import type { Frame, Page } from 'playwright-core';
import { seededPayers } from '../../src/sandbox/index.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { carcInfo, rarcInfo } from '../../src/remittance/codes.ts';
import { capturedLogs, sandboxModeTests } from '../sandbox/sandbox-mode-checks.ts';
import { waitFor } from '../support/wait.ts';
import type { Browser } from './chromium.ts';
import { screenshot, seriousViolations } from './chromium.ts';
import { appFrame, showsHeading, signedInTopLevel, signInToChart } from './app-helpers.ts';
import { coderPatientPageTests, patientPageTests } from './patient-page.ts';
import { dayFrom, heldClaim, seedAuthorization, seedDenial, seedPayment, TENANT } from './sandbox-seeds.ts';
import { startSandboxApp } from './sandbox-app.ts';
import type { SandboxApp } from './sandbox-app.ts';

/** The sandbox's logs at debug level (no PHI in them: ../sandbox/sandbox-mode-checks.ts). */
const { logger, logs } = capturedLogs();
let app: SandboxApp | undefined;
let run: SandboxRun;
let browser: Browser;
let appUrl: string;
/** The biller's app as the first test launched it from the EHR chart (the patient page goes on in it). */
let billersApp: { page: Page; frame: Frame } | undefined;
/** The encounter the biller opened from the chart in the first test (the audit trail names her for its patient). */
let billersEncounter: string | undefined;

beforeAll(async () => {
  app = await startSandboxApp('dripline-web-', 16, {
    logger,
    logLevel: 'debug',
    // The claim sweep bills the day once charge capture is idle; asking for a sweep at each look
    // (sweepNow: the loop's own sweep, its timer left at the 5 s `npm start` runs) bills it then,
    // instead of up to 5 s later on the timer.
    afterReplay: (sandbox) =>
      waitFor(
        'held claims with their Tasks',
        async () => {
          const held = await searchAll<Claim>(sandbox.server.store, TENANT, 'Claim', [
            { code: 'claim-state', kind: 'token', values: [{ value: 'held' }] },
          ]);
          if (held.length > 0) {
            return held;
          }
          await sandbox.server.claims.sweepNow();
          return undefined;
        },
        60_000,
        250,
      ),
  });
  ({ run, browser, appUrl } = app);
}, 120_000);

afterAll(async () => {
  await app?.stop();
});

// Sandbox mode as `npm start` runs it, in this world first: the day billed, no PHI in the logs.
sandboxModeTests(() => run, logs);

describe('launched from the EHR chart', () => {
  let page: Page;
  let frame: Frame;
  let target: Awaited<ReturnType<typeof heldClaim>>;

  beforeAll(async () => {
    page = browser.page;
    target = await heldClaim(run);
    billersEncounter = target.encounter;
  });

  test('the Billing button opens the encounter in context inside the EHR (SMART EHR launch)', async () => {
    await signInToChart(page, run.ehr.chartUrl, /Avery Okafor/);
    await screenshot(page, '01-ehr-chart');
    await page.locator(`form:has(input[name="encounter"][value="${target.encounter}"]) button`).click();
    frame = await appFrame(page, appUrl);
    billersApp = { page, frame };
    await showsHeading(frame, /— encounter$/);
    await frame.getByRole('heading', { name: 'Charges' }).waitFor();
    // The claim of this encounter, held, with its findings in words.
    await frame.getByText('Held for review').first().waitFor();
    expect(await frame.locator('.findings li').count()).toBeGreaterThan(0);
    expect(await frame.locator('table.grid tbody tr').count()).toBeGreaterThan(0);
    await screenshot(page, '02-encounter-in-context');
    expect(await seriousViolations(frame)).toEqual([]);
    // The session cookie is partitioned under the EHR's site (CHIPS), Secure on loopback http.
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === 'dripline_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'None', path: '/app' });
    expect(session?.partitionKey).toBeDefined();
    // Its read is audited with the person as the requesting agent.
    const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
      { code: 'entity', kind: 'reference', values: [`Encounter/${target.encounter}`] },
    ]);
    const byPerson = audits.filter((a) =>
      a.agent.some((g) => g.requestor && g.who?.reference?.endsWith('/Practitioner/staff-biller')),
    );
    expect(byPerson.length).toBeGreaterThan(0);
  }, 60_000);

  test('worklist: names, reasons, dollars, deadlines; filter, sort and bulk assign', async () => {
    await frame.getByRole('link', { name: 'Worklist' }).click();
    await showsHeading(frame, 'Worklist');
    const rows = frame.locator('table.grid tbody tr');
    await rows.first().waitFor();
    const total = await rows.count();
    expect(total).toBeGreaterThan(0);
    expect(await frame.locator('.summary').textContent()).toMatch(/work items · \$/);
    // Filter by state, then sort by amount (the column header says how it is sorted).
    await frame.getByLabel('State').selectOption('held');
    expect(await rows.count()).toBeLessThanOrEqual(total);
    await frame.getByRole('button', { name: 'At stake' }).click();
    expect(await frame.locator('th[aria-sort="ascending"]').textContent()).toBe('At stake');
    // Bulk: the first two rows to me.
    const boxes = frame.getByRole('checkbox', { name: /^Select claim/ });
    const picked = Math.min(2, await boxes.count());
    for (let i = 0; i < picked; i++) {
      await boxes.nth(i).check();
    }
    await frame.getByRole('button', { name: 'Assign selected to me' }).click();
    await frame.getByText(`${picked} of ${picked} work items assigned to you.`).waitFor();
    const owned = (await searchAll<Task>(run.server.store, TENANT, 'Task')).filter((t) =>
      t.owner?.reference?.endsWith('/Practitioner/staff-biller'),
    );
    expect(owned.length).toBe(picked);
    await screenshot(page, '03-worklist');
    expect(await seriousViolations(frame)).toEqual([]);
  }, 60_000);

  test('claim: timeline, findings, 837 preview, and an override with a reason', async () => {
    // The app routes by its URL's fragment (a string: the test's types hold no DOM).
    await frame.evaluate(`location.hash = ${JSON.stringify(`#/claim/${target.claim.id}`)}`);
    await showsHeading(frame, /^Claim .* — Held for review$/);
    expect(await frame.locator('ol.timeline li').count()).toBeGreaterThan(0);
    await frame.getByRole('button', { name: 'Show the 837' }).click();
    // The preview appears once the 837 has arrived.
    await frame.locator('pre.x12').waitFor({ state: 'visible', timeout: 15_000 });
    await expect(frame.locator('pre.x12').textContent()).resolves.toMatch(/^ISA\*/);
    await screenshot(page, '04-claim');
    expect(await seriousViolations(frame)).toEqual([]);
    await frame.getByLabel('Override: reason').fill('Reviewed with the payer; documentation is on file.');
    await frame.getByRole('button', { name: 'Override', exact: true }).click();
    const answer = await waitFor('the override answer', async () => {
      const text = (await frame.locator('.live').textContent()) ?? '';
      return text.startsWith('Override') ? text : undefined;
    });
    const stored = (await run.server.store.resources.read(TENANT, 'Claim', target.claim.id)) as Claim;
    if (target.overridable) {
      expect(answer).not.toMatch(/refused/);
      expect(claimStateOf(stored)).not.toBe('held');
    } else {
      expect(answer).toMatch(/Override refused/);
      expect(claimStateOf(stored)).toBe('held');
    }
    // The action's AuditEvent names the person and the reason.
    const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
      { code: 'entity', kind: 'reference', values: [`Claim/${target.claim.id}`] },
    ]);
    expect(
      audits.some(
        (a) =>
          a.purposeOfEvent?.[0]?.text === 'Reviewed with the payer; documentation is on file.' &&
          a.agent.some((g) => g.requestor && g.who?.display === 'Avery Okafor'),
      ),
    ).toBe(true);
  }, 60_000);

  test("denials and underpayments: the payer's reasons in words, the recommended fix; reassign, correct and resubmit", async () => {
    // A denial on an adjudicated claim (a corrected claim replaces an adjudicated one).
    const adjudicated = await waitFor(
      'an adjudicated claim',
      async () =>
        (
          await searchAll<Claim>(run.server.store, TENANT, 'Claim', [
            { code: 'claim-state', kind: 'token', values: [{ value: 'adjudicated' }] },
          ])
        )[0],
      90_000,
      500,
    );
    await seedDenial(run, 'wi-browser-denial', adjudicated);
    await frame.getByRole('link', { name: 'Denials' }).click();
    await showsHeading(frame, 'Denials and underpayments');
    const card = frame.locator('article.work-item', { hasText: adjudicated.id.slice(0, 12) }).filter({
      hasText: '$250.00',
    });
    await card.waitFor();
    // CARC and RARC in words (our own labels), the fix, its evidence, the deadline.
    await expect(card.locator('.reason').textContent()).resolves.toContain(carcInfo('197').label);
    await expect(card.locator('.fix').textContent()).resolves.toMatch(
      /send a corrected claim.*AUTH-BROWSER-1/s,
    );
    await expect(card.textContent()).resolves.toContain(dayFrom(run, 60));
    await screenshot(page, '11-denials');
    expect(await seriousViolations(frame, { onePerKind: 'article.work-item' })).toEqual([]);

    // Reassign: the same checks as /api/remittance/work-items/{id}/assign (a blank assignee is refused there).
    await card.getByLabel('Reassign to').fill('denials-team-b');
    await card.getByRole('button', { name: 'Reassign' }).click();
    await frame.getByText('Reassign: assigned to denials-team-b').waitFor();
    const assigned = (await run.server.store.resources.read(TENANT, 'Task', 'wi-browser-denial')) as Task;
    expect(assigned.owner?.display).toBe('denials-team-b');
    expect(assigned.note?.at(-1)?.text).toMatch(/by Avery Okafor/);

    // Correct and resubmit: the corrected claim is requested, the item waits for it.
    const again = frame
      .locator('article.work-item', { hasText: adjudicated.id.slice(0, 12) })
      .filter({ hasText: '$250.00' });
    await again.getByLabel('Correct and resubmit: reason').fill('Authorization AUTH-BROWSER-1 added.');
    await again.getByRole('button', { name: 'Correct and resubmit' }).click();
    await frame.getByText(/^Correct and resubmit: corrected claim Claim\/.* requested$/).waitFor();
    const corrected = (await run.server.store.resources.read(TENANT, 'Task', 'wi-browser-denial')) as Task;
    expect(corrected.businessStatus?.coding?.[0]?.code).toBe('correction-sent');
    const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
      { code: 'entity', kind: 'reference', values: ['Task/wi-browser-denial'] },
    ]);
    expect(
      audits.filter((a) => a.agent.some((g) => g.requestor && g.who?.display === 'Avery Okafor')).length,
    ).toBeGreaterThanOrEqual(2);
  }, 120_000);

  test('denials: open an appeal from a work item and download its packet', async () => {
    const adjudicated = (
      await searchAll<Claim>(run.server.store, TENANT, 'Claim', [
        { code: 'claim-state', kind: 'token', values: [{ value: 'adjudicated' }] },
      ])
    )[0]!;
    // The tenant payer the claim names (whose appeal levels and deadlines apply).
    const payer = (await seededPayers(run.ehr)).find(
      (p) => p.payerId === adjudicated.insurer?.identifier?.value,
    )!;
    await seedDenial(run, 'wi-browser-appeal', adjudicated, payer.id);
    await frame.getByRole('link', { name: 'Denials' }).click();
    await showsHeading(frame, 'Denials and underpayments');
    await frame.evaluate(`window.dispatchEvent(new HashChangeEvent('hashchange'))`);
    const card = frame.locator('article[aria-labelledby="wi-wi-browser-appeal"]');
    await card.waitFor();
    await card
      .getByLabel('Open an appeal: reason (optional)')
      .fill('Authorization AUTH-BROWSER-1 was on file.');
    await card.getByRole('button', { name: 'Open an appeal' }).click();
    const said = frame.locator('.live[role=status]', { hasText: /^Open an appeal/ });
    await said.waitFor();
    await expect(said.textContent()).resolves.toMatch(/^Open an appeal: /);
    const link = card.getByRole('link', { name: /^Download the .* packet/ });
    await link.waitFor();
    await screenshot(page, '11b-appeal-opened');
    expect(await seriousViolations(frame, { onePerKind: 'article.work-item' })).toEqual([]);
    // The packet the link names: a PDF, as GET /api/remittance/appeals/{id}/packet renders it.
    const href = (await link.getAttribute('href'))!;
    const appealId = decodeURIComponent(/\/appeals\/([^/]+)\/packet$/.exec(href)![1]!);
    const download = await frame.evaluate(async (url) => {
      const r = await fetch(url);
      return [r.status, r.headers.get('content-type'), (await r.text()).slice(0, 5)];
    }, href);
    expect(download).toEqual([200, 'application/pdf', '%PDF-']);
    const appeal = (await run.server.store.resources.read(TENANT, 'Task', appealId)) as Task;
    expect(appeal.focus?.reference).toBe(`Claim/${adjudicated.id}`);
    const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
      { code: 'entity', kind: 'reference', values: [`Task/${appealId}`] },
    ]);
    const byPerson = audits.filter((a) =>
      a.agent.some((g) => g.requestor && g.who?.display === 'Avery Okafor'),
    );
    // The opening (create) and the packet's read, each with the person as the agent.
    expect(byPerson.map((a) => a.action).sort()).toEqual(['C', 'R']);
  }, 60_000);

  test("claim: the posted payment's lines, each adjustment and remark in words", async () => {
    const paid = (
      await searchAll<Claim>(run.server.store, TENANT, 'Claim', [
        { code: 'claim-state', kind: 'token', values: [{ value: 'adjudicated' }] },
      ])
    )[0]!;
    await seedPayment(run, paid);
    await frame.evaluate(`location.hash = ${JSON.stringify(`#/claim/${paid.id}`)}`);
    await showsHeading(frame, /^Claim /);
    const payment = frame.locator('section.eob').filter({ hasText: 'paid $80.00' });
    await payment.waitFor();
    const row = payment.locator('tbody tr').first();
    await expect(row.textContent()).resolves.toContain(`CO-45 ($20.00): ${carcInfo('45').label}`);
    await expect(row.textContent()).resolves.toContain(`N54: ${rarcInfo('N54').label ?? ''}`);
    await screenshot(page, '13-claim-payment');
    expect(await seriousViolations(frame, { onePerKind: 'tbody tr' })).toEqual([]);
  }, 60_000);

  test('prior authorization and eligibility of the patient in context: the ledger and what the payer said', async () => {
    const patient = target.claim.patient.reference ?? '';
    await seedAuthorization(run, patient);
    await frame.getByRole('link', { name: 'Authorizations' }).click();
    await showsHeading(frame, /^Prior authorization and eligibility — /);
    const authorization = frame.locator('article.authorization', { hasText: 'AUTH-BROWSER-1' });
    await authorization.waitFor();
    await expect(authorization.textContent()).resolves.toContain(
      `${dayFrom(run, -10)} to ${dayFrom(run, 20)}`,
    );
    await expect(authorization.locator('h3').textContent()).resolves.toMatch(/Active$/);
    await frame.getByRole('heading', { name: 'Eligibility', exact: true }).waitFor();
    // Ask the payers now: the eligibility worker asks (as POST /api/eligibility/check does).
    const asked = async (): Promise<number> =>
      (
        await searchAll(run.server.store, TENANT, 'CoverageEligibilityRequest', [
          { code: 'patient', kind: 'reference', values: [patient] },
        ])
      ).length;
    const before = await asked();
    await frame.getByRole('button', { name: 'Ask the payers now' }).click();
    await frame.getByText(/^Eligibility: (\d+ payer answer|asked;)/).waitFor({ timeout: 20_000 });
    expect(await asked()).toBeGreaterThan(before);
    await showsHeading(frame, /^Prior authorization and eligibility — /);
    await frame.locator('article.authorization', { hasText: 'AUTH-BROWSER-1' }).waitFor();
    await screenshot(page, '12-authorizations');
    expect(await seriousViolations(frame)).toEqual([]);
    // The read is audited with the person as the agent.
    const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
      { code: 'patient', kind: 'reference', values: [patient] },
    ]);
    expect(
      audits.some(
        (a) =>
          a.entity?.some((e) => e.what?.reference?.startsWith('ClaimResponse/')) &&
          a.agent.some((g) => g.requestor && g.who?.display === 'Avery Okafor'),
      ),
    ).toBe(true);
  }, 60_000);

  test('a view still waiting for its data never draws over the one asked for after it', async () => {
    // The claim's data is held back until the person has already moved on to Analytics.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let asked = false;
    const claimData = `${appUrl}/app/api/claims/${target.claim.id}`;
    await page.route(claimData, async (route) => {
      asked = true;
      await gate;
      await route.continue();
    });
    try {
      await frame.evaluate(`location.hash = ${JSON.stringify(`#/claim/${target.claim.id}`)}`);
      await waitFor('the claim view asking for its data', () => asked || undefined);
      await frame.getByRole('link', { name: 'Analytics' }).click();
      await showsHeading(frame, 'Analytics');
      const answered = page.waitForResponse((response) => response.url() === claimData);
      release();
      await answered;
      // The older view has had its turn: it drew nothing.
      await frame.evaluate('new Promise((resolve) => setTimeout(resolve, 300))');
      expect(await frame.getByRole('heading', { level: 1 }).allTextContents()).toEqual(['Analytics']);
    } finally {
      release();
      await page.unroute(claimData);
    }
  }, 60_000);

  test('analytics: the revenue measures charted with their figures; a bar opens the claims behind it', async () => {
    await frame.getByRole('link', { name: 'Analytics' }).click();
    await showsHeading(frame, 'Analytics');
    for (const title of [
      /^Clean-claim rate .* by payer$/,
      /^Initial denial rate by payer$/,
      'Denials by category',
      'Days in A/R by payer',
      'A/R aging',
      'Net collection rate (insurance) by payer',
      'Underpayments found and recovered',
      'Work waiting',
    ]) {
      await frame
        .getByRole('heading', { name: title, ...(typeof title === 'string' ? { exact: true } : {}) })
        .waitFor();
    }
    expect(await frame.locator('canvas').count()).toBeGreaterThanOrEqual(8);
    await screenshot(page, '05-analytics');
    expect(await seriousViolations(frame, { onePerKind: 'tbody tr' })).toEqual([]);

    // A payer's clean-claim bar: the claims behind it are as many as the payer's decided claims.
    const row = frame.locator('#clean-claims tbody tr').first();
    await row.waitFor();
    const decided = Number((await row.locator('td').nth(2).textContent()) ?? 'NaN');
    await row.locator('a').click();
    await showsHeading(frame, 'Claims behind the figure');
    const claims = frame.locator('table.claims-behind tbody tr');
    if (decided > 0) {
      await claims.first().waitFor();
    }
    expect(await claims.count()).toBe(decided);
    await screenshot(page, '05b-claims-behind');
    expect(await seriousViolations(frame)).toEqual([]);
    if (decided > 0) {
      await claims.first().locator('a').click();
      await showsHeading(frame, /^Claim /);
    }

    // The range: the measures of another month, in the address.
    await frame.getByRole('link', { name: 'Analytics' }).click();
    await showsHeading(frame, 'Analytics');
    // The tenant's today (the date input's max): not the UTC date in the Americas' evening.
    const to = dayFrom(run, 0);
    const from = dayFrom(run, -89);
    await frame.getByLabel('From').fill(from);
    await frame.getByLabel('To').fill(to);
    await frame.getByRole('button', { name: 'Show' }).click();
    await frame.getByText(`Claims served ${from} to ${to}`, { exact: false }).waitFor();

    // The work waiting still leads into the worklist.
    const link = frame.locator('#work-by-state table a').first();
    const label = (await link.textContent()) ?? '';
    await link.click();
    await showsHeading(frame, 'Worklist');
    const selected = await frame.getByLabel('State').locator('option:checked').textContent();
    expect(selected).toBe(label);
  }, 90_000);
});

// The patient's page, in the biller's session the first test launched (a launch of its own would
// check nothing the first test does not, and costs Chromium a sign-in and three documents).
patientPageTests(
  () => app!,
  () => {
    if (!billersApp) {
      throw new Error("the biller's app was not launched (the first test of 'launched from the EHR chart')");
    }
    return billersApp;
  },
);

describe('an administrator', () => {
  test("reads a patient's audit trail, with who saw it", async () => {
    // The encounter the biller opened first: its patient's trail names her. (A held claim looked up
    // now may be another patient's: the claim she opened was overridden and sent meanwhile.)
    const encounter = billersEncounter ?? (await heldClaim(run)).encounter;
    await signInToChart(browser.page, run.ehr.chartUrl, /Sam Whitfield/);
    await browser.page.locator(`form:has(input[name="encounter"][value="${encounter}"]) button`).click();
    const frame = await appFrame(browser.page, appUrl);
    await showsHeading(frame, /— encounter$/);
    await frame.getByRole('link', { name: 'Audit' }).click();
    await showsHeading(frame, /^Audit trail — Patient\//);
    await frame.getByText('Avery Okafor').first().waitFor();
    await screenshot(browser.page, '06-audit');
    expect(await seriousViolations(frame, { onePerKind: 'tbody tr' })).toEqual([]);
  }, 60_000);
});

test("the server's root opens the app", async () => {
  const response = await fetch(`${appUrl}/`, { redirect: 'manual' });
  expect(response.status).toBe(303);
  expect(response.headers.get('location')).toBe('/app/');
  expect((await fetch(`${appUrl}/nothing-here`)).status).toBe(404);
});

describe('what is refused, readably', () => {
  test('a launch from an EHR that is not configured', async () => {
    const page = browser.page;
    const response = await page.goto(
      `${appUrl}/app/launch?iss=${encodeURIComponent('http://127.0.0.1:9/fhir')}&launch=x`,
    );
    expect(response?.status()).toBe(400);
    await showsHeading(page, 'Launch failed');
    await screenshot(page, '07-launch-failed');
    expect(await seriousViolations(page)).toEqual([]);
  });

  test('a callback whose state is unknown or replayed', async () => {
    const page = browser.page;
    const response = await page.goto(`${appUrl}/app/callback?code=abc&state=forged`);
    expect(response?.status()).toBe(400);
    await showsHeading(page, 'Launch failed');
  });

  test('a person with no role', async () => {
    // A physician: the sandbox gives physicians no PractitionerRole, so Dripline gives them no role.
    const physician = ((await run.ehr.listResources('Practitioner')) as Practitioner[]).find((p) =>
      p.name?.[0]?.suffix?.includes('MD'),
    )!;
    const name = `${physician.name![0]!.given![0]} ${physician.name![0]!.family}`;
    await signInToChart(browser.page, run.ehr.chartUrl, new RegExp(`^${name}$`));
    await browser.page.getByRole('button', { name: 'Open billing (worklist)' }).click();
    const frame = await appFrame(browser.page, appUrl);
    await showsHeading(frame, 'No access');
    await screenshot(browser.page, '08-no-access');
  }, 30_000);

  test('a coder reads the denials but may not reassign, resubmit or ask the payers; a clinician may not read them', async () => {
    const page = browser.page;
    // A nurse (clinician) sees the encounter in context only.
    const nurse = ((await run.ehr.listResources('Practitioner')) as Practitioner[]).find((p) =>
      p.name?.[0]?.suffix?.includes('RN'),
    )!;
    await page.goto(`${appUrl}/app/launch?iss=${encodeURIComponent(run.ehr.fhirBaseUrl)}`);
    await page
      .getByRole('button', { name: new RegExp(`^${nurse.name![0]!.given![0]} ${nurse.name![0]!.family}`) })
      .click();
    await page.locator('h1').first().waitFor();
    const { claim } = await heldClaim(run);
    const reads = await page.evaluate(
      async ([patient, id]) => [
        (await fetch('/app/api/work-items')).status,
        (await fetch('/app/api/underpayments')).status,
        (await fetch(`/app/api/patients/${patient}/coverage`)).status,
        (await fetch(`/app/api/claims/${id}`)).status, // with its payments (EOB lines)
      ],
      [claim.patient.reference?.split('/')[1] ?? '', claim.id] as const,
    );
    expect(reads).toEqual([403, 403, 403, 403]);
    await page.evaluate(`location.hash = '#/recovery'`);
    await showsHeading(page, 'No access');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/app\/signed-out$/);

    // The coder (standalone, top level), left signed in for the tests after this one.
    await signedInTopLevel(page, appUrl, run.ehr.fhirBaseUrl, /Jordan Reyes/);
    await seedDenial(run, 'wi-browser-refusal', (await heldClaim(run)).claim);
    await page.evaluate(`location.hash = '#/recovery'`);
    await showsHeading(page, 'Denials and underpayments');
    await page.locator('article.work-item').first().waitFor();
    expect(await page.getByRole('button', { name: 'Reassign' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Correct and resubmit' }).count()).toBe(0);
    const before = (await run.server.store.resources.read(TENANT, 'Task', 'wi-browser-refusal')) as Task &
      StoredResource;
    const refusalPatient = (await heldClaim(run)).claim.patient.reference?.split('/')[1] ?? '';
    const statuses = await page.evaluate(async (patient) => {
      const session = (await (await fetch('/app/api/session')).json()) as { csrf: string };
      const act = (action: string, body: object) =>
        fetch(`/app/api/work-items/wi-browser-refusal/${action}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf },
          body: JSON.stringify(body),
        }).then((r) => r.status);
      const ask = await fetch(`/app/api/patients/${patient}/eligibility`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf },
        body: '{}',
      });
      return [
        await act('assign', { assignee: 'someone-else' }),
        await act('correct', { reason: 'Try again.' }),
        ask.status,
        await act('appeal', { reason: 'Appeal it.' }),
        (await fetch('/app/api/appeals/any-appeal/packet')).status,
      ];
    }, refusalPatient);
    expect(statuses).toEqual([403, 403, 403, 403, 403]);
    expect(await page.getByRole('button', { name: 'Open an appeal' }).count()).toBe(0);
    const after = await run.server.store.resources.read(TENANT, 'Task', 'wi-browser-refusal');
    expect(after.meta.versionId).toBe(before.meta.versionId);
  }, 60_000);

  // The patient's page and analytics at phone width, in the coder's session (./patient-page.ts).
  coderPatientPageTests(() => app!);

  test('an action without the CSRF token, and one after signing out', async () => {
    const page = browser.page;
    // A session top level (no EHR frame): the coder's, as the tests before left it.
    await signedInTopLevel(page, appUrl, run.ehr.fhirBaseUrl, /Jordan Reyes/);
    const target = await heldClaim(run);
    const status = await page.evaluate(async (id) => {
      const r = await fetch(`/app/api/claims/${id}/override`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'no token' }),
      });
      return r.status;
    }, target.claim.id);
    expect(status).toBe(403);
    // The iframe launches above left cookies in the EHR site's partition; this one is top level.
    const topLevel = async () =>
      (await browser.context.cookies()).filter(
        (c) => c.name === 'dripline_session' && c.partitionKey === 'http://localhost',
      );
    const [before] = await topLevel();
    expect(before).toBeDefined();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/app\/signed-out$/);
    await showsHeading(page, 'Signed out');
    expect(await topLevel()).toEqual([]);
    // A tab that kept the old cookie: the session ended on the server too.
    await browser.context.addCookies([before!]);
    const response = await page.goto(`${appUrl}/app/`);
    expect(response?.status()).toBe(401);
    await showsHeading(page, 'Session expired');
    await screenshot(page, '09-session-expired');
  }, 30_000);
});
