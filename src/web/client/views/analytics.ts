/**
 * Analytics: the revenue measures of a date range (the same figures as `/api/analytics/{measure}`)
 * — clean-claim, denial, first-pass resolution and net collection rates, denials by category,
 * days in A/R, A/R aging, underpayments found and recovered, appeals, authorizations — each a chart
 * with the table of its figures, every bar leading to the claims behind it (`#/claims?…`); then
 * the work waiting (work items by state and payer), leading into the worklist.
 */
import { get } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dollars, stateWords } from '../format.ts';
import type { ChartRow } from './chart-card.ts';
import { chartCard } from './chart-card.ts';

interface Row {
  readonly key: string;
  readonly value: number | null;
  readonly numerator?: number;
  readonly denominator?: number;
  readonly [detail: string]: unknown;
}

interface Measure {
  readonly measure: string;
  readonly title: string;
  readonly total: Row;
  readonly slices: readonly Row[];
}

interface Revenue {
  readonly from: string;
  readonly to: string;
  readonly today: string;
  readonly payers: Readonly<Record<string, string>>;
  readonly measures: readonly Measure[];
}

interface Item {
  readonly state: string;
  readonly payer: string;
  readonly payerName: string;
  readonly amount: number;
}

const percent = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`;
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
const BUCKETS = ['0-30', '31-60', '61-90', '91-120', '120+'];

/** The claims behind a bar: the drill-down view's address. */
function claimsHref(range: Revenue, measure: string, slice: string, part?: string): string {
  const q = new URLSearchParams({
    measure,
    from: range.from,
    to: range.to,
    slice,
    ...(part ? { part } : {}),
  });
  return `#/claims?${q.toString()}`;
}

function rateCard(range: Revenue, m: Measure, id: string, counted: [string, string]): HTMLElement {
  const payer = (key: string): string => range.payers[key] ?? key;
  return chartCard({
    id,
    title: `${m.title} by payer`,
    measure: 'percent',
    note: `All payers: ${percent(m.total.value)} (${m.total.numerator ?? 0} of ${m.total.denominator ?? 0} ${counted[1].toLowerCase()})`,
    head: ['Rate', counted[0], counted[1]],
    rows: m.slices.map((s): ChartRow => ({
      label: payer(s.key),
      value: s.value === null ? null : Math.round(s.value * 1000) / 10,
      cells: [
        percent(s.value),
        m.measure === 'net-collection-rate' ? dollars(num(s.numerator)) : String(s.numerator ?? 0),
        m.measure === 'net-collection-rate' ? dollars(num(s.denominator)) : String(s.denominator ?? 0),
      ],
      href: claimsHref(range, m.measure, s.key),
    })),
  });
}

