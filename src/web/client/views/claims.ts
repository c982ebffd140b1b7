/**
 * The claims behind a figure of the analytics view (`#/claims?measure=&from=&to=&slice=&part=`):
 * each claim with its payer, date of service, amount billed and what it adds to the figure, and a
 * link to the claim.
 */
import { get } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { dollars } from '../format.ts';

interface ClaimsBehind {
  readonly measure: string;
  readonly from: string;
  readonly to: string;
  readonly slice: string;
  readonly part?: string;
  readonly limit: number;
  readonly payers: Readonly<Record<string, string>>;
  readonly claims: readonly {
    claim: string;
    payer: string;
    serviceDate: string;
    billed: number;
    why: string;
  }[];
}

export async function claimsView(ctx: ViewContext): Promise<void> {
  const asked = new URLSearchParams();
  for (const name of ['measure', 'from', 'to', 'slice', 'part']) {
    const value = ctx.query.get(name);
    if (value) {
      asked.set(name, value);
    }
  }
  const answer = await get<ClaimsBehind>(`analytics/claims?${asked.toString()}`);
  const payer = (key: string): string => answer.payers[key] ?? key;
  const what = [
    answer.measure.replace(/-/g, ' '),
    answer.slice === 'all' ? 'all payers' : payer(answer.slice),
    answer.part ?? '',
  ]
    .filter(Boolean)
    .join(' · ');
  const back = `#/analytics?${new URLSearchParams({ from: answer.from, to: answer.to }).toString()}`;
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, 'Claims behind the figure'),
    h(
      'p',
      { class: 'summary' },
      `${what} · ${answer.from} to ${answer.to} · ${answer.claims.length} claim${answer.claims.length === 1 ? '' : 's'}${answer.claims.length >= answer.limit ? ` (the first ${answer.limit})` : ''} · `,
      h('a', { href: back }, 'Back to analytics'),
    ),
    answer.claims.length
      ? h(
          'div',
          { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Claims behind the figure' },
          h(
            'table',
            { class: 'grid claims-behind' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Claim', 'Payer', 'Date of service', 'Billed', 'In the figure'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              answer.claims.map((c) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    {},
                    h('a', { href: `#/claim/${encodeURIComponent(c.claim)}` }, c.claim.slice(0, 16)),
                  ),
                  h('td', {}, payer(c.payer)),
                  h('td', {}, c.serviceDate),
                  h('td', { class: 'num' }, dollars(c.billed)),
                  h('td', {}, c.why),
                ),
              ),
            ),
          ),
        )
      : h('p', {}, 'No claim is behind this figure.'),
  );
}
