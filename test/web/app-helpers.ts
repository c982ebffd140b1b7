/**
 * What the browser tests of the billers' app share: waiting for a view's heading, finding the app
 * in the EHR's iframe, signing a person in to the sandbox EHR's chart, and to the app top level.
 */
import type { Frame, Page } from 'playwright-core';
import { waitFor } from '../support/wait.ts';

/** Waits (a view draws after its data arrives) until the page's h1 reads `expected`. */
export async function showsHeading(frame: Frame | Page, expected: string | RegExp): Promise<void> {
  await frame
    .getByRole('heading', {
      level: 1,
      name: expected,
      ...(typeof expected === 'string' ? { exact: true } : {}),
    })
    .first()
    .waitFor({ timeout: 15_000 });
}

/** The app's frame inside the EHR's page (Dripline at `appUrl`). */
export const appFrame = async (page: Page, appUrl: string): Promise<Frame> =>
  waitFor(
    'the app in the EHR iframe',
    () => page.frames().find((f) => f.url().startsWith(`${appUrl}/app/`)),
    20_000,
  );

/**
 * Signs `person` (a button on the EHR's sign-in list) in to the EHR's chart page. Whoever was
 * signed in before leaves with the EHR's session cookie (`ehr_session`, host-only), so the chart
 * opens on its sign-in list: not the chart of the one before, its Sign out pressed, and the
 * sign-in list drawn after (a document and a form post fewer for Chromium at each change of person).
 */
export async function signInToChart(page: Page, chartUrl: string, person: RegExp): Promise<void> {
  await page.context().clearCookies({ name: 'ehr_session', domain: new URL(chartUrl).hostname });
  await page.goto(chartUrl);
  await page.getByRole('button', { name: person }).click();
  await page.getByRole('heading', { name: /Encounters of/ }).waitFor();
}

/** What the live region said last, once it starts with `prefix`. */
export async function said(frame: Frame | Page, prefix: string | RegExp): Promise<string> {
  const region = frame.locator('.live[role=status]', { hasText: prefix });
  await region.waitFor({ timeout: 20_000 });
  return (await region.textContent()) ?? '';
}

/**
 * Makes the page the app, top level, in `person`'s session (a button on the EHR's sign-in list):
 * the session the page already holds when it is that person's (answers 'kept'), otherwise a
 * standalone launch, where the EHR asks who signs in (answers 'launched'). Tests that need a
 * person's session and are not about the launch go on in the one the test before left: each
 * launch costs Chromium two documents and a sign-in.
 */
export async function signedInTopLevel(
  page: Page,
  appUrl: string,
  fhirBaseUrl: string,
  person: RegExp,
): Promise<'kept' | 'launched'> {
  if (page.url().startsWith(`${appUrl}/app/`)) {
    const name = await page.evaluate(async () => {
      const response = await fetch('/app/api/session');
      return response.ok ? ((await response.json()) as { name?: string }).name : undefined;
    });
    if (name !== undefined && person.test(name)) {
      return 'kept';
    }
  }
  await page.goto(`${appUrl}/app/launch?iss=${encodeURIComponent(fhirBaseUrl)}`);
  await page.getByRole('button', { name: person }).click();
  await showsHeading(page, 'Worklist');
  return 'launched';
}
