/**
 * One claim: state, actions (override with a reason, resubmit, assign to me), findings, lines,
 * the timeline of states and payer answers, the payer's adjudication, the posted payments (EOB
 * lines with CARC/RARC in words), and the 837 preview.
 */
import { get, getText, post } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dateTime, dollars, stateWords } from '../format.ts';
import { findingList } from './encounter.ts';
import type { ClaimWithPayments } from '../../view-types.ts';

function reasonForm(
  ctx: ViewContext,
  id: string,
  action: 'override' | 'resubmit',
  label: string,
  help: string,
): HTMLElement {
  const field = h('textarea', {
    id: `${action}-reason`,
    rows: 2,
    required: true,
    minlength: 3,
    maxlength: 2000,
  });
  const form = h(
    'form',
    { class: 'action' },
    h('label', { for: `${action}-reason` }, `${label}: reason`),
    h('p', { class: 'help', id: `${action}-help` }, help),
    field,
    h('button', { type: 'submit' }, label),
  );
  field.setAttribute('aria-describedby', `${action}-help`);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void post<{ message: string; state?: string }>(`claims/${encodeURIComponent(id)}/${action}`, {
      reason: field.value,
    }).then(
      (answer) => {
        ctx.announce(`${label}: ${answer.message}`);
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      },
      (err: unknown) => ctx.announce(`${label} refused: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  return form;
}

export async function claimView(ctx: ViewContext, id: string): Promise<void> {
  const data = await get<ClaimWithPayments>(`claims/${encodeURIComponent(id)}`);
  const preview = h('pre', { class: 'x12', tabindex: 0, 'aria-label': '837 preview' }, '');
  preview.hidden = true;
  const showX12 = h('button', { type: 'button' }, 'Show the 837');
  showX12.addEventListener('click', () => {
    void getText(`claims/${encodeURIComponent(id)}/x12`).then(
      (text) => {
        preview.textContent = text.replace(/~/g, '~\n');
        preview.hidden = false;
        showX12.disabled = true;
      },
      (err: unknown) => ctx.announce(`No 837: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  const open = data.task && data.task.status !== 'completed' && data.task.status !== 'cancelled';
  const assign = h('button', { type: 'button' }, 'Assign to me');
  assign.addEventListener('click', () => {
    void post(`claims/${encodeURIComponent(id)}/assign`, {
      owner: { reference: ctx.session.owner, display: ctx.session.name },
    }).then(
      () => {
        ctx.announce('Assigned to you.');
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      },
      (err: unknown) => ctx.announce(`Not assigned: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, `Claim ${data.id.slice(0, 12)} — ${stateWords(data.state)}`),
    h(
      'p',
      { class: 'meta' },
      `${data.patient.name} · ${data.payer.name} · ${data.kind} · ${dollars(data.total)}`,
      data.since ? ` · since ${dateTime(data.since)}` : '',
      (data.task?.ownerName ?? data.task?.owner)
        ? ` · assigned to ${data.task.ownerName ?? data.task.owner ?? ''}`
        : '',
    ),
    h(
      'p',
      {},
      data.encounters.map((e) => [
        h('a', { href: `#/encounter/${e.split('/')[1] ?? ''}` }, `Open ${e}`),
        ' ',
      ]),
    ),
    h('section', { 'aria-label': 'Actions', class: 'actions' }, [
      data.state === 'held' && ctx.can('override')
        ? reasonForm(
            ctx,
            data.id,
            'override',
            'Override',
            'Releases the claim when every remaining error may be overridden; your reason is audited.',
          )
        : null,
      (data.state === 'rejected' || data.state === 'submitting') && ctx.can('resubmit')
        ? reasonForm(
            ctx,
            data.id,
            'resubmit',
            'Correct and resubmit',
            'Rebuilds the claim from the current charges, scrubs it and sends it again.',
          )
        : null,
      open && ctx.can('assign') ? assign : null,
    ]),
    h('h2', {}, 'Findings'),
    findingList(data.findings),
    h('h2', {}, 'Lines'),
    h(
      'div',
      { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Claim lines' },
      h(
        'table',
        { class: 'grid' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['#', 'Date', 'Code', 'Description', 'Units', 'Charge'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          data.lines.map((l) =>
            h(
              'tr',
              {},
              h('td', {}, l.sequence),
              h('td', {}, l.date ?? ''),
              h('td', {}, l.code),
              h('td', {}, l.label),
              h('td', { class: 'num' }, l.units),
              h('td', { class: 'num' }, dollars(l.charge)),
            ),
          ),
        ),
      ),
    ),
    h('h2', {}, 'Timeline'),
    h(
      'ol',
      { class: 'timeline' },
      data.timeline.map((t) =>
        h(
          'li',
          { class: t.kind },
          h('time', { datetime: t.at }, dateTime(t.at)),
          ' ',
          t.state ? h('strong', {}, `${stateWords(t.state)}: `) : null,
          t.text,
        ),
      ),
    ),
    h('h2', {}, 'Payer answers'),
    data.answers.length === 0
      ? h('p', {}, 'No answer from the payer yet.')
      : data.answers.map((a) =>
          h(
            'section',
            { class: 'card', 'aria-label': `Answer ${a.id}` },
            h(
              'p',
              {},
              `${a.outcome}${a.disposition ? `: ${a.disposition}` : ''}${a.paid !== undefined ? ` · paid ${dollars(a.paid)}` : ''}`,
            ),
            a.errors.length > 0 ? h('p', {}, `Errors: ${a.errors.join(', ')}`) : null,
            h(
              'ul',
              {},
              a.lines.map((l) =>
                h(
                  'li',
                  {},
                  `Line ${l.sequence}: `,
                  l.adjudication
                    .map(
                      (x) =>
                        `${x.category}${x.amount !== undefined ? ` ${dollars(x.amount)}` : ''}${x.reason ? ` (reason ${x.reason})` : ''}`,
                    )
                    .join('; '),
                ),
              ),
            ),
          ),
        ),
    h('h2', {}, 'Payments (EOB)'),
    data.eobs.length === 0
      ? h('p', {}, 'No payment posted yet.')
      : data.eobs.map((e) =>
          h(
            'section',
            { class: 'card eob', 'aria-label': `Payment ${e.id}` },
            h(
              'p',
              {},
              `${e.paymentDate ?? 'undated'} · paid ${dollars(e.paid ?? 0)}`,
              e.remarks.length ? ` · ${e.remarks.map((r) => `${r.code}: ${r.words}`).join('; ')}` : '',
            ),
            h(
              'div',
              { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': `Lines of payment ${e.id}` },
              h(
                'table',
                { class: 'grid' },
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ['Line', 'Service', 'Paid', 'Adjustments', 'Remarks'].map((c) =>
                      h('th', { scope: 'col' }, c),
                    ),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  e.lines.map((l) =>
                    h(
                      'tr',
                      {},
                      h('td', { class: 'num' }, l.sequence),
                      h('td', {}, l.service),
                      h('td', { class: 'num' }, l.paid !== undefined ? dollars(l.paid) : ''),
                      h(
                        'td',
                        { class: 'reason' },
                        l.adjustments.map((a) =>
                          h(
                            'p',
                            {},
                            `${a.code}${a.amount !== undefined ? ` (${dollars(a.amount)})` : ''}: ${a.words}`,
                          ),
                        ),
                      ),
                      h(
                        'td',
                        { class: 'reason' },
                        l.remarks.map((r) => h('p', {}, `${r.code}: ${r.words}`)),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
    h('h2', {}, '837 preview'),
    showX12,
    preview,
  );
}