function revenueCards(range: Revenue): HTMLElement[] {
  const m = new Map(range.measures.map((x) => [x.measure, x]));
  const payer = (key: string): string => range.payers[key] ?? key;
  const cards: HTMLElement[] = [];
  const rate = (name: string, id: string, counted: [string, string]): void => {
    const found = m.get(name);
    if (found) {
      cards.push(rateCard(range, found, id, counted));
    }
  };
  rate('clean-claim-rate', 'clean-claims', ['Clean', 'Decided']);
  rate('denial-rate', 'denials', ['Denied', 'Decided']);
  const denial = m.get('denial-rate');
  if (denial) {
    const byCategory = (denial.total['byCategory'] ?? {}) as Record<
      string,
      { claims: number; dollars: number }
    >;
    cards.push(
      chartCard({
        id: 'denial-categories',
        title: 'Denials by category',
        measure: 'dollars denied',
        note: `Denied dollars: ${dollars(num((denial.total['dollars'] as { denied?: number } | undefined)?.denied))}`,
        head: ['Claims', 'Denied'],
        rows: Object.entries(byCategory)
          .sort((a, b) => b[1].dollars - a[1].dollars)
          .map(([category, c]) => ({
            label: category,
            value: c.dollars,
            cells: [String(c.claims), dollars(c.dollars)],
            href: claimsHref(range, 'denial-rate', 'all', category),
          })),
      }),
    );
  }
  rate('first-pass-resolution-rate', 'first-pass', ['Settled', 'Decided']);
  rate('net-collection-rate', 'net-collection', ['Collected', 'Collectible']);
  const days = m.get('days-in-ar');
  if (days) {
    cards.push(
      chartCard({
        id: 'days-in-ar',
        title: 'Days in A/R by payer',
        measure: 'days',
        note: `All payers: ${days.total.value ?? '—'} days (${dollars(num(days.total['arBalance']))} open; ${dollars(num(days.total['charges']))} charged in ${num(days.total['days'])} days)`,
        head: ['Days', 'Open balance', 'Charged'],
        rows: days.slices.map((s) => ({
          label: payer(s.key),
          value: s.value,
          cells: [
            s.value === null ? '—' : String(s.value),
            dollars(num(s['arBalance'])),
            dollars(num(s['charges'])),
          ],
          href: claimsHref(range, 'days-in-ar', s.key),
        })),
      }),
    );
  }
  const aging = m.get('ar-aging');
  if (aging) {
    const buckets = (row: Row): Record<string, number> => (row['buckets'] ?? {}) as Record<string, number>;
    const card = chartCard({
      id: 'ar-aging',
      title: 'A/R aging',
      measure: 'open dollars by age',
      note: `Open: ${dollars(num(aging.total.value))}; over 90 days: ${percent(aging.total['over90'] as number | null)}`,
      head: ['Open'],
      rows: BUCKETS.map((b) => ({
        label: `${b} days`,
        value: buckets(aging.total)[b] ?? 0,
        cells: [dollars(buckets(aging.total)[b] ?? 0)],
        href: claimsHref(range, 'ar-aging', 'all', b),
      })),
    });
    // Per payer and age: each cell leads to its claims.
    card.append(
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'grid', 'aria-label': 'A/R aging by payer' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Payer', ...BUCKETS.map((b) => `${b} days`), 'Total'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            aging.slices.map((s) =>
              h(
                'tr',
                {},
                h(
                  'th',
                  { scope: 'row' },
                  h('a', { href: claimsHref(range, 'ar-aging', s.key) }, payer(s.key)),
                ),
                BUCKETS.map((b) => {
                  const v = buckets(s)[b] ?? 0;
                  return h(
                    'td',
                    { class: 'num' },
                    v > 0
                      ? h('a', { href: claimsHref(range, 'ar-aging', s.key, b) }, dollars(v))
                      : dollars(0),
                  );
                }),
                h('td', { class: 'num' }, dollars(num(s.value))),
              ),
            ),
          ),
        ),
      ),
    );
    cards.push(card);
  }
  const under = m.get('underpayments');
  if (under) {
    const part = (row: Row, name: string): { count: number; dollars: number } =>
      (row[name] ?? { count: 0, dollars: 0 }) as { count: number; dollars: number };
    cards.push(
      chartCard({
        id: 'underpayments',
        title: 'Underpayments found and recovered',
        measure: 'dollars underpaid',
        note: `Found ${part(under.total, 'found').count} (${dollars(part(under.total, 'found').dollars)}); recovered ${part(under.total, 'recovered').count} (${dollars(part(under.total, 'recovered').dollars)})`,
        head: ['Found', 'Underpaid', 'Recovered', 'Recovered $'],
        rows: under.slices.map((s) => ({
          label: payer(s.key),
          value: num(s.value),
          cells: [
            String(part(s, 'found').count),
            dollars(part(s, 'found').dollars),
            String(part(s, 'recovered').count),
            dollars(part(s, 'recovered').dollars),
          ],
          href: claimsHref(range, 'underpayments', s.key),
        })),
      }),
    );
  }
  const appeals = m.get('appeals');
  if (appeals) {
    cards.push(
      chartCard({
        id: 'appeals',
        title: 'Appeals filed and overturned',
        measure: 'appeals filed',
        note: `Filed ${num(appeals.total['filed'])}; overturned ${num(appeals.total['overturned'])} (${percent(appeals.total['overturnRate'] as number | null)} of those decided); recovered ${dollars(num(appeals.total['recovered']))}`,
        head: ['Filed', 'Overturned', 'Recovered'],
        rows: appeals.slices.map((s) => ({
          label: payer(s.key),
          value: num(s['filed']),
          cells: [String(num(s['filed'])), String(num(s['overturned'])), dollars(num(s['recovered']))],
          href: claimsHref(range, 'appeals', s.key),
        })),
      }),
    );
  }
  const auth = m.get('authorizations');
  if (auth) {
    cards.push(
      chartCard({
        id: 'authorizations',
        title: 'Authorizations obtained and denials avoided',
        measure: 'claims billed with an authorization',
        note: `Obtained ${num(auth.total['obtained'])}; ${num(auth.total['denialsAvoided'])} of ${num(auth.total['claimsWithAuthorization'])} authorized claims had no authorization denial`,
        head: ['Obtained', 'Denials avoided', 'Authorized claims'],
        rows: auth.slices.map((s) => ({
          label: payer(s.key),
          value: num(s['claimsWithAuthorization']),
          cells: [
            String(num(s['obtained'])),
            String(num(s['denialsAvoided'])),
            String(num(s['claimsWithAuthorization'])),
          ],
          href: claimsHref(range, 'authorizations', s.key),
        })),
      }),
    );
  }
  return cards;
}

