/**
 * The coverage view's actions: record an authorization a payer gave by phone, fax or portal (as
 * `POST /api/coverage/authorizations`), and per infusion order where its prior authorization
 * stands with a button to ask the payer now (as `POST /api/prior-auth`). Each answer is said in
 * the live region, then the view is drawn again.
 */
import { post } from '../api.ts';
import type { ViewContext } from '../context.ts';
import { h } from '../dom.ts';

export interface PriorAuthCase {
  readonly case: string;
  readonly status?: string;
  readonly number?: string;
  readonly submissions?: readonly { readonly state?: string; readonly created?: string }[];
  readonly work?: string;
}

export interface Order {
  readonly id: string;
  readonly medication: string;
  readonly authoredOn?: string;
  readonly status: string;
  readonly priorAuth: readonly PriorAuthCase[];
}

const PAS_WORDS: Readonly<Record<string, string>> = {
  certified: 'Approved',
  partial: 'Approved in part',
  modified: 'Approved with changes',
  denied: 'Denied',
  pended: 'Pending with the payer',
  cancelled: 'Cancelled',
  prepared: 'Being sent',
  unanswered: 'Sent, no answer yet',
  superseded: 'Superseded',
};

const redraw = (): void => {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
};
const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Where an order's prior authorization stands, in words. */
export function priorAuthWords(order: Order): string {
  const last = order.priorAuth.at(-1);
  if (!last) {
    return 'Not asked';
  }
  const state = last.status ?? last.submissions?.at(-1)?.state ?? 'prepared';
  return [PAS_WORDS[state] ?? state, last.number ? `number ${last.number}` : '', last.work ?? '']
    .filter(Boolean)
    .join(' · ');
}

/** Asks the order's payer for prior authorization now. */
export function askPriorAuthButton(ctx: ViewContext, order: Order): HTMLElement {
  const button = h(
    'button',
    {
      type: 'button',
      'aria-label': `Request prior authorization of ${order.medication} (${order.authoredOn ?? order.id})`,
    },
    'Request prior authorization',
  );
  button.addEventListener('click', () => {
    button.disabled = true;
    void post<{ queued: boolean }>(`orders/${encodeURIComponent(order.id)}/prior-auth`, {}).then(
      (answer) => {
        ctx.announce(
          answer.queued
            ? `Prior authorization of ${order.medication} requested: the payer is being asked.`
            : `Prior authorization of ${order.medication} was already requested.`,
        );
        redraw();
      },
      (err: unknown) => {
        button.disabled = false;
        ctx.announce(`Prior authorization request refused: ${why(err)}`);
      },
    );
  });
  return button;
}

function field(id: string, label: string, input: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/** Records an authorization by hand: payer, number, dates and optionally one service and its units. */
export function recordAuthorizationForm(
  ctx: ViewContext,
  patientId: string,
  payers: readonly { id: string; name: string }[],
  today: string,
  /** The patient's payer, chosen first. */
  current?: string,
): HTMLElement {
  const payer = h(
    'select',
    { id: 'auth-payer', required: true },
    payers.map((p) => h('option', { value: p.id, selected: p.id === current }, p.name)),
  );
  const number = h('input', {
    id: 'auth-number',
    type: 'text',
    required: true,
    maxlength: 50,
    autocomplete: 'off',
  });
  const start = h('input', { id: 'auth-start', type: 'date', required: true, value: today });
  const end = h('input', { id: 'auth-end', type: 'date', required: true });
  const code = h('input', {
    id: 'auth-code',
    type: 'text',
    maxlength: 5,
    pattern: '[0-9A-Za-z]{5}',
    autocomplete: 'off',
  });
  const units = h('input', { id: 'auth-units', type: 'number', min: 1, max: 99999, step: 1 });
  const form = h(
    'form',
    { class: 'action record-authorization', 'aria-labelledby': 'record-authorization' },
    h('h3', { id: 'record-authorization' }, 'Record an authorization'),
    field('auth-payer', 'Payer', payer),
    field('auth-number', 'Authorization number', number),
    field('auth-start', 'From', start),
    field('auth-end', 'To', end),
    field('auth-code', 'Service code (optional: any service when empty)', code),
    field('auth-units', 'Units authorized (optional)', units),
    h('button', { type: 'submit' }, 'Record the authorization'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const service = code.value.trim()
      ? [{ code: code.value.trim().toUpperCase(), ...(units.value ? { units: Number(units.value) } : {}) }]
      : [];
    void post<{ message: string }>(`patients/${encodeURIComponent(patientId)}/authorizations`, {
      payer: payer.value,
      number: number.value.trim(),
      start: start.value,
      end: end.value,
      ...(service.length ? { services: service } : {}),
    }).then(
      (answer) => {
        ctx.announce(answer.message);
        redraw();
      },
      (err: unknown) => ctx.announce(`Authorization refused: ${why(err)}`),
    );
  });
  return form;
}
