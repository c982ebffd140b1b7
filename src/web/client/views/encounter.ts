/** The encounter in context: charges with their rationale, documentation issues, claims, authorizations. */
import { get } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dollars, heldWords, stateWords, zonedDateTime } from '../format.ts';
import type { EncounterView, FindingView } from '../../view-types.ts';

/** A visit's start or end as the clinic reads it (its zone, not the browser's). */
const visitTime = (iso: string | undefined, timeZone: string): string =>
  iso === undefined ? '' : zonedDateTime(iso, timeZone);

export function findingList(findings: readonly FindingView[]): HTMLElement {
  return findings.length === 0
    ? h('p', {}, 'No open findings.')
    : h(
        'ul',
        { class: 'findings' },
        findings.map((f) =>
          h(
            'li',
            { class: f.severity },
            h(
              'strong',
              {},
              `${f.severity === 'error' ? 'Error' : f.severity === 'warning' ? 'Warning' : 'Note'} (${f.rule}): `,
            ),
            f.message,
            h('br'),
            h('span', { class: 'fix' }, `What to do: ${f.fix}`),
            f.severity === 'error'
              ? h('span', { class: 'tag' }, f.overridable ? 'may be overridden' : 'must be fixed')
              : null,
          ),
        ),
      );
}

export async function encounterView(ctx: ViewContext, id: string): Promise<void> {
  const data = await get<EncounterView>(`encounters/${encodeURIComponent(id)}`);
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, `${data.patient.name} — encounter`),
    h(
      'p',
      { class: 'meta' },
      `${visitTime(data.encounter.start, data.encounter.timeZone)}${data.encounter.end ? ` to ${visitTime(data.encounter.end, data.encounter.timeZone)}` : ''} · ${data.encounter.setting ?? ''} · ${data.encounter.status}`,
      data.patient.birthDate ? ` · born ${data.patient.birthDate}` : '',
    ),
    h('h2', {}, 'Charges'),
    data.charges.length === 0
      ? h('p', {}, 'No charges yet: the encounter has not been coded.')
      : h(
          'div',
          { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Charges' },
          h(
            'table',
            { class: 'grid' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Code', 'Description', 'Units', 'Modifiers', 'Status', 'Why'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              data.charges.map((c) =>
                h(
                  'tr',
                  {},
                  h('td', {}, c.code),
                  h('td', {}, c.label),
                  h('td', { class: 'num' }, c.units),
                  h('td', {}, c.modifiers.join(' ')),
                  h('td', {}, c.status === 'planned' ? 'held' : c.status),
                  h(
                    'td',
                    { class: 'reason' },
                    c.text,
                    h(
                      'details',
                      {},
                      h('summary', {}, `Rule ${c.rule}`),
                      h(
                        'ul',
                        {},
                        c.minutes !== undefined ? h('li', {}, `Minutes: ${c.minutes}`) : null,
                        Object.entries(c.amounts).map(([name, value]) => h('li', {}, `${name}: ${value}`)),
                        c.sources.map((s) => h('li', {}, `Source: ${s}`)),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
    h('h2', {}, 'Documentation issues'),
    data.issues.length === 0
      ? h('p', {}, 'None.')
      : h(
          'ul',
          {},
          data.issues.map((i) => h('li', {}, i.text)),
        ),
    h('h2', {}, 'Claims'),
    // No claim stands for an encounter inside its bill hold: say so, and until when.
    data.billHold
      ? h(
          'p',
          {},
          `No claim yet: ${heldWords(data.billHold)} after a visit ends, so that late documentation lands on the first claim.`,
        )
      : data.claims.length === 0
        ? h('p', {}, 'No claim yet.')
        : null,
    data.claims.map((c) =>
      h(
        'section',
        { class: 'card', 'aria-label': `Claim ${c.id}` },
        h(
          'h3',
          {},
          h('a', { href: `#/claim/${c.id}` }, `Claim ${c.id.slice(0, 12)}`),
          ` — ${stateWords(c.state)}`,
        ),
        h(
          'p',
          {},
          `${c.payer} · ${dollars(c.total)}${c.preAuthRefs.length > 0 ? ` · authorization ${c.preAuthRefs.join(', ')}` : ''}`,
        ),
        findingList(c.findings),
      ),
    ),
    h('h2', {}, 'Authorizations'),
    data.authorizations.length === 0
      ? h('p', {}, 'No prior authorization on file for this patient.')
      : h(
          'ul',
          {},
          data.authorizations.map((a) =>
            h(
              'li',
              {},
              `${a.number}: ${a.start ?? '?'} to ${a.end ?? '?'}; ${a.services.map((s) => `${s.code}${s.units !== undefined ? ` × ${s.units}` : ''}`).join(', ') || 'any service'}`,
            ),
          ),
        ),
  );
}
