/**
 * @module portal/render
 * Turns a page name, a language and the page's typed data into HTML. Templates under
 * views/ are read and parsed once when the renderer is created; every value is
 * HTML-escaped by mustache's `{{ }}`, except the QR code SVG (`qrSvgTrusted`), which
 * the server itself produces. Each page's builder (declared with its handler, collected in
 * `portal/pages`) turns the data into the template's view; this module fills the layout.
 */

import type { RuleTexts } from '../policy/compile.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';
import { format, formatDate, formatTimeAfter, translate } from './i18n.ts';
import type { Catalog, MessageParams, MessageRef } from './i18n.ts';
import { loadStaticAssets } from './static.ts';
import type { StaticAssets } from './static.ts';
import type { PageDefinition, ViewKit } from './page.ts';
import { PAGES, PAGE_NAMES, type PageData, type PageName } from './pages.ts';
import { PORTAL_PATHS } from './paths.ts';

const PAGES_BY_NAME: ReadonlyMap<string, PageDefinition<string, never>> = new Map(
  PAGES.map((p) => [p.name, p as PageDefinition<string, never>]),
);

export interface Renderer {
  /** The full HTML document of a page in `lang` (an unknown language renders English). */
  page<N extends PageName>(name: N, lang: string, data: PageData[N]): string;
  /** Like `page`, and whether the document loads the gateway's script (its response's CSP must allow it). */
  render<N extends PageName>(name: N, lang: string, data: PageData[N]): { html: string; script: boolean };
  /** The error page for an HTTP status; unknown statuses use their class's (400/500) texts. */
  errorPage(status: number, lang: string, opts?: { requestId?: string; detailKey?: string; rule?: RuleTexts | null }): string;
  /** A text of the catalog in `lang`, placeholders filled (for values a handler stores, such as a method's default name). */
  text(lang: string, ref: MessageRef, params?: MessageParams): string;
}

export interface RendererOptions {
  /** Folder with layout.mustache, pages/, partials/ and static/; defaults to the package's views/. */
  viewsDir?: string;
  catalog: Catalog;
  /** The reserved path prefix with both slashes, e.g. `/.gateway/`. */
  prefix: string;
  /** Replaces the `product_name` text in every language. */
  productName?: string;
  /** The loaded static files, for the stylesheet's cache-busting hash; read from `viewsDir/static` when omitted. */
  assets?: StaticAssets;
}

const DEFAULT_VIEWS = fileURLToPath(new URL('../../views/', import.meta.url));

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const MUSTACHE_CONFIG = { escape: escapeHtml };

/**
 * Reads and parses the templates once and returns the page renderer.
 *
 * @example
 * const render = createRenderer({ catalog: buildCatalog(config.messages), prefix: '/.gateway/' });
 * res.end(render.page('sign-in', pickLanguage(req.headers['accept-language'], catalog.languages), { csrf, rd }));
 */
export function createRenderer(opts: RendererOptions): Renderer {
  const viewsDir = opts.viewsDir ?? DEFAULT_VIEWS;
  const { catalog, prefix } = opts;
  const assets = opts.assets ?? loadStaticAssets(join(viewsDir, 'static'));
  const writer = new Mustache.Writer();
  const read = (file: string): string => {
    const text = readFileSync(file, 'utf8');
    writer.parse(text);
    return text;
  };

  const layout = read(join(viewsDir, 'layout.mustache'));
  const shared: Record<string, string> = {};
  const partialsDir = join(viewsDir, 'partials');
  for (const file of readdirSync(partialsDir)) {
    if (file.endsWith('.mustache')) shared[basename(file, '.mustache')] = read(join(partialsDir, file));
  }
  const partialsFor = new Map<string, Readonly<Record<string, string>>>();
  for (const name of PAGE_NAMES) {
    partialsFor.set(name, Object.freeze({ ...shared, content: read(join(viewsDir, 'pages', `${name}.mustache`)) }));
  }

  const versioned = (file: string): string => {
    const asset = assets.get(file);
    return `${prefix}${PORTAL_PATHS.static}${file}${asset ? `?v=${asset.hash}` : ''}`;
  };
  const site = Object.freeze({
    cssHref: versioned('gateway.css'),
    iconHref: versioned('favicon.svg'),
    scriptSrc: versioned('webauthn.js'),
    paths: Object.freeze(Object.fromEntries(Object.entries(PORTAL_PATHS).map(([k, p]) => [k, prefix + p]))) as ViewKit['paths'],
  });

  // Per language: the texts with the product name applied, and which of them still hold placeholders.
  // `base` stays unfrozen: each render shadows the templated keys on an object inheriting from it.
  const texts = new Map<string, { base: Readonly<Record<string, string>>; templated: readonly string[] }>();
  for (const lang of catalog.languages) {
    const base: Record<string, string> = { ...catalog.messages[lang] };
    if (opts.productName !== undefined) base.product_name = opts.productName;
    texts.set(lang, { base, templated: Object.keys(base).filter((k) => base[k]!.includes('{')) });
  }
  const langOf = (lang: string): string => (texts.has(lang) ? lang : catalog.languages[0]!);

  const tr = (lang: string, ref: MessageRef, params?: MessageParams): string => translate(catalog, lang, ref, params);

  function render<N extends PageName>(name: N, lang: string, data: PageData[N]): { html: string; script: boolean } {
    const { title, params, view, width, script, error } = (PAGES_BY_NAME.get(name) as PageDefinition<N, PageData[N]>).build(lang, data, v);
    const { base, templated } = texts.get(lang)!;
    const t: Record<string, string> = Object.create(base);
    for (const key of templated) t[key] = format(base[key]!, params, lang);
    const full = {
      ...site,
      ...view,
      lang,
      t,
      title,
      // Screen readers announce the title first: a page with an error says so there (WCAG 3.3.1).
      documentTitle: error === true ? tr(lang, 'page_title_error', { title }) : title,
      productName: base.product_name,
      width,
      scriptSrc: script === true ? site.scriptSrc : '',
    };
    return { html: writer.render(layout, full, partialsFor.get(name), MUSTACHE_CONFIG), script: script === true };
  }

  const v: ViewKit = { tr, date: formatDate, timeAfter: formatTimeAfter, prefix, paths: site.paths };

  return {
    page(name, lang, data) {
      return render(name, langOf(lang), data).html;
    },
    render(name, lang, data) {
      return render(name, langOf(lang), data);
    },
    errorPage(status, lang, o = {}) {
      return render('error', langOf(lang), { status, ...o }).html;
    },
    text: (lang, ref, params) => tr(langOf(lang), ref, params),
  };
}
