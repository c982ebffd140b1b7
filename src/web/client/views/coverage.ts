/**
 * A patient's prior authorizations and eligibility: what each payer last said about each coverage,
 * and per authorization its number, dates, status and days left, and per service the units or
 * visits authorized, used and left (the authorization ledger, the same as
 * `/api/coverage/authorizations`); infusions given without one; the ledger's open work items; the
 * patient's statements, each downloadable as the PDF the patient was sent.
 */
import { get, post } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import type { Child } from '../dom.ts';
import { dollars, heldWords, stateWords } from '../format.ts';
import type { BillHoldView } from '../../view-types.ts';
import type { Order } from './coverage-actions.ts';
import { askPriorAuthButton, priorAuthWords, recordAuthorizationForm } from './coverage-actions.ts';

/** A charge as the ledger counts it: its claim and where that stands, else the bill hold keeping it. */
interface LedgerCharge {
  readonly code: string;
  readonly date: string;
  readonly units: number;
  readonly claim?: string;
  readonly claimState?: string;
  readonly billHold?: BillHoldView;
}

interface Service {
  readonly code: string;
  readonly measure: 'units' | 'visits';
  readonly authorized?: number;
  readonly used: number;
  readonly remaining?: number;
  readonly beyond: number;
  readonly uses: readonly LedgerCharge[];
}

interface Entry {
  readonly number: string;
  readonly payerId?: string;
  readonly start?: string;
  readonly end?: string;
  readonly status: string;
  readonly daysLeft?: number;
  readonly anyService: boolean;
  readonly services: readonly Service[];
}

interface CoverageAnswer {
  readonly patient: string;
  readonly payers: readonly { id: string; name: string }[];
  readonly name: string;
  readonly today: string;
  readonly payer?: { readonly id: string; readonly name: string };
  readonly authorizations: readonly Entry[];
  readonly withoutAuthorization: readonly (LedgerCharge & { rule: string })[];
  readonly workItems: readonly { task: string; kind: string; status: string; description?: string }[];
  readonly eligibility: readonly {
    coverage: string;
    created?: string;
    outcome?: string;
    payerName?: string;
    inforce?: boolean;
    planStart?: string;
    planEnd?: string;
    errors: readonly { code: string; text: string }[];
    authorizationRequiredFor: readonly string[];
  }[];
}

interface Statements {
  readonly statements: readonly {
    id: string;
    date: string;
    due?: string;
    amountDue: number;
    status: string;
  }[];
}

const STATUS_WORDS: Readonly<Record<string, string>> = {
  active: 'Active',
  'not-started': 'Not started yet',
  expired: 'Expired',
  'used-up': 'Used up',
};

