/**
 * The app's server-rendered pages: the shell that loads the bundle, and readable pages for what
 * stops a person (launch failed, session expired, no access, signed out) instead of JSON.
 */
import { escapeHtml } from '../http/html.ts';
import type { AppBundle } from './assets.ts';

function document(bundle: AppBundle, title: string, body: string, withScript: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/app/assets/${escapeHtml(bundle.stylesheet)}">
</head><body>${body}${
    withScript ? `<script type="module" src="/app/assets/${escapeHtml(bundle.script)}"></script>` : ''
  }</body></html>`;
}

export function shellPage(bundle: AppBundle): string {
  return document(
    bundle,
    'Dripline billing',
    '<a class="skip" href="#main">Skip to content</a><div id="app"><main id="main"><p>Loading…</p></main></div>',
    true,
  );
}

export interface NoticePage {
  readonly title: string;
  readonly message: string;
  /** Standalone sign-in links, one per EHR (label, href). */
  readonly links?: readonly { readonly label: string; readonly href: string }[];
}

export function noticePage(bundle: AppBundle, page: NoticePage): string {
  const links = (page.links ?? [])
    .map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`)
    .join('');
  return document(
    bundle,
    `${page.title} — Dripline`,
    `<header class="bar"><span class="brand">Dripline</span></header><main id="main" class="notice"><h1>${escapeHtml(
      page.title,
    )}</h1><p>${escapeHtml(page.message)}</p>${links ? `<ul class="links">${links}</ul>` : ''}</main>`,
    false,
  );
}
