/**
 * The billers' app's patient page in real headless Chromium, in a biller's session launched from
 * the sandbox EHR's chart: the patient's statements downloaded as the PDF
 * `/api/remittance/statements/{id}/pdf` serves; an authorization recorded by hand (the checks of
 * `POST /api/coverage/authorizations`); an order's prior authorization asked for (the queue
 * `POST /api/prior-auth` fills); a coder may do none of it. Each view screenshot and checked with
 * axe-core; each read and action audited with the person as the agent. Registered by
 * browser.test.ts in its sandbox world and Chromium: the biller's part after its own views, in the
 * biller's session its first test launched; the coder's among its refusals, in the coder's session
 * they leave (one world, one browser and as few launches as there are people: each costs seconds
 * of CPU; the launches themselves are browser.test's subject).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import type {
  AuditEvent,
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  MedicationRequest,
} from '@medplum/fhirtypes';
import type { ConsoleMessage, Frame, Page } from 'playwright-core';
import type { DriplineConfig } from '../../src/config/config.ts';
import { PRIOR_AUTH_QUEUE } from '../../src/coverage/pas/records.ts';
import { runStatements } from '../../src/remittance/statements/run.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { testClock, testToday } from '../support/clock.ts';
import { pdfText } from '../support/pdf-text.ts';
import { waitFor } from '../support/wait.ts';
import { said, showsHeading, signedInTopLevel } from './app-helpers.ts';
import type { SandboxApp } from './sandbox-app.ts';
import type { Browser } from './chromium.ts';
import { screenshot, seriousViolations } from './chromium.ts';

const TENANT = 'sandbox';
const ADJUDICATION = 'http://terminology.hl7.org/CodeSystem/adjudication';
let config: DriplineConfig;
let run: SandboxRun;
let browser: Browser;
let appUrl: string;

/** A day `days` from the sandbox tenant's today, in its time zone (as the app's pages date things). */
const tenantToday = (days: number): string =>
  testToday(run.tenants.find((t) => t.id === TENANT)?.timeZone ?? 'UTC', days);

/** A patient of the day with an infusion order on file and a claim. */
async function patientWithOrder(): Promise<{ patient: string; orders: MedicationRequest[] }> {
  return waitFor(
    'a patient with an order and a claim',
    async () => {
      const orders = await searchAll<MedicationRequest>(run.server.store, TENANT, 'MedicationRequest');
      const claims = await searchAll<Claim>(run.server.store, TENANT, 'Claim');
      for (const claim of claims) {
        const patient = claim.patient.reference ?? '';
        const mine = orders.filter((o) => o.subject.reference === patient);
        if (mine.length > 0) {
          return { patient, orders: mine };
        }
      }
      return undefined;
    },
    90_000,
    500,
  );
}

/**
 * What a payer left the patient to pay (as a posted 835 or EOB does: C4BB memberliability), then
 * the cycle's statement run (as `POST /api/remittance/statements/run` runs it).
 */
async function seedStatement(patient: string): Promise<void> {
  const today = tenantToday(0);
  const amount = (code: string, value: number) => ({
    category: { coding: [{ system: ADJUDICATION, code }] },
    amount: { value, currency: 'USD' as const },
  });
  const eob: ExplanationOfBenefit = {
    resourceType: 'ExplanationOfBenefit',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: patient },
    created: testClock().toISOString(),
    insurer: { display: 'Sandbox payer' },
    provider: { display: 'Sandbox infusion center' },
    outcome: 'complete',
    insurance: [{ focal: true, coverage: { display: 'Primary coverage' } }],
    payment: { date: today, amount: { value: 150, currency: 'USD' } },
    item: [
      {
        sequence: 1,
        servicedDate: today,
        productOrService: { coding: [{ code: '96365' }] },
        adjudication: [amount('submitted', 250), amount('benefit', 150), amount('memberliability', 50)],
      },
    ],
  };
  await run.server.store.resources.create(TENANT, eob);
  await runStatements(
    { store: run.server.store, publicUrl: appUrl, now: () => testClock(), tenants: () => config.tenants },
    TENANT,
    { clientId: 'test' },
  );
}