function table(label: string, head: readonly string[], rows: readonly (readonly Child[])[]): HTMLElement {
  return h(
    'div',
    { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': label },
    h(
      'table',
      { class: 'grid' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

/** The claim that bills a charge and where it stands; else that there is none yet, and why when held. */
function claimOf(charge: LedgerCharge): Child {
  return charge.claim
    ? h(
        'a',
        { href: `#/claim/${encodeURIComponent(charge.claim.replace(/^Claim\//, ''))}` },
        stateWords(charge.claimState ?? 'untracked'),
      )
    : charge.billHold
      ? `No claim yet: ${heldWords(charge.billHold)}`
      : 'No claim yet';
}

function authorizationCard(entry: Entry): HTMLElement {
  // Used, but no claim bills them yet because the bill hold keeps their visit: said, so the count
  // does not read as visits missing their claim.
  const held = entry.services.flatMap((s) => s.uses.filter((u) => u.claim === undefined && u.billHold));
  return h(
    'article',
    { class: 'card authorization', 'aria-labelledby': `auth-${entry.number}` },
    h(
      'h3',
      { id: `auth-${entry.number}` },
      `Authorization ${entry.number} · ${STATUS_WORDS[entry.status] ?? entry.status}`,
    ),
    h(
      'p',
      { class: entry.daysLeft !== undefined && entry.daysLeft < 15 ? 'urgent' : undefined },
      `${entry.start ?? '?'} to ${entry.end ?? '?'}`,
      entry.daysLeft !== undefined
        ? entry.daysLeft >= 0
          ? ` · ${entry.daysLeft} days left`
          : ` · expired ${-entry.daysLeft} days ago`
        : '',
      entry.anyService ? ' · any service in its dates' : '',
    ),
    table(
      `Services of authorization ${entry.number}`,
      ['Service', 'Authorized', 'Used', 'Left', 'Beyond'],
      entry.services.map((s) => [
        s.code,
        s.authorized === undefined ? 'not limited' : `${s.authorized} ${s.measure}`,
        `${s.used} ${s.measure}`,
        s.remaining === undefined ? '—' : `${s.remaining} ${s.measure}`,
        s.beyond ? `${s.beyond} ${s.measure}` : '—',
      ]),
    ),
    held.length
      ? h(
          'ul',
          { class: 'held', 'aria-label': `Used under authorization ${entry.number}, no claim yet` },
          held.map((u) => h('li', {}, `${u.code} on ${u.date} (${u.units} units): `, claimOf(u))),
        )
      : null,
  );
}

/** Asks every payer of the patient now (as `POST /api/eligibility/check`), then redraws. */
function askButton(ctx: ViewContext, patientId: string): HTMLElement {
  const button = h('button', { type: 'button' }, 'Ask the payers now');
  button.addEventListener('click', () => {
    button.disabled = true;
    void post<{ done: boolean; outcomes?: readonly unknown[]; note?: string }>(
      `patients/${encodeURIComponent(patientId)}/eligibility`,
      {},
    ).then(
      (answer) => {
        ctx.announce(
          answer.done
            ? `Eligibility: ${answer.outcomes?.length ?? 0} payer answer(s) received${answer.note ? ` (${answer.note})` : ''}.`
            : 'Eligibility: asked; the payers are still answering.',
        );
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      },
      (err: unknown) => {
        button.disabled = false;
        ctx.announce(`Eligibility refused: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  });
  return button;
}

/** The patient's statements (as `GET /api/remittance/statements/{id}/pdf` serves them). */
function statementsSection(list: Statements): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'statements' },
    h('h2', { id: 'statements' }, 'Patient statements'),
    list.statements.length
      ? table(
          'Patient statements',
          ['Statement date', 'Due by', 'Amount due', 'Download'],
          list.statements.map((s) => [
            s.date,
            s.due ?? '—',
            dollars(s.amountDue),
            h(
              'a',
              {
                href: `/app/api/statements/${encodeURIComponent(s.id)}/pdf`,
                download: `statement-${s.id}.pdf`,
              },
              `Statement of ${s.date} (PDF)`,
            ),
          ]),
        )
      : h('p', {}, 'No statement sent to this patient.'),
  );
}

/** The patient's infusion orders: where each one's prior authorization stands; ask now. */
function ordersSection(ctx: ViewContext, orders: readonly Order[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'orders' },
    h('h2', { id: 'orders' }, 'Orders and prior authorization requests'),
    orders.length
      ? table(
          'Orders and prior authorization requests',
          ['Medication', 'Ordered', 'Prior authorization', ...(ctx.can('request-coverage') ? ['Ask'] : [])],
          orders.map((o) => [
            o.medication,
            o.authoredOn ?? '—',
            priorAuthWords(o),
            ...(ctx.can('request-coverage') ? [askPriorAuthButton(ctx, o)] : []),
          ]),
        )
      : h('p', {}, 'No infusion order on file.'),
  );
}

export async function coverageView(ctx: ViewContext, patientId: string): Promise<void> {
  const patient = encodeURIComponent(patientId);
  const [answer, statements, orders] = await Promise.all([
    get<CoverageAnswer>(`patients/${patient}/coverage`),
    get<Statements>(`patients/${patient}/statements`),
    get<{ orders: readonly Order[] }>(`patients/${patient}/orders`),
  ]);
  replace(
    ctx.main,
    h('h1', { tabindex: -1 }, `Prior authorization and eligibility — ${answer.name}`),
    h('p', { class: 'summary' }, `Payer: ${answer.payer?.name ?? 'none on file'} · as of ${answer.today}`),
    h(
      'section',
      { 'aria-labelledby': 'eligibility' },
      h('h2', { id: 'eligibility' }, 'Eligibility'),
      ctx.can('request-coverage') ? askButton(ctx, patientId) : null,
      answer.eligibility.length
        ? table(
            'Eligibility answers',
            ['Coverage', 'Payer', 'Answer', 'Plan dates', 'Asked', 'Needs authorization'],
            answer.eligibility.map((e) => [
              e.coverage,
              e.payerName ?? '—',
              e.errors.length
                ? `Rejected: ${e.errors.map((x) => x.text).join('; ')}`
                : e.inforce === false
                  ? 'Not active'
                  : e.inforce
                    ? 'Active'
                    : (e.outcome ?? '—'),
              `${e.planStart ?? '?'} to ${e.planEnd ?? '…'}`,
              e.created?.slice(0, 10) ?? '—',
              e.authorizationRequiredFor.join(', ') || '—',
            ]),
          )
        : h('p', {}, 'No eligibility answer on file.'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'authorizations' },
      h('h2', { id: 'authorizations' }, 'Prior authorizations'),
      answer.authorizations.length
        ? answer.authorizations.map(authorizationCard)
        : h('p', {}, 'No authorization on file.'),
      ctx.can('record-authorization') && answer.payers.length
        ? recordAuthorizationForm(ctx, patientId, answer.payers, answer.today, answer.payer?.id)
        : null,
      answer.withoutAuthorization.length
        ? [
            h('h3', {}, 'Given without an authorization'),
            table(
              'Given without an authorization',
              ['Service', 'Date', 'Units', 'Why one is needed', 'Claim'],
              answer.withoutAuthorization.map((c) => [c.code, c.date, c.units, c.rule, claimOf(c)]),
            ),
          ]
        : null,
      answer.workItems.length
        ? [
            h('h3', {}, 'Open work items'),
            h(
              'ul',
              {},
              answer.workItems.map((w) => h('li', {}, w.description ?? w.kind)),
            ),
          ]
        : null,
    ),
    ordersSection(ctx, orders.orders),
    statementsSection(statements),
  );
}
