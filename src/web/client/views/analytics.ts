/**
 * Analytics of the work waiting: work items and dollars at stake by state and by payer (Chart.js),
 * each bar a link into the worklist of the claims behind it; the same figures as tables.
 */
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { get } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dollars, stateWords } from '../format.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

interface Item {
  readonly state: string;
  readonly payer: string;
  readonly payerName: string;
  readonly amount: number;
}

function group(
  items: readonly Item[],
  key: (i: Item) => string,
): Map<string, { count: number; amount: number }> {
  const out = new Map<string, { count: number; amount: number }>();
  for (const item of items) {
    const entry = out.get(key(item)) ?? { count: 0, amount: 0 };
    entry.count++;
    entry.amount += item.amount;
    out.set(key(item), entry);
  }
  return out;
}

function chartSection(
  title: string,
  groups: Map<string, { count: number; amount: number }>,
  label: (key: string) => string,
  drill: (key: string) => string,
): HTMLElement {
  const keys = [...groups.keys()].sort();
  const canvas = h('canvas', {
    role: 'img',
    'aria-label': `${title}: dollars at stake; the table below has the figures`,
  });
  const section = h(
    'section',
    { class: 'card chart' },
    h('h2', {}, title),
    h('div', { class: 'canvas' }, canvas),
    h(
      'table',
      { class: 'grid' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['', 'Work items', 'At stake'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        keys.map((k) => {
          const g = groups.get(k) ?? { count: 0, amount: 0 };
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, h('a', { href: drill(k) }, label(k))),
            h('td', { class: 'num' }, g.count),
            h('td', { class: 'num' }, dollars(g.amount)),
          );
        }),
      ),
    ),
  );
  // The chart draws itself into the canvas; nothing else holds it.
  new Chart(canvas, {
    type: 'bar',
    data: {
      labels: keys.map(label),
      datasets: [
        {
          label: 'At stake (USD)',
          data: keys.map((k) => groups.get(k)?.amount ?? 0),
          backgroundColor: '#2a6f97',
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      onClick: (_event, elements) => {
        const index = elements[0]?.index;
        const key = index === undefined ? undefined : keys[index];
        if (key !== undefined) {
          window.location.hash = drill(key);
        }
      },
    },
  });
  return section;
}

export async function analyticsView(ctx: ViewContext): Promise<void> {
  const { items } = await get<{ items: Item[] }>('worklist');
  const total = items.reduce((s, i) => s + i.amount, 0);
  const names = new Map(items.map((i) => [i.payer, i.payerName]));
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, 'Analytics'),
    h('p', { class: 'summary' }, `${items.length} open work items · ${dollars(total)} at stake`),
  );
  ctx.main.append(
    chartSection(
      'By state',
      group(items, (i) => i.state),
      stateWords,
      (k) => `#/worklist?state=${encodeURIComponent(k)}`,
    ),
    chartSection(
      'By payer',
      group(items, (i) => i.payer),
      (k) => names.get(k) ?? k,
      (k) => `#/worklist?payer=${encodeURIComponent(k)}`,
    ),
  );
}
