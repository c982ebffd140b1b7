/**
 * A bar chart (Chart.js, bundled) with the table of its figures below it: every bar is also a row,
 * and each row's link (or a click on its bar) opens the claims behind it. The table is what screen
 * readers and keyboards use; the canvas says so.
 */
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { h } from '../dom.ts';
import type { Child } from '../dom.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface ChartRow {
  /** The bar's label (the row's first cell). */
  readonly label: string;
  /** The bar's height (null: no figure, e.g. a rate with nothing decided). */
  readonly value: number | null;
  /** The row's other cells. */
  readonly cells: readonly Child[];
  /** Where the bar leads (a claim list or the worklist). */
  readonly href?: string;
}

export interface ChartCard {
  readonly id: string;
  readonly title: string;
  /** What the bars measure, for the canvas's label and the dataset. */
  readonly measure: string;
  /** The row head's columns after the label's. */
  readonly head: readonly string[];
  readonly rows: readonly ChartRow[];
  /** A sentence under the title: the total, how it is defined. */
  readonly note?: Child;
}

export function chartCard(card: ChartCard): HTMLElement {
  const canvas = h('canvas', {
    role: 'img',
    'aria-label': `${card.title}: ${card.measure}; the table below has the figures`,
  });
  const section = h(
    'section',
    { class: 'card chart', id: card.id, 'aria-labelledby': `${card.id}-title` },
    h('h3', { id: `${card.id}-title` }, card.title),
    card.note ? h('p', { class: 'meta' }, card.note) : null,
    card.rows.length ? h('div', { class: 'canvas' }, canvas) : h('p', {}, 'Nothing in this range.'),
    card.rows.length
      ? h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'grid' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['', ...card.head].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              {},
              card.rows.map((r) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, r.href ? h('a', { href: r.href }, r.label) : r.label),
                  r.cells.map((c) => h('td', { class: 'num' }, c)),
                ),
              ),
            ),
          ),
        )
      : null,
  );
  if (card.rows.length) {
    // The chart draws itself into the canvas; nothing else holds it.
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: card.rows.map((r) => r.label),
        datasets: [{ label: card.measure, data: card.rows.map((r) => r.value), backgroundColor: '#2a6f97' }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        onClick: (_event, elements) => {
          const index = elements[0]?.index;
          const href = index === undefined ? undefined : card.rows[index]?.href;
          if (href) {
            window.location.hash = href;
          }
        },
      },
    });
  }
  return section;
}