const byPerson = (audits: readonly AuditEvent[], person: string): AuditEvent[] =>
  audits.filter((a) => a.agent.some((g) => g.requestor && g.who?.display === person));

/**
 * Registers the patient page's biller tests, in the world `world` gives once its beforeAll has run
 * and the app `billersApp` gives (launched from the EHR chart by Avery Okafor, a biller).
 */
export function patientPageTests(
  world: () => SandboxApp,
  billersApp: () => { page: Page; frame: Frame },
): void {
  beforeAll(() => {
    ({ config, run, browser, appUrl } = world());
  });

  describe("the patient's page, launched from the EHR chart by a biller", () => {
    let page: Page;
    let frame: Frame;
    let target: Awaited<ReturnType<typeof patientWithOrder>>;

    beforeAll(async () => {
      ({ page, frame } = billersApp());
      target = await patientWithOrder();
      await seedStatement(target.patient);
      await frame.evaluate(
        `location.hash = ${JSON.stringify(`#/coverage/${target.patient.split('/')[1] ?? ''}`)}`,
      );
      await showsHeading(frame, /^Prior authorization and eligibility — /);
    }, 120_000);

    test('download a statement: the PDF the statements API serves, its read audited', async () => {
      const link = frame.getByRole('link', { name: /^Statement of .* \(PDF\)$/ });
      await link.first().waitFor();
      await screenshot(page, '14-patient-statements');
      expect(await seriousViolations(frame)).toEqual([]);
      const href = (await link.first().getAttribute('href'))!;
      const invoice = decodeURIComponent(/\/statements\/([^/]+)\/pdf$/.exec(href)![1]!);
      const download = await frame.evaluate(async (url) => {
        const r = await fetch(url);
        const bytes = Array.from(new Uint8Array(await r.arrayBuffer()));
        return {
          status: r.status,
          type: r.headers.get('content-type'),
          disposition: r.headers.get('content-disposition'),
          bytes,
        };
      }, href);
      expect(download.status).toBe(200);
      expect(download.type).toBe('application/pdf');
      expect(download.disposition).toBe(`attachment; filename="statement-${invoice}.pdf"`);
      const text = (await pdfText(Uint8Array.from(download.bytes))).replace(/\s+/g, '');
      expect(text).toContain('$50.00');
      const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
        { code: 'entity', kind: 'reference', values: [`Invoice/${invoice}`] },
      ]);
      expect(byPerson(audits, 'Avery Okafor').map((a) => a.action)).toContain('R');
    }, 60_000);

    test('record an authorization by hand: the same checks as the API, the ledger shows it', async () => {
      const form = frame.locator('form.record-authorization');
      await form.waitFor();
      // The patient's payer is chosen first.
      const summary = (await frame.locator('p.summary').first().textContent()) ?? '';
      const payerName = /^Payer: (.*) · as of/.exec(summary)?.[1];
      await expect(form.getByLabel('Payer').locator('option:checked').textContent()).resolves.toBe(payerName);
      const today = tenantToday(0);
      const later = tenantToday(40);
      // Refused as the API refuses it: an end before the start; nothing written.
      await form.getByLabel('Authorization number').fill('AUTH-APP-9');
      await form.getByLabel('From').fill(later);
      await form.getByLabel('To').fill(today);
      await form.getByRole('button', { name: 'Record the authorization' }).click();
      await expect(said(frame, /^Authorization refused/)).resolves.toMatch(/"end" is on or after "start"/);
      const recorded = async (): Promise<ClaimResponse[]> =>
        (
          await searchAll<ClaimResponse>(run.server.store, TENANT, 'ClaimResponse', [
            { code: 'patient', kind: 'reference', values: [target.patient] },
          ])
        ).filter((c) => c.preAuthRef === 'AUTH-APP-9');
      expect(await recorded()).toEqual([]);

      await form.getByLabel('From').fill(today);
      await form.getByLabel('To').fill(later);
      await form.getByLabel(/^Service code/).fill('J1745');
      await form.getByLabel(/^Units authorized/).fill('12');
      await form.getByRole('button', { name: 'Record the authorization' }).click();
      await said(frame, /^Authorization AUTH-APP-9 recorded/);
      const card = frame.locator('article.authorization', { hasText: 'AUTH-APP-9' });
      await card.waitFor();
      await expect(card.textContent()).resolves.toContain('12 units');
      await screenshot(page, '15-authorization-recorded');
      expect(await seriousViolations(frame)).toEqual([]);
      const [stored] = await recorded();
      expect(stored?.preAuthPeriod).toEqual({ start: today, end: later });
      expect(stored?.insurer?.display).toBe(payerName);
      const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
        { code: 'entity', kind: 'reference', values: [`ClaimResponse/${stored?.id ?? ''}`] },
      ]);
      expect(byPerson(audits, 'Avery Okafor').map((a) => a.action)).toContain('C');
    }, 60_000);

    test('request prior authorization of an order: queued as POST /api/prior-auth queues it', async () => {
      const button = frame.getByRole('button', { name: /^Request prior authorization of / }).first();
      await button.waitFor();
      await screenshot(page, '16-orders');
      // No axe here: the page is as the test above left it and checked it, orders included.
      await button.click();
      await said(frame, /^Prior authorization of .* (requested|already requested)/);
      const ids = new Set(target.orders.map((o) => o.id));
      const job = await waitFor('the prior authorization job', async () => {
        for (const state of ['ready', 'leased', 'done', 'dead'] as const) {
          const jobs = await run.server.store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, state, 1000);
          const mine = jobs.find((j) => {
            const payload = j.payload as { order?: string; reason?: string };
            return ids.has(payload.order ?? '') && payload.reason?.includes('Avery Okafor');
          });
          if (mine) {
            return mine;
          }
        }
        return undefined;
      });
      const order = (job.payload as { order: string }).order;
      const audits = await searchAll<AuditEvent>(run.server.store, TENANT, 'AuditEvent', [
        { code: 'entity', kind: 'reference', values: [`MedicationRequest/${order}`] },
      ]);
      expect(byPerson(audits, 'Avery Okafor').length).toBeGreaterThan(0);
    }, 60_000);

    test("a patient route's id: not an id 400, no such patient 404, as OperationOutcomes", async () => {
      const answers = await frame.evaluate(async () => {
        const csrf = ((await (await fetch('/app/api/session')).json()) as { csrf: string }).csrf;
        const ask = async (method: string, path: string) => {
          const r = await fetch(path, {
            method,
            headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' },
            ...(method === 'POST' ? { body: '{}' } : {}),
          });
          const body = (await r.json()) as { resourceType?: string };
          return `${method} ${path} ${r.status} ${body.resourceType ?? ''}`;
        };
        const out: string[] = [];
        for (const [method, tail] of [
          ['GET', 'coverage'],
          ['POST', 'eligibility'],
          ['GET', 'statements'],
          ['GET', 'orders'],
          ['POST', 'authorizations'],
        ] as const) {
          for (const id of ['bad!id', 'no-such-patient']) {
            out.push(await ask(method, `/app/api/patients/${id}/${tail}`));
          }
        }
        return out;
      });
      const expected = (
        ['GET coverage', 'POST eligibility', 'GET statements', 'GET orders'] as const
      ).flatMap((route) => {
        const [method, tail] = route.split(' ');
        return [
          `${method} /app/api/patients/bad!id/${tail} 400 OperationOutcome`,
          `${method} /app/api/patients/no-such-patient/${tail} 404 OperationOutcome`,
        ];
      });
      // Recording an authorization checks the id first, then the form (an empty one is a 400 too).
      expect(answers.slice(0, 8)).toEqual(expected);
      expect(answers[8]).toBe('POST /app/api/patients/bad!id/authorizations 400 OperationOutcome');
    }, 60_000);
  });
}

