/**
 * `npm run bench:worklist`: how fast the billers' app's worklist is usable with BENCH_ITEMS (500)
 * open work items, in Debian's headless Chromium on localhost (issue 16 asks for under 1 s).
 *
 * Figure: from reload to the last of the rows drawn, BENCH_RUNS (7) times after one warm-up, and
 * the worklist API alone (fetch + JSON parse in the page). Baseline in the same run, same browser:
 * a bare node:http server answering a static page with the same number of rows already in its
 * HTML (no session, no script, no API): what drawing that table costs the browser at all. Printed:
 * best and median of each, the ratio app / baseline, and the peak RSS of this process (Dripline,
 * the sandbox EHR and the bench run in it; Chromium is a separate process). Figures go to `npm run
 * bench`'s table through ./results.ts.
 *
 * Dripline runs in process with its workers off (the rig of test/web/worklist-load.test.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { launchChromium } from '../../test/web/chromium.ts';
import { startWorklistRig } from '../../test/web/worklist-rig.ts';
import { systemClock } from '../../src/time/clock.ts';
import { peakRssMb, recordFigure } from './results.ts';

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min} (got "${raw}")`);
  }
  return value;
}

const ITEMS = intEnv('BENCH_ITEMS', 500, 1);
const RUNS = intEnv('BENCH_RUNS', 7, 1);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The baseline page: the same table, rows already in the HTML. */
function staticTable(rows: number): string {
  const cells = (i: number): string =>
    [
      `Pat Family${i % 120}`,
      `load-${String(i).padStart(3, '0')}`,
      'Acme Health',
      'Held for review',
      `The infusion on line ${1 + (i % 3)} has no stop time.`,
      `$${100 + i}.00`,
      String(i % 80),
      '',
      '—',
    ]
      .map((c) => `<td>${c}</td>`)
      .join('');
  const body = Array.from({ length: rows }, (_, i) => `<tr><td><input type="checkbox"></td>${cells(i)}</tr>`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Worklist</title></head><body><h1>Worklist</h1><table class="grid"><tbody>${body.join('')}</tbody></table></body></html>`;
}

const rig = await startWorklistRig(ITEMS, systemClock());
const html = staticTable(ITEMS);
const bare = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
const browser = await launchChromium({ width: 1280, height: 900 });
try {
  const page = browser.page;
  const lastRow = page.locator('table.grid tbody tr').nth(ITEMS - 1);

  const timeLoads = async (load: () => Promise<unknown>): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const started = performance.now();
      await load();
      await lastRow.waitFor({ timeout: 30_000 });
      if (i > 0) {
        times.push(performance.now() - started); // the first is the warm-up
      }
    }
    return times;
  };

  await page.goto(bareUrl);
  const baseline = await timeLoads(() => page.goto(bareUrl));

  await page.goto(rig.launchUrl);
  await page.getByRole('button', { name: /Avery Okafor/ }).click();
  await lastRow.waitFor({ timeout: 30_000 });
  const app = await timeLoads(() => page.reload());
  const api: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    api.push(
      await page.evaluate(async () => {
        const t = performance.now();
        await (await fetch('/app/api/worklist')).json();
        return performance.now() - t;
      }),
    );
  }

  const ms = (v: number): string => `${v.toFixed(0)} ms`;
  const line = (name: string, v: readonly number[]): string =>
    `${name.padEnd(34)} best ${ms(Math.min(...v)).padStart(7)}  median ${ms(median(v)).padStart(7)}`;
  console.log(
    `worklist with ${ITEMS} work items, ${RUNS} runs each (${cpus().length} cpus, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(line('baseline: static 500-row page', baseline));
  console.log(line('app: reload to last row drawn', app));
  console.log(line('app: worklist API (fetch + parse)', api));
  console.log(`ratio app / baseline (median)     ${(median(app) / median(baseline)).toFixed(1)}x`);
  console.log(`peak RSS of this process so far   ${peakRssMb()} MB`);
  console.log(`target: usable in under 1000 ms (median ${median(app) < 1000 ? 'meets it' : 'misses it'})`);
  recordFigure({
    bench: 'worklist',
    figure: `${ITEMS} work items: reload to usable (median)`,
    value: Math.round(median(app)),
    unit: 'ms',
    baseline: { name: `static ${ITEMS}-row page`, value: Math.round(median(baseline)) },
    target: '< 1000 ms',
    met: median(app) < 1000,
  });
} finally {
  await browser.close();
  await new Promise((resolve) => bare.close(resolve));
  await rig.stop();
}
