/**
 * Denials and underpayments: the open remittance work items by queue, each with the payer's
 * reasons in words, the recommended fix and its evidence, the dollars at stake and the appeal
 * deadline; reassign one, or correct and resubmit a denied claim (the same checks as
 * `/api/remittance/work-items`); then the underpaid dollars per payer and month.
 */
import { get, post } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dollars } from '../format.ts';

interface WorkItem {
  readonly id: string;
  readonly kind: 'denial' | 'underpayment';
  readonly queue: string;
  readonly queueLabel: string;
  readonly state: string;
  readonly claim: string;
  readonly patient?: string;
  readonly payer?: string;
  readonly dollarsAtStake: number;
  readonly appealDeadline?: string;
  readonly daysLeft?: number;
  readonly assignee?: string;
  readonly reasons: string;
  /** Each reason code with its words (CARC/RARC). */
  readonly reasonWords: readonly string[];
  readonly recommendedFix?: {
    readonly text: string;
    readonly source: string;
    readonly evidence: readonly string[];
  };
}

interface WorkItemList {
  readonly counts: Readonly<Record<string, { items: number; dollars: number }>>;
  readonly items: readonly WorkItem[];
  readonly patientNames: Readonly<Record<string, string>>;
}

interface Underpayments {
  readonly totals: readonly {
    payer: string;
    month: string;
    items: number;
    underpaid: number;
    open: number;
  }[];
}

