/**
 * The sandbox EHR's pages: sign in (a list of its practitioners), the chart (the day's
 * encounters, each with a "Billing" button) and the chart with the billing app in an iframe.
 * Plain server-rendered HTML; every value is escaped.
 */
import { escapeHtml } from '../../../http/html.ts';

export interface PersonRow {
  readonly id: string;
  readonly name: string;
  readonly role?: string;
}

export interface EncounterRow {
  readonly id: string;
  readonly patient: string;
  readonly patientName: string;
  readonly start: string;
  readonly status: string;
  readonly location: string;
}

const STYLE = `body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f4f6f8}
header{background:#234;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
header h1{font-size:1.1rem;margin:0}main{padding:1rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #dde;padding:.4rem .6rem;text-align:left}button{font:inherit;padding:.3rem .8rem;cursor:pointer}
ul.people{list-style:none;padding:0;max-width:36rem}ul.people li{margin:.3rem 0}ul.people button{width:100%;text-align:left}
iframe{width:100%;height:calc(100vh - 7rem);border:1px solid #99a;background:#fff}form.inline{display:inline}`;

function page(title: string, body: string, user?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} — Sandbox EHR</title><style>${STYLE}</style></head><body>
<header><h1>Sandbox EHR</h1>${
    user
      ? `<span>${escapeHtml(user)}</span><a href="/chart" style="color:#fff">Chart</a><form class="inline" method="post" action="/chart/logout"><button>Sign out</button></form>`
      : ''
  }</header><main>${body}</main></body></html>`;
}

/** The sign-in list: one button per practitioner; `action` and hidden fields carry the request on. */
export function signInPage(
  people: readonly PersonRow[],
  options: { action: string; hidden?: Readonly<Record<string, string>>; heading: string },
): string {
  const hidden = Object.entries(options.hidden ?? {})
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  const items = people
    .map(
      (p) =>
        `<li><button name="practitioner" value="${escapeHtml(p.id)}">${escapeHtml(p.name)}${
          p.role ? ` — ${escapeHtml(p.role)}` : ''
        }</button></li>`,
    )
    .join('');
  return page(
    'Sign in',
    `<h2>${escapeHtml(options.heading)}</h2><form method="post" action="${escapeHtml(options.action)}">${hidden}<ul class="people">${items}</ul></form>`,
  );
}

export function chartPage(user: string, encounters: readonly EncounterRow[], day: string): string {
  const rows = encounters
    .map(
      (e) => `<tr><td>${escapeHtml(e.start)}</td><td>${escapeHtml(e.patientName)}</td><td>${escapeHtml(
        e.location,
      )}</td><td>${escapeHtml(e.status)}</td><td><form class="inline" method="post" action="/chart/billing">
<input type="hidden" name="encounter" value="${escapeHtml(e.id)}"><button aria-label="Billing for ${escapeHtml(
        e.patientName,
      )} at ${escapeHtml(e.start)}">Billing</button></form></td></tr>`,
    )
    .join('');
  return page(
    'Chart',
    `<h2>Encounters of ${escapeHtml(day)}</h2>
<form method="post" action="/chart/billing"><button>Open billing (worklist)</button></form>
<table><thead><tr><th>Time</th><th>Patient</th><th>Location</th><th>Status</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
    user,
  );
}

export function appFramePage(user: string, heading: string, src: string): string {
  return page(
    heading,
    `<h2>${escapeHtml(heading)}</h2><iframe title="Dripline billing" src="${escapeHtml(src)}"></iframe>`,
    user,
  );
}

export function errorPage(message: string): string {
  return page('Error', `<h2>Cannot continue</h2><p>${escapeHtml(message)}</p>`);
}
