/**
 * The billers' app in real headless Chromium, launched the way people launch it: from the sandbox
 * EHR's chart page, as a cross-site iframe (the EHR on 127.0.0.1, Dripline on localhost), through
 * SMART App Launch with PKCE, an id_token and partitioned cookies. Each view is checked, acted in,
 * screenshot (test-output/screenshots) and checked with axe-core (0 serious or critical); then the
 * failures: unknown iss, replayed state, a person without a role, an action without the CSRF
 * token, an ended session. (500 work items at 390 px: worklist-load.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuditEvent, Claim, Practitioner, Task } from '@medplum/fhirtypes';
import type { Frame, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/config.ts';
import { freePort } from '../../src/http/free-port.ts';
import { createLogger } from '../../src/logger.ts';
import { runSandbox } from '../../src/sandbox/index.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { claimTaskId, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import { clockEnv } from '../support/clock.ts';
import { waitFor } from '../support/wait.ts';
import type { Browser } from './chromium.ts';
import { launchChromium, screenshot, seriousViolations } from './chromium.ts';

const TENANT = 'sandbox';
let run: SandboxRun;
let dir: string;
let browser: Browser;
let appUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-web-'));
  const port = await freePort();
  // Dripline on "localhost", the EHR on 127.0.0.1: two sites, so the app is a cross-site iframe.
  appUrl = `http://localhost:${port}`;
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: appUrl,
    LOG_LEVEL: 'silent',
    SANDBOX_REPLAY_SPEED: '0',
    SANDBOX_PATIENTS: '16',
    ...clockEnv(),
  });
  run = await runSandbox(config, createLogger('silent'));
  await run.replayed;
  await waitFor(
    'held claims with their Tasks',
    async () => {
      const held = await searchAll<Claim>(run.server.store, TENANT, 'Claim', [
        { code: 'claim-state', kind: 'token', values: [{ value: 'held' }] },
      ]);
      return held.length > 0 ? held : undefined;
    },
    60_000,
    250,
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await run?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const appFrame = async (page: Page): Promise<Frame> =>
  waitFor(
    'the app in the EHR iframe',
    () => page.frames().find((f) => f.url().startsWith(`${appUrl}/app/`)),
    20_000,
  );

/** Waits (a view draws after its data arrives) until the page's h1 reads `expected`. */
async function showsHeading(frame: Frame | Page, expected: string | RegExp): Promise<void> {
  await frame
    .getByRole('heading', {
      level: 1,
      name: expected,
      ...(typeof expected === 'string' ? { exact: true } : {}),
    })
    .first()
    .waitFor({ timeout: 15_000 });
}

async function signInToChart(page: Page, person: RegExp): Promise<void> {
  await page.goto(run.ehr.chartUrl);
  if ((await page.getByRole('button', { name: 'Sign out' }).count()) > 0) {
    await page.getByRole('button', { name: 'Sign out' }).click();
  }
  await page.getByRole('button', { name: person }).click();
  await page.getByRole('heading', { name: /Encounters of/ }).waitFor();
}

/** A held claim's encounter, and the claim (one whose errors may all be overridden when there is one). */
async function heldClaim(): Promise<{
  claim: Claim & { id: string };
  encounter: string;
  overridable: boolean;
}> {
  const held = await searchAll<Claim>(run.server.store, TENANT, 'Claim', [
    { code: 'claim-state', kind: 'token', values: [{ value: 'held' }] },
  ]);
  const scored = await Promise.all(
    held.map(async (claim) => {
      const task = (await run.server.store.resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
      const errors = findingsOfTask(task).filter((f) => f.severity === 'error');
      return { claim, overridable: errors.length > 0 && errors.every((f) => f.overridable) };
    }),
  );
  const chosen = scored.find((s) => s.overridable) ?? scored[0]!;
  const encounter = chosen.claim.item?.[0]?.encounter?.[0]?.reference?.split('/')[1] ?? '';
  return { ...chosen, encounter };
}

describe('launched from the EHR chart', () => {
  let page: Page;
  let frame: Frame;
  let target: Awaited<ReturnType<typeof heldClaim>>;

  beforeAll(async () => {
    page = browser.page;
    target = await heldClaim();
  });

  test('the Billing button opens the encounter in context inside the EHR (SMART EHR launch)', async () => {
    await signInToChart(page, /Avery Okafor/);
    await screenshot(page, '01-ehr-chart');
    await page.locator(`form:has(input[name="encounter"][value="${target.encounter}"]) button`).click();
    frame = await appFrame(page);
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

  test('analytics: charts of what waits, each bar drilling into the claims behind it', async () => {
    await frame.getByRole('link', { name: 'Analytics' }).click();
    await showsHeading(frame, 'Analytics');
    expect(await frame.locator('canvas').count()).toBe(2);
    await screenshot(page, '05-analytics');
    expect(await seriousViolations(frame)).toEqual([]);
    const link = frame.locator('.chart table a').first();
    const label = (await link.textContent()) ?? '';
    await link.click();
    await showsHeading(frame, 'Worklist');
    const selected = await frame.getByLabel('State').locator('option:checked').textContent();
    expect(selected).toBe(label);
  }, 60_000);
});

describe('an administrator', () => {
  test("reads a patient's audit trail, with who saw it", async () => {
    const target = await heldClaim();
    await signInToChart(browser.page, /Sam Whitfield/);
    await browser.page
      .locator(`form:has(input[name="encounter"][value="${target.encounter}"]) button`)
      .click();
    const frame = await appFrame(browser.page);
    await showsHeading(frame, /— encounter$/);
    await frame.getByRole('link', { name: 'Audit' }).click();
    await showsHeading(frame, /^Audit trail — Patient\//);
    await frame.getByText('Avery Okafor').first().waitFor();
    await screenshot(browser.page, '06-audit');
    expect(await seriousViolations(frame)).toEqual([]);
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
    await signInToChart(browser.page, new RegExp(`^${name}$`));
    await browser.page.getByRole('button', { name: 'Open billing (worklist)' }).click();
    const frame = await appFrame(browser.page);
    await showsHeading(frame, 'No access');
    await screenshot(browser.page, '08-no-access');
  }, 30_000);

  test('an action without the CSRF token, and one after signing out', async () => {
    const page = browser.page;
    // Standalone launch (top level, no EHR frame): the EHR asks who signs in.
    await page.goto(`${appUrl}/app/launch?iss=${encodeURIComponent(run.ehr.fhirBaseUrl)}`);
    await page.getByRole('button', { name: /Jordan Reyes/ }).click();
    await showsHeading(page, 'Worklist');
    const target = await heldClaim();
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