const claimId = (reference: string): string => reference.replace(/^Claim\//, '');

interface AppealAnswer {
  readonly message: string;
  readonly appeal?: { readonly id: string; readonly level: string; readonly deadline: string };
}

/**
 * Open the next appeal of an item (as `POST /api/remittance/appeals`); once open, the link to its
 * packet (PDF) appears beside the form.
 */
function appealForm(ctx: ViewContext, item: WorkItem): HTMLElement {
  const reason = h('textarea', { id: `appeal-${item.id}`, rows: 2, minlength: 3, maxlength: 2000 });
  const packet = h('p', { class: 'packet', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'action' },
    h('label', { for: reason.id }, 'Open an appeal: reason (optional)'),
    reason,
    h('button', { type: 'submit' }, 'Open an appeal'),
    packet,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
    void post<AppealAnswer>(`work-items/${encodeURIComponent(item.id)}/appeal`, body).then(
      (answer) => {
        ctx.announce(`Open an appeal: ${answer.message}`);
        if (answer.appeal) {
          replace(
            packet,
            h(
              'a',
              {
                href: `/app/api/appeals/${encodeURIComponent(answer.appeal.id)}/packet`,
                download: `appeal-${answer.appeal.id}.pdf`,
              },
              `Download the ${answer.appeal.level} packet (due ${answer.appeal.deadline})`,
            ),
          );
        }
      },
      (err: unknown) =>
        ctx.announce(`Open an appeal refused: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  return form;
}

function actionForm(
  ctx: ViewContext,
  item: WorkItem,
  action: 'assign' | 'correct',
  label: string,
  field: HTMLInputElement | HTMLTextAreaElement,
  body: () => Record<string, string>,
): HTMLElement {
  const form = h(
    'form',
    { class: 'action' },
    h('label', { for: field.id }, action === 'assign' ? 'Reassign to' : 'Correct and resubmit: reason'),
    field,
    h('button', { type: 'submit' }, label),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void post<{ message: string }>(`work-items/${encodeURIComponent(item.id)}/${action}`, body()).then(
      (answer) => {
        ctx.announce(`${label}: ${answer.message}`);
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      },
      (err: unknown) => ctx.announce(`${label} refused: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  return form;
}

function itemCard(ctx: ViewContext, item: WorkItem, names: Readonly<Record<string, string>>): HTMLElement {
  const claim = claimId(item.claim);
  const who = (item.patient && names[item.patient]) || item.patient || 'Unknown patient';
  const assignee = h('input', { id: `assign-${item.id}`, type: 'text', maxlength: 200, required: true });
  const reason = h('textarea', {
    id: `correct-${item.id}`,
    rows: 2,
    required: true,
    minlength: 3,
    maxlength: 2000,
  });
  return h(
    'article',
    { class: 'card work-item', 'aria-labelledby': `wi-${item.id}` },
    h(
      'h3',
      { id: `wi-${item.id}` },
      `${who} · `,
      h('a', { href: `#/claim/${claim}` }, `claim ${claim.slice(0, 12)}`),
      ` · ${dollars(item.dollarsAtStake)}`,
    ),
    h(
      'dl',
      {},
      h('dt', {}, 'Queue'),
      h('dd', {}, `${item.queueLabel} (${item.state})`),
      h('dt', {}, 'What the payer said'),
      h(
        'dd',
        { class: 'reason' },
        item.reasonWords.length
          ? h(
              'ul',
              {},
              item.reasonWords.map((w) => h('li', {}, w)),
            )
          : item.reasons,
      ),
      item.recommendedFix
        ? [
            h('dt', {}, 'Recommended fix'),
            h(
              'dd',
              { class: 'fix' },
              item.recommendedFix.text,
              h('span', { class: 'source' }, ` (${item.recommendedFix.source})`),
              item.recommendedFix.evidence.length
                ? h(
                    'ul',
                    {},
                    item.recommendedFix.evidence.map((e) => h('li', {}, e)),
                  )
                : null,
            ),
          ]
        : null,
      h('dt', {}, 'Appeal deadline'),
      h(
        'dd',
        { class: item.daysLeft !== undefined && item.daysLeft < 30 ? 'urgent' : undefined },
        item.appealDeadline ? `${item.appealDeadline} (${item.daysLeft ?? '?'} d)` : '—',
      ),
      h('dt', {}, 'Assigned to'),
      h('dd', {}, item.assignee ?? '—'),
    ),
    ctx.can('assign')
      ? actionForm(ctx, item, 'assign', 'Reassign', assignee, () => ({ assignee: assignee.value }))
      : null,
    ctx.can('resubmit') && item.kind === 'denial'
      ? actionForm(ctx, item, 'correct', 'Correct and resubmit', reason, () => ({ reason: reason.value }))
      : null,
    ctx.can('appeal') ? appealForm(ctx, item) : null,
  );
}

export async function recoveryView(ctx: ViewContext): Promise<void> {
  const queue = ctx.query.get('queue') ?? '';
  const [list, under] = await Promise.all([
    get<WorkItemList>(`work-items${queue ? `?queue=${encodeURIComponent(queue)}` : ''}`),
    get<Underpayments>('underpayments'),
  ]);
  const queues = h(
    'ul',
    { class: 'queues' },
    h('li', {}, h('a', { href: '#/recovery', 'aria-current': queue ? undefined : 'true' }, 'All queues')),
    Object.entries(list.counts).map(([id, c]) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: `#/recovery?queue=${encodeURIComponent(id)}`,
            'aria-current': id === queue ? 'true' : undefined,
          },
          `${list.items.find((i) => i.queue === id)?.queueLabel ?? id}: ${c.items} · ${dollars(c.dollars)}`,
        ),
      ),
    ),
  );
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, 'Denials and underpayments'),
    h('nav', { 'aria-label': 'Queues' }, queues),
    h(
      'p',
      { class: 'summary' },
      `${list.items.length} open work items · ${dollars(list.items.reduce((s, i) => s + i.dollarsAtStake, 0))} at stake`,
    ),
    h(
      'section',
      { 'aria-labelledby': 'open-items' },
      h('h2', { id: 'open-items' }, 'Open work items'),
      list.items.length
        ? list.items.map((i) => itemCard(ctx, i, list.patientNames))
        : h('p', {}, 'Nothing waits in this queue.'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'underpaid' },
      h('h2', { id: 'underpaid' }, 'Underpaid, per payer and month'),
      under.totals.length
        ? h(
            'div',
            {
              class: 'scroll',
              tabindex: 0,
              role: 'region',
              'aria-label': 'Underpayments per payer and month',
            },
            h(
              'table',
              { class: 'grid' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Payer', 'Month', 'Items', 'Underpaid', 'Open'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                {},
                under.totals.map((t) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, t.payer),
                    h('td', {}, t.month),
                    h('td', { class: 'num' }, t.items),
                    h('td', { class: 'num' }, dollars(t.underpaid)),
                    h('td', { class: 'num' }, t.open),
                  ),
                ),
              ),
            ),
          )
        : h('p', {}, 'No underpayments.'),
    ),
  );
}