/**
 * Registers the coder's patient-page test, in the world `world` gives, top level in the coder's
 * (Jordan Reyes's) session: the one the test before left, or a launch of its own. Left signed in.
 */
export function coderPatientPageTests(world: () => SandboxApp): void {
  describe('what a coder may not do', () => {
    test('no form, no button; the API refuses recording, asking, and any action without the CSRF token', async () => {
      ({ config, run, browser, appUrl } = world());
      const target = await patientWithOrder();
      const page = browser.page;
      // At phone width (390 px), top level: nothing but the tables scrolls sideways, and the strict
      // Content-Security-Policy refuses nothing the app does (charts included) — from the app's
      // document on: loaded at this width, by the launch or else again.
      await page.setViewportSize({ width: 390, height: 844 });
      const refused: string[] = [];
      const onConsole = (message: ConsoleMessage): void => {
        if (/Content.Security.Policy/i.test(message.text())) {
          refused.push(message.text());
        }
      };
      page.on('console', onConsole);
      const overflow = (): Promise<number> =>
        page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      if ((await signedInTopLevel(page, appUrl, run.ehr.fhirBaseUrl, /Jordan Reyes/)) === 'kept') {
        await page.reload();
        await page.locator('main h1').first().waitFor();
      }
      const patientId = target.patient.split('/')[1] ?? '';
      await page.evaluate(`location.hash = '#/coverage/${patientId}'`);
      await showsHeading(page, /^Prior authorization and eligibility — /);
      await page.getByRole('heading', { name: 'Orders and prior authorization requests' }).waitFor();
      await page.locator('h2#statements').waitFor();
      expect(await overflow()).toBeLessThanOrEqual(0);
      await screenshot(page, '17-patient-page-390px');
      expect(await seriousViolations(page, { onePerKind: 'tbody tr' })).toEqual([]);
      expect(await page.locator('form.record-authorization').count()).toBe(0);
      expect(await page.getByRole('button', { name: /^Request prior authorization/ }).count()).toBe(0);
      // What the refused calls would write: an authorization (a preauthorization ClaimResponse).
      // Not every ClaimResponse: the payers' answers to claims submitted meanwhile are some too.
      const authorizations = async (): Promise<number> =>
        (await searchAll<ClaimResponse>(run.server.store, TENANT, 'ClaimResponse')).filter(
          (c) => c.use === 'preauthorization',
        ).length;
      const before = await authorizations();
      const statuses = await page.evaluate(
        async ([patient, order]) => {
          const session = (await (await fetch('/app/api/session')).json()) as { csrf: string };
          const send = (url: string, body: object, csrf = session.csrf) =>
            fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
              body: JSON.stringify(body),
            }).then((r) => r.status);
          const authorization = { payer: 'x', number: 'N-1', start: '2026-01-01', end: '2026-02-01' };
          return [
            await send(`/app/api/patients/${patient}/authorizations`, authorization),
            await send(`/app/api/orders/${order}/prior-auth`, {}),
            await send(`/app/api/orders/${order}/prior-auth`, {}, 'not-the-token'),
            (await fetch(`/app/api/patients/${patient}/statements`)).status,
          ];
        },
        [patientId, target.orders[0]!.id] as const,
      );
      // Recording and asking: 403 for the role (and without the token); reading statements: allowed.
      expect(statuses).toEqual([403, 403, 403, 200]);
      expect(await authorizations()).toBe(before);

      // The analytics a coder reads, at 390 px.
      await page.evaluate(`location.hash = '#/analytics'`);
      await showsHeading(page, 'Analytics');
      await page.getByRole('heading', { name: 'A/R aging', exact: true }).waitFor();
      expect(await overflow()).toBeLessThanOrEqual(0);
      await screenshot(page, '18-analytics-390px');
      expect(await seriousViolations(page, { onePerKind: 'tbody tr' })).toEqual([]);
      expect(refused).toEqual([]);
      page.off('console', onConsole);
      await page.setViewportSize({ width: 1280, height: 900 });
    }, 60_000);
  });
}
