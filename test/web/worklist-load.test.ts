/**
 * The worklist with 500 open work items, in real Chromium at phone width (390 px): all 500 rows
 * drawn, sorted and filtered, nothing but the table scrolling sideways, and 0 serious or critical
 * axe-core violations (in each kind of row the 500 draw, checked where a filter draws fewer:
 * `onePerKind` in ./chromium.ts). How fast it is usable is measured by `npm run bench:worklist`
 * (scripts/bench/worklist.ts), not here: on a shared, loaded machine a timing is noise, not a
 * verdict. A second tenant holds a claim of its own: this person can neither read nor act on it.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Claim, Task } from '@medplum/fhirtypes';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { claimTaskId } from '../../src/claims/workflow/tasks.ts';
import { testClock } from '../support/clock.ts';
import type { Browser } from './chromium.ts';
import { launchChromium, rowKinds, screenshot, seriousViolations } from './chromium.ts';
import { OTHER_CLAIM, OTHER_TENANT, startWorklistRig } from './worklist-rig.ts';
import type { WorklistRig } from './worklist-rig.ts';

const ITEMS = 500;
const ROWS = 'table.grid tbody tr';
let rig: WorklistRig;
let browser: Browser;

beforeAll(async () => {
  // Chromium starts while the rig writes its items (neither needs the other).
  const [started, launched] = await Promise.allSettled([
    startWorklistRig(ITEMS, testClock).then((r) => (rig = r)),
    launchChromium({ width: 390, height: 844 }).then((b) => (browser = b)),
  ]);
  for (const outcome of [started, launched]) {
    if (outcome.status === 'rejected') {
      throw outcome.reason;
    }
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await rig?.stop();
});

test(`${ITEMS} work items: all drawn, sorted and filtered, readable at 390 px`, async () => {
  const page = browser.page;
  await page.goto(rig.launchUrl);
  await page.getByRole('button', { name: /Avery Okafor/ }).click();
  const rows = page.locator(ROWS);
  await rows.nth(ITEMS - 1).waitFor({ timeout: 20_000 });
  expect(await rows.count()).toBe(ITEMS);
  await expect(page.locator('.summary').textContent()).resolves.toMatch(
    new RegExp(`^${ITEMS} of ${ITEMS} work items`),
  );
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  expect(overflow).toBeLessThanOrEqual(0);
  // The first screen: the full 500 rows are a very tall image, seconds to render (see screenshot()).
  await screenshot(page, '10-worklist-500-items-390px', { fullPage: false });
  // Every kind of row the list draws (urgent or not, ...): axe checks them below, filtered.
  const kinds = await rowKinds(page, ROWS);

  // Sorted by what is at stake (claim i is $100 + i), both ways.
  const firstAmount = async (): Promise<string> =>
    ((await rows.first().locator('td.num').first().textContent()) ?? '').trim();
  await page.getByRole('button', { name: 'At stake' }).click();
  await expect(page.locator('th[aria-sort="ascending"]').textContent()).resolves.toBe('At stake');
  expect(await firstAmount()).toBe('$100.00');
  await page.getByRole('button', { name: 'At stake' }).click();
  await expect(page.locator('th[aria-sort="descending"]').textContent()).resolves.toBe('At stake');
  expect(await firstAmount()).toBe(`$${99 + ITEMS}.00`);

  // Filtered by the patient's name: Family7 and Family70-79 (claim i belongs to patient i mod 120).
  const matching = Array.from({ length: ITEMS }, (_, i) => `Family${i % 120}`).filter((name) =>
    name.startsWith('Family7'),
  ).length;
  await page.getByLabel('Search').fill('Family7');
  await expect(page.locator('.summary').textContent()).resolves.toMatch(
    new RegExp(`^${matching} of ${ITEMS} work items`),
  );
  expect(await rows.count()).toBe(matching);
  for (const name of await rows.locator('td:nth-child(2)').allTextContents()) {
    expect(name).toMatch(/Family7\d?$/);
  }
  // axe at 390 px, where the filtered rows are of every kind the 500 are: one row of each kind and
  // everything around them (axe's colour contrast costs with every row drawn, checked or not:
  // seconds at 500; onePerKind in ./chromium.ts).
  expect(await rowKinds(page, ROWS)).toEqual(kinds);
  expect(await seriousViolations(page, { onePerKind: ROWS })).toEqual([]);
  await page.getByLabel('Search').fill('');
  expect(await rows.count()).toBe(ITEMS);
}, 90_000);

test("another tenant's claim: not found for this person, to read or to act on, and unchanged", async () => {
  // Signed in by the test above (same browser); the app's own token goes with each action.
  const page = browser.page;
  const answers = await page.evaluate<number[], string>(async (id) => {
    const session = (await (await fetch('/app/api/session')).json()) as { csrf: string; owner: string };
    const action = (path: string, body: object) =>
      fetch(`/app/api/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    return [
      (await fetch(`/app/api/claims/${id}`)).status,
      (await fetch(`/app/api/claims/${id}/x12`)).status,
      await action(`claims/${id}/override`, { reason: 'Reviewed with the payer.' }),
      await action(`claims/${id}/resubmit`, { reason: 'Corrected.' }),
      await action(`claims/${id}/assign`, { owner: { reference: session.owner } }),
    ];
  }, OTHER_CLAIM);
  expect(answers).toEqual([404, 404, 404, 404, 404]);
  const stored = (await rig.server.store.resources.read(OTHER_TENANT, 'Claim', OTHER_CLAIM)) as Claim;
  expect(claimStateOf(stored)).toBe('held');
  const task = (await rig.server.store.resources.read(
    OTHER_TENANT,
    'Task',
    claimTaskId(OTHER_CLAIM),
  )) as Task;
  expect(task.owner).toBeUndefined();
}, 30_000);
