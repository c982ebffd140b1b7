/** A patient's audit trail: who saw or changed what, when, and why. */
import { get } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dateTime } from '../format.ts';

interface AuditData {
  readonly patient: string;
  readonly entries: readonly {
    at: string;
    who: string;
    action: string;
    outcome: string;
    what: readonly string[];
    reason?: string;
  }[];
}

export async function auditView(ctx: ViewContext, patientId: string): Promise<void> {
  const data = await get<AuditData>(`patients/${encodeURIComponent(patientId)}/audit`);
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, `Audit trail — ${data.patient}`),
    h('p', { class: 'meta' }, `${data.entries.length} most recent events, newest first.`),
    h(
      'div',
      { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Audit events' },
      h(
        'table',
        { class: 'grid' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['When', 'Who', 'Did', 'To', 'Why', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          data.entries.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, dateTime(e.at)),
              h('td', {}, e.who),
              h('td', {}, e.action),
              h(
                'td',
                { class: 'reason' },
                e.what.slice(0, 4).join(', '),
                e.what.length > 4 ? ` +${e.what.length - 4}` : '',
              ),
              h('td', {}, e.reason ?? ''),
              h('td', {}, e.outcome),
            ),
          ),
        ),
      ),
    ),
  );
}
