/**
 * @module portal/render
 * Turns a page name, a language and the page's typed data into HTML. Templates under
 * views/ are read once when the renderer is created and parsed by their first render (parsing
 * them all took about 25 ms of every start and reload); every value is
 * HTML-escaped by mustache's `{{ }}`, except the QR code SVG (`qrSvgTrusted`), which
 * the server itself produces. Each page's builder (declared with its handler, collected in
 * `portal/pages`) turns the data into the template's view; this module fills the layout.
 */

import type { HelpContact } from '../config/types.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';
import { format, formatDate, formatTimeAfter, translate } from './i18n.ts';
import type { Catalog, MessageParams, MessageRef } from './i18n.ts';
import type { StaticAssets } from './static.ts';
import type { PageDefinition, ViewKit } from './page.ts';
import { PAGES, PAGE_NAMES, type PageData, type PageName } from './pages.ts';
import { PORTAL_PATHS } from './paths.ts';

/** Where a render's page params sit on its texts object, for the placeholder getters. */
const PARAMS = Symbol('params');

const PAGES_BY_NAME: ReadonlyMap<string, PageDefinition<string, never>> = new Map(
  PAGES.map((p) => [p.name, p as PageDefinition<string, never>]),
);

/** What the layout shows around a page for this request. */
export interface PageChrome {
  /** The header's "Back to <host>" link: the return URL, or the public URL; `host` names it (a relative `href` has none). */
  back?: { href: string; host: string };
}

export interface Renderer {
  /** The full HTML document of a page in `lang` (an unknown language renders English). */
  page<N extends PageName>(name: N, lang: string, data: PageData[N], chrome?: PageChrome): string;
  /** Like `page`, and whether the document loads the gateway's script (its response's CSP must allow it). */
  render<N extends PageName>(name: N, lang: string, data: PageData[N], chrome?: PageChrome): { html: string; script: boolean };
  /** The error page for an HTTP status; unknown statuses use their class's (400/500) texts. */
  errorPage(status: number, lang: string, opts?: Omit<PageData['error'], 'status'>, chrome?: PageChrome): string;
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
  /** The loaded static files (`loadStaticAssets`), for the stylesheet's cache-busting hash. */
  assets: StaticAssets;
  /** Where the header's product name links: `server.public_url`; defaults to `/`. */
  homeUrl?: string;
  /** `portal.help`: whom users contact, shown in the footer instead of the `footer_help` text. */
  help?: HelpContact;
}

/** The footer's contact in one language: the text, and the phone, e-mail and help page as links. */
function helpIn(help: HelpContact, lang: string) {
  const text = typeof help.text === 'string' ? help.text : ((help.text as Readonly<Record<string, string>>)[lang] ?? help.text.en);
  return Object.freeze({
    text,
    phone: help.phone === undefined ? null : { href: `tel:${help.phone.replace(/[^+\d]/g, '')}`, text: help.phone },
    email: help.email ?? null,
    url: help.url ?? null,
  });
}

const DEFAULT_VIEWS = fileURLToPath(new URL('../../views/', import.meta.url));

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const MUSTACHE_CONFIG = { escape: escapeHtml };

/**
 * Reads the templates once and returns the page renderer.
 *
 * @example
 * const assets = await loadStaticAssets('views/static');
 * const render = createRenderer({ catalog: buildCatalog(config.messages), prefix: '/.gateway/', assets });
 * res.end(render.page('sign-in', pickLanguage(req.headers['accept-language'], catalog.languages), { csrf, rd }));
 */
export function createRenderer(opts: RendererOptions): Renderer {
  const viewsDir = opts.viewsDir ?? DEFAULT_VIEWS;
  const { catalog, prefix, assets } = opts;
  // The writer parses a template the first time it renders it, and keeps the result.
  const writer = new Mustache.Writer();
  const read = (file: string): string => readFileSync(file, 'utf8');

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
    brandHref: opts.homeUrl ?? '/',
    paths: Object.freeze(Object.fromEntries(Object.entries(PORTAL_PATHS).map(([k, p]) => [k, prefix + p]))) as ViewKit['paths'],
  });

  // Per language: the texts with the product name applied. A text with placeholders is a getter
  // that fills them from the page's params when the view reads it, so a render formats only the
  // texts its page shows (formatting every templated text of the catalog for every page was the
  // largest cost of a sign-in page, the page a refused password attempt answers with).
  const texts = new Map<string, { base: Readonly<Record<string, string>>; proto: object }>();
  for (const lang of catalog.languages) {
    const base: Record<string, string> = { ...catalog.messages[lang] };
    if (opts.productName !== undefined) base.product_name = opts.productName;
    const proto = Object.create(base) as Record<string | symbol, unknown>;
    for (const key of Object.keys(base)) {
      const template = base[key]!;
      if (!template.includes('{')) continue;
      Object.defineProperty(proto, key, {
        get(this: Record<symbol, MessageParams | undefined>) {
          return format(template, this[PARAMS], lang);
        },
      });
    }
    texts.set(lang, { base, proto });
  }
  const langOf = (lang: string): string => (texts.has(lang) ? lang : catalog.languages[0]!);
  const help = new Map(catalog.languages.map((lang) => [lang, opts.help === undefined ? null : helpIn(opts.help, lang)]));

  const tr = (lang: string, ref: MessageRef, params?: MessageParams): string => translate(catalog, lang, ref, params);

  function render<N extends PageName>(
    name: N,
    lang: string,
    data: PageData[N],
    chrome: PageChrome = {},
  ): { html: string; script: boolean } {
    const { title, params, view, width, script, error } = (PAGES_BY_NAME.get(name) as PageDefinition<N, PageData[N]>).build(lang, data, v);
    const { base, proto } = texts.get(lang)!;
    const t = Object.create(proto) as Record<symbol, MessageParams | undefined>;
    t[PARAMS] = params;
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
      backLink: chrome.back ? { href: chrome.back.href, label: tr(lang, 'back_to_app', { app: chrome.back.host }) } : null,
      helpContact: help.get(lang) ?? null,
    };
    return { html: writer.render(layout, full, partialsFor.get(name), MUSTACHE_CONFIG), script: script === true };
  }

  const v: ViewKit = { tr, date: formatDate, timeAfter: formatTimeAfter, prefix, paths: site.paths };

  return {
    page(name, lang, data, chrome) {
      return render(name, langOf(lang), data, chrome).html;
    },
    render(name, lang, data, chrome) {
      return render(name, langOf(lang), data, chrome);
    },
    errorPage(status, lang, o = {}, chrome) {
      return render('error', langOf(lang), { ...o, status }, chrome).html;
    },
    text: (lang, ref, params) => tr(langOf(lang), ref, params),
  };
}