function workCards(items: readonly Item[]): HTMLElement[] {
  const group = (key: (i: Item) => string): Map<string, { count: number; amount: number }> => {
    const out = new Map<string, { count: number; amount: number }>();
    for (const item of items) {
      const entry = out.get(key(item)) ?? { count: 0, amount: 0 };
      entry.count++;
      entry.amount += item.amount;
      out.set(key(item), entry);
    }
    return out;
  };
  const names = new Map(items.map((i) => [i.payer, i.payerName]));
  const card = (
    id: string,
    title: string,
    groups: Map<string, { count: number; amount: number }>,
    label: (k: string) => string,
    drill: (k: string) => string,
  ): HTMLElement =>
    chartCard({
      id,
      title,
      measure: 'dollars at stake',
      head: ['Work items', 'At stake'],
      rows: [...groups.keys()].sort().map((k) => ({
        label: label(k),
        value: groups.get(k)?.amount ?? 0,
        cells: [String(groups.get(k)?.count ?? 0), dollars(groups.get(k)?.amount ?? 0)],
        href: drill(k),
      })),
    });
  return [
    card(
      'work-by-state',
      'By state',
      group((i) => i.state),
      stateWords,
      (k) => `#/worklist?state=${encodeURIComponent(k)}`,
    ),
    card(
      'work-by-payer',
      'By payer',
      group((i) => i.payer),
      (k) => names.get(k) ?? k,
      (k) => `#/worklist?payer=${encodeURIComponent(k)}`,
    ),
  ];
}

/** From and to: the range asked (empty: the server's default, the 30 days up to today). */
function rangeForm(range: Revenue): HTMLElement {
  const from = h('input', { id: 'range-from', type: 'date', value: range.from, required: true });
  const to = h('input', { id: 'range-to', type: 'date', value: range.to, max: range.today, required: true });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Date range' },
    h('label', { for: from.id }, 'From'),
    from,
    h('label', { for: to.id }, 'To'),
    to,
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    window.location.hash = `#/analytics?${new URLSearchParams({ from: from.value, to: to.value }).toString()}`;
  });
  return form;
}

export async function analyticsView(ctx: ViewContext): Promise<void> {
  const asked = new URLSearchParams();
  for (const name of ['from', 'to']) {
    const value = ctx.query.get(name);
    if (value) {
      asked.set(name, value);
    }
  }
  const [range, work] = await Promise.all([
    get<Revenue>(`analytics/revenue${asked.size ? `?${asked.toString()}` : ''}`),
    get<{ items: Item[] }>('worklist'),
  ]);
  const total = work.items.reduce((s, i) => s + i.amount, 0);
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, 'Analytics'),
    rangeForm(range),
    h(
      'p',
      { class: 'summary' },
      `Claims served ${range.from} to ${range.to} · balances as of ${range.to < range.today ? range.to : range.today}`,
    ),
    h(
      'section',
      { 'aria-labelledby': 'revenue', class: 'charts' },
      h('h2', { id: 'revenue' }, 'Revenue'),
      revenueCards(range),
    ),
    h(
      'section',
      { 'aria-labelledby': 'work', class: 'charts' },
      h('h2', { id: 'work' }, 'Work waiting'),
      h('p', { class: 'summary' }, `${work.items.length} open work items · ${dollars(total)} at stake`),
      workCards(work.items),
    ),
  );
}
