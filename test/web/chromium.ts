/**
 * Debian's Chromium, driven by playwright-core, for the browser tests. They never skip: without
 * Chromium they fail at load, saying how to install it (`npm test`'s pretest,
 * scripts/setup/chromium.sh, installs it when missing).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/**
 * Debian's headless shell (chromium-headless-shell): the same Chromium build without the browser's
 * user interface, which headless Chromium still runs unseen — what Playwright itself runs headless
 * tests in. Measured on browser.test.ts (alternated, medians of 3): Chromium 23.6 -> 17.1 CPU-s,
 * its start 1.7 -> 0.7 CPU-s.
 */
const HEADLESS_SHELL = '/usr/bin/chromium-headless-shell';
/** Debian's Chromium: used when the headless shell is not installed. */
const FULL_CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM =
  process.env['CHROMIUM_PATH'] ??
  [HEADLESS_SHELL, FULL_CHROMIUM].find((p) => existsSync(p)) ??
  HEADLESS_SHELL;

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `The browser tests need Chromium at ${HEADLESS_SHELL} or ${FULL_CHROMIUM} (Debian: apt-get install -y chromium-headless-shell; npm test's pretest installs it). Set CHROMIUM_PATH to use another.`,
  );
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Screenshots of every view, when asked for (git-ignored). */
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-output', 'screenshots');

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** Starts CHROMIUM with the --disable-features lists merged (Chromium keeps only the last one). */
const LAUNCHER = fileURLToPath(new URL('./chromium-launcher.sh', import.meta.url));

/**
 * Chromium features a headless test never uses and pays for: the omnibox's WebUI popups, which
 * Chromium 156 loads in a renderer of their own at every start, headless too (measured: a start
 * and a first page 3.4 → 1.9 CPU-s, 5.6 → 4.5 s).
 */
const DISABLED_FEATURES = ['WebUIOmniboxPopup', 'WebUIOmniboxAimPopup'];

/**
 * A fresh profile each time; the flags Chromium needs on this machine (no network beyond loopback).
 * `timezoneId` sets the browser's zone (else the machine's), for a test that the app reads times
 * in the tenant's zone, not the browser's.
 */
export async function launchChromium(
  viewport = { width: 1280, height: 900 },
  { timezoneId }: { timezoneId?: string } = {},
): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'dripline-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: LAUNCHER,
    env: { ...process.env, DRIPLINE_CHROMIUM: CHROMIUM },
    headless: true,
    viewport,
    ...(timezoneId ? { timezoneId } : {}),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--disable-features=${DISABLED_FEATURES.join(',')}`,
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots are taken when asked for (`TEST_SCREENSHOTS=1`): for people to look at, no test does. */
export const TAKE_SCREENSHOTS = process.env['TEST_SCREENSHOTS'] === '1';

/**
 * When screenshots are asked for (`TAKE_SCREENSHOTS`), the whole page, or (`fullPage: false`) the
 * screenful a person sees first: for a view hundreds of rows long, the full page is a very tall
 * image that takes seconds to render and shows nothing the first screen and the test's assertions
 * don't. Otherwise nothing: each costs Chromium a paint of the page and a PNG, ~0.3–0.8 s, and
 * no assertion reads them.
 */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<void> {
  if (!TAKE_SCREENSHOTS) {
    return;
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

const AXE = readFileSync(path.join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { target: readonly string[] }[];
}

/**
 * A row's kind, in the page: its elements, their classes and attribute names (empty or not), and
 * which of them hold text. Rows of one kind are the same markup with other words.
 */
const KIND_OF = `(row) =>
  [row, ...row.querySelectorAll('*')]
    .map((e) => [
      e.tagName,
      e.getAttributeNames().sort().map((n) => (e.getAttribute(n) === '' ? n + '=' : n)).join(','),
      e.getAttribute('class'),
      e.childElementCount === 0 && e.textContent.trim() !== '' ? 'text' : '',
    ].join('|'))
    .join(' ')`;

/** The kinds of the rows `selector` finds (see KIND_OF), sorted. */
export async function rowKinds(target: Page | Frame, selector: string): Promise<string[]> {
  return target.evaluate<string[]>(
    `[...new Set([...document.querySelectorAll(${JSON.stringify(selector)})].map(${KIND_OF}))].sort()`,
  );
}

/**
 * axe-core's serious and critical violations in a page or frame (WCAG 2.x A/AA rules). axe is
 * injected once per document: the app is one document whose views change by the URL's fragment,
 * and evaluating axe's 0.5 MB again for each view cost more than checking the view.
 *
 * `onePerKind` (a selector of a long list's rows, all drawn from one template) checks one row of
 * each kind (KIND_OF) and leaves the others out: they are the same markup with other words, and
 * axe's cost grows with each row. Document-wide rules (duplicate ids, landmarks) still see every
 * row; every other element is checked as always. (axe's colour contrast also costs with every
 * element on the page, checked or not: check a long list in a state that draws fewer rows of every
 * kind — `rowKinds` tells which kinds a state draws.)
 */
export async function seriousViolations(
  target: Page | Frame,
  { onePerKind }: { onePerKind?: string } = {},
): Promise<AxeViolation[]> {
  if (!(await target.evaluate<boolean>(`typeof axe === 'object'`))) {
    await target.evaluate(AXE);
  }
  // Runs in the page (a string: the test's types hold no DOM).
  const violations = await target.evaluate<AxeViolation[]>(`(() => {
    const kindOf = ${KIND_OF};
    const kinds = new Set();
    const repeats = ${JSON.stringify(onePerKind ?? null)} === null ? [] : [
      ...document.querySelectorAll(${JSON.stringify(onePerKind ?? '')}),
    ].filter((row) => {
      const kind = kindOf(row);
      if (kinds.has(kind)) {
        return true;
      }
      kinds.add(kind);
      return false;
    });
    return axe
      .run(repeats.length > 0 ? { exclude: repeats } : document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
        resultTypes: ['violations'],
      })
      .then((result) =>
        result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })),
      );
  })()`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
