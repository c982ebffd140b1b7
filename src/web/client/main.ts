/**
 * The billers' app in the browser: reads the session, draws the header, and routes
 * `#/worklist`, `#/encounter/{id}`, `#/claim/{id}`, `#/recovery` (denials and underpayments),
 * `#/coverage/{patient id}` (prior authorization and eligibility), `#/analytics` (and the claims
 * behind a figure, `#/claims?…`), `#/audit/{patient id}`.
 */
import './app.css';
import { ApiError, get, post, useCsrf } from './api.ts';
import type { Session } from './api.ts';
import type { ViewContext } from './context.ts';
import { h, replace } from './dom.ts';
import { auditView } from './views/audit.ts';
import { claimView } from './views/claim.ts';
import { coverageView } from './views/coverage.ts';
import { encounterView } from './views/encounter.ts';
import { recoveryView } from './views/recovery.ts';
import { worklistView } from './views/worklist.ts';

const root = document.getElementById('app');

function showError(main: HTMLElement, err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    replace(
      main,
      h('h1', { tabindex: -1 }, 'Session expired'),
      h('p', {}, 'Your session has ended. Open Dripline again from the EHR.'),
      h('p', {}, h('a', { href: '/app/' }, 'Start again')),
    );
  } else if (err instanceof ApiError && err.status === 403) {
    replace(main, h('h1', { tabindex: -1 }, 'No access'), h('p', {}, err.message));
  } else if (err instanceof ApiError && err.status === 404) {
    replace(main, h('h1', { tabindex: -1 }, 'Not found'), h('p', {}, err.message));
  } else {
    replace(
      main,
      h('h1', { tabindex: -1 }, 'Something went wrong'),
      h('p', {}, err instanceof Error ? err.message : String(err)),
    );
  }
  main.querySelector('h1')?.focus();
}

async function start(): Promise<void> {
  if (!root) {
    return;
  }
  const main = h('main', { id: 'main' });
  let session: Session;
  try {
    session = await get<Session>('session');
  } catch (err) {
    replace(root, main);
    showError(main, err);
    return;
  }
  useCsrf(session.csrf);
  const live = h('div', { class: 'live', role: 'status', 'aria-live': 'polite' });
  const can = (permission: string): boolean => session.permissions.includes(permission);
  const links: [string, string][] = [
    ...(session.encounter && can('read-encounter')
      ? [[`#/encounter/${session.encounter.split('/')[1] ?? ''}`, 'This encounter'] as [string, string]]
      : []),
    ...(can('read')
      ? ([
          ['#/worklist', 'Worklist'],
          ['#/recovery', 'Denials'],
          ['#/analytics', 'Analytics'],
        ] as [string, string][])
      : []),
    ...(session.patient && can('read')
      ? [[`#/coverage/${session.patient.split('/')[1] ?? ''}`, 'Authorizations'] as [string, string]]
      : []),
    ...(session.patient && can('audit')
      ? [[`#/audit/${session.patient.split('/')[1] ?? ''}`, 'Audit'] as [string, string]]
      : []),
  ];
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    h(
      'ul',
      {},
      links.map(([href, label]) => h('li', {}, h('a', { href }, label))),
    ),
  );
  const signOut = h(
    'button',
    {
      type: 'button',
      class: 'quiet',
      onclick: () => {
        void post('logout', {}).finally(() => {
          window.location.href = '/app/signed-out';
        });
      },
    },
    'Sign out',
  );
  const header = h(
    'header',
    { class: 'bar' },
    h('span', { class: 'brand' }, 'Dripline'),
    nav,
    h('span', { class: 'who' }, `${session.name} · ${session.role} · ${session.tenantName}`),
    signOut,
  );
  replace(root, h('a', { class: 'skip', href: '#main' }, 'Skip to content'), header, main, live);

  // Routes overlap (a click while a view still waits for its data, a refresh after an action):
  // each draws on its own stage, and only the newest is put on the page, so a slow older view
  // can never draw over the one the person asked for last.
  let newest = 0;
  const route = async (): Promise<void> => {
    const mine = ++newest;
    const stage = h('div', { class: 'view' });
    const show = (): void => {
      if (mine === newest) {
        replace(main, stage);
        main.querySelector('h1')?.focus();
      }
    };
    const hash = window.location.hash.replace(/^#\/?/, '');
    const [path = '', queryText = ''] = hash.split('?');
    const [view = '', id = ''] = path.split('/');
    for (const a of nav.querySelectorAll('a')) {
      if (a.getAttribute('href') === `#/${path}` || a.getAttribute('href') === `#/${view}`) {
        a.setAttribute('aria-current', 'page');
      } else {
        a.removeAttribute('aria-current');
      }
    }
    const ctx: ViewContext = {
      session,
      main: stage,
      query: new URLSearchParams(queryText),
      can,
      announce: (message) => {
        live.textContent = message;
      },
    };
    replace(main, h('p', {}, 'Loading…'));
    try {
      if (view === 'encounter' && id) {
        await encounterView(ctx, id);
      } else if (view === 'claim' && id) {
        await claimView(ctx, id);
      } else if (view === 'analytics') {
        const { analyticsView } = await import('./views/analytics.ts');
        await analyticsView(ctx);
      } else if (view === 'claims') {
        const { claimsView } = await import('./views/claims.ts');
        await claimsView(ctx);
      } else if (view === 'recovery') {
        await recoveryView(ctx);
      } else if (view === 'coverage' && id) {
        await coverageView(ctx, id);
      } else if (view === 'audit' && id) {
        await auditView(ctx, id);
      } else {
        await worklistView(ctx);
      }
      show();
    } catch (err) {
      showError(stage, err);
      show();
    }
  };
  window.addEventListener('hashchange', () => void route());
  if (!window.location.hash) {
    const first = links[0]?.[0] ?? '#/worklist';
    window.history.replaceState(null, '', first);
  }
  await route();
}

void start();
