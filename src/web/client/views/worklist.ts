/**
 * The worklist: every open work item with patient, claim, payer, the reason in words, dollars at
 * stake, age and filing deadline; filter (text, state, payer, mine), sort by any column, select
 * rows and assign them (bulk) to yourself.
 */
import { get, post } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dollars, stateWords } from '../format.ts';

interface WorkItem {
  readonly claim: string;
  readonly state: string;
  readonly patient: string;
  readonly patientName: string;
  readonly payer: string;
  readonly payerName: string;
  readonly reason: string;
  readonly amount: number;
  readonly ageDays?: number;
  readonly deadline?: string;
  readonly daysLeft?: number;
  readonly owner?: string;
  readonly ownerName?: string;
}

type SortKey =
  | 'patientName'
  | 'claim'
  | 'payerName'
  | 'reason'
  | 'amount'
  | 'ageDays'
  | 'daysLeft'
  | 'state'
  | 'ownerName';

const COLUMNS: readonly [SortKey, string][] = [
  ['patientName', 'Patient'],
  ['claim', 'Claim'],
  ['payerName', 'Payer'],
  ['state', 'State'],
  ['reason', 'Why it waits'],
  ['amount', 'At stake'],
  ['ageDays', 'Age (days)'],
  ['daysLeft', 'Deadline'],
  ['ownerName', 'Assigned to'],
];

export async function worklistView(ctx: ViewContext): Promise<void> {
  const { items } = await get<{ items: WorkItem[] }>('worklist');
  let sortKey: SortKey = 'daysLeft';
  let descending = false;
  const selected = new Set<string>();
  const text = h('input', { id: 'wl-text', type: 'search', value: ctx.query.get('q') ?? '' });
  const stateSelect = h(
    'select',
    { id: 'wl-state' },
    h('option', { value: '' }, 'Any state'),
    [...new Set(items.map((i) => i.state))]
      .sort()
      .map((s) => h('option', { value: s, selected: ctx.query.get('state') === s }, stateWords(s))),
  );
  const payerSelect = h(
    'select',
    { id: 'wl-payer' },
    h('option', { value: '' }, 'Any payer'),
    [...new Map(items.map((i) => [i.payer, i.payerName])).entries()]
      .sort((a, b) => a[1].localeCompare(b[1]))
      .map(([id, name]) => h('option', { value: id, selected: ctx.query.get('payer') === id }, name)),
  );
  const mine = h('input', { id: 'wl-mine', type: 'checkbox' });
  const summary = h('p', { class: 'summary' });
  const tbody = h('tbody');
  const headRow = h('tr');
  const assignButton = h('button', { type: 'button', disabled: true }, 'Assign selected to me');
  const table = h(
    'table',
    { class: 'grid' },
    h('caption', { class: 'sr-only' }, 'Open work items'),
    h('thead', {}, headRow),
    tbody,
  );

  const visible = (): WorkItem[] => {
    const q = text.value.trim().toLowerCase();
    const rows = items.filter(
      (i) =>
        (!q || `${i.patientName} ${i.claim} ${i.reason} ${i.payerName}`.toLowerCase().includes(q)) &&
        (!stateSelect.value || i.state === stateSelect.value) &&
        (!payerSelect.value || i.payer === payerSelect.value) &&
        (!mine.checked || i.owner === ctx.session.owner),
    );
    const sign = descending ? -1 : 1;
    return rows.sort((a, b) => {
      const x = a[sortKey];
      const y = b[sortKey];
      if (x === y) {
        return 0;
      }
      if (x === undefined) {
        return 1;
      }
      if (y === undefined) {
        return -1;
      }
      return (
        (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * sign
      );
    });
  };

  const draw = (): void => {
    const rows = visible();
    replace(
      headRow,
      ctx.can('assign') ? h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Select')) : null,
      COLUMNS.map(([key, label]) =>
        h(
          'th',
          {
            scope: 'col',
            'aria-sort': key === sortKey ? (descending ? 'descending' : 'ascending') : undefined,
          },
          h(
            'button',
            {
              type: 'button',
              class: 'sort',
              onclick: () => {
                descending = key === sortKey ? !descending : false;
                sortKey = key;
                draw();
              },
            },
            label,
          ),
        ),
      ),
    );
    replace(
      tbody,
      rows.map((i) =>
        h(
          'tr',
          {},
          ctx.can('assign')
            ? h(
                'td',
                {},
                h('input', {
                  type: 'checkbox',
                  'aria-label': `Select claim ${i.claim} of ${i.patientName}`,
                  checked: selected.has(i.claim),
                  onchange: (e: Event) => {
                    if ((e.target as HTMLInputElement).checked) {
                      selected.add(i.claim);
                    } else {
                      selected.delete(i.claim);
                    }
                    assignButton.disabled = selected.size === 0;
                  },
                }),
              )
            : null,
          h('td', {}, i.patientName),
          h('td', {}, h('a', { href: `#/claim/${i.claim}` }, i.claim.slice(0, 12))),
          h('td', {}, i.payerName),
          h('td', {}, stateWords(i.state)),
          h('td', { class: 'reason' }, i.reason),
          h('td', { class: 'num' }, dollars(i.amount)),
          h('td', { class: 'num' }, i.ageDays ?? ''),
          h(
            'td',
            { class: i.daysLeft !== undefined && i.daysLeft < 30 ? 'urgent' : undefined },
            i.deadline ? `${i.deadline} (${i.daysLeft ?? '?'} d)` : '',
          ),
          h('td', {}, i.ownerName ?? i.owner ?? '—'),
        ),
      ),
    );
    const total = rows.reduce((s, i) => s + i.amount, 0);
    summary.textContent = `${rows.length} of ${items.length} work items · ${dollars(total)} at stake`;
  };

  assignButton.addEventListener('click', () => {
    const claims = [...selected];
    void post<{ results: { claim: string; status: number }[] }>('assign', {
      claims,
      owner: { reference: ctx.session.owner, display: ctx.session.name },
    }).then(
      (answer) => {
        const done = answer.results.filter((r) => r.status === 200).map((r) => r.claim);
        for (const item of items) {
          if (done.includes(item.claim)) {
            Object.assign(item, { owner: ctx.session.owner, ownerName: ctx.session.name });
          }
        }
        selected.clear();
        assignButton.disabled = true;
        ctx.announce(`${done.length} of ${claims.length} work items assigned to you.`);
        draw();
      },
      (err: unknown) => ctx.announce(`Not assigned: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  for (const control of [text, stateSelect, payerSelect, mine]) {
    control.addEventListener('input', draw);
  }
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, 'Worklist'),
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (e: Event) => e.preventDefault() },
      h('label', { for: 'wl-text' }, 'Search'),
      text,
      h('label', { for: 'wl-state' }, 'State'),
      stateSelect,
      h('label', { for: 'wl-payer' }, 'Payer'),
      payerSelect,
      h('span', { class: 'check' }, mine, h('label', { for: 'wl-mine' }, 'Only mine')),
    ),
    summary,
    ctx.can('assign') ? h('div', { class: 'bulk' }, assignButton) : null,
    h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Work items' }, table),
  );
  draw();
}
