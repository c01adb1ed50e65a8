/**
 * @module portal/i18n
 * Language choice and the message catalog: picks a page language from Accept-Language
 * (RFC 9110 §12.5.4), merges the config's per-language overrides over the shipped texts,
 * and fills `{name}` placeholders with locale-aware values.
 */

import type { MessagesConfig } from '../config/types.ts';
import { defaultMessages, isMessageKey, MESSAGE_KEYS } from './messages.ts';
import type { MessageKey } from './messages.ts';

/** Texts of every language the gateway can show; `languages[0]` is the fallback (`en`). */
export interface Catalog {
  readonly languages: readonly string[];
  readonly messages: Readonly<Record<string, Readonly<Record<MessageKey, string>>>>;
}

/** Values for `{name}` placeholders; dates are formatted for the page language. */
export type MessageParams = Readonly<Record<string, string | number | Date>>;

/** A text by key, optionally with its own placeholder values. */
export type MessageRef = MessageKey | { readonly key: MessageKey; readonly params?: MessageParams };

const FALLBACK = 'en';
const SHIPPED: readonly string[] = Object.keys(defaultMessages);

/**
 * Merges `overrides` (language -> key -> text) over the shipped English and German texts.
 * A language other than `en` and `de` becomes an extra page language and must override
 * every key. Throws on unknown keys or an incomplete extra language; the config
 * validator reports both earlier through `unknownMessageKeys` and `missingMessageKeys`.
 *
 * @example buildCatalog({ de: { footer_help: 'Hilfe: Durchwahl 1234' } })
 */
export function buildCatalog(overrides: MessagesConfig): Catalog {
  const problems = [...unknownMessageKeys(overrides), ...missingMessageKeys(overrides)];
  if (problems.length > 0) throw new Error(`messages: unknown or missing keys: ${problems.join(', ')}`);
  const messages: Record<string, Readonly<Record<MessageKey, string>>> = { ...defaultMessages };
  for (const [lang, texts] of Object.entries(overrides)) {
    const tag = lang.toLowerCase();
    messages[tag] = Object.freeze({ ...messages[tag], ...texts } as Record<MessageKey, string>);
  }
  return Object.freeze({ languages: Object.freeze(Object.keys(messages)), messages: Object.freeze(messages) });
}

/** Override keys that name no message, as `lang.key` paths (config path `messages.lang.key`). */
export function unknownMessageKeys(overrides: MessagesConfig): string[] {
  const unknown: string[] = [];
  for (const [lang, texts] of Object.entries(overrides)) {
    for (const key of Object.keys(texts)) if (!isMessageKey(key)) unknown.push(`${lang}.${key}`);
  }
  return unknown;
}

/** Keys an extra language (not `en`/`de`) leaves out, as `lang.key` paths. */
export function missingMessageKeys(overrides: MessagesConfig): string[] {
  const missing: string[] = [];
  for (const [lang, texts] of Object.entries(overrides)) {
    if (SHIPPED.includes(lang.toLowerCase())) continue;
    for (const key of MESSAGE_KEYS) if (!Object.hasOwn(texts, key)) missing.push(`${lang}.${key}`);
  }
  return missing;
}

const PICK_CACHE_SIZE = 128;
const MAX_CACHED_HEADER = 256;
const pickCache = new WeakMap<readonly string[], Map<string, string>>();

/**
 * The best of `available` (lower-case language tags, fallback first) for an
 * Accept-Language header: ranges by descending q (RFC 9110 §12.5.4), each matched
 * exactly, then by its prefix (`de-CH` -> `de`), then as a prefix (`pt` -> `pt-br`);
 * `*` takes the fallback; `q=0` excludes. Results are cached per header value in a
 * small bounded map, since browsers send few distinct values.
 */
export function pickLanguage(acceptLanguage: string | undefined, available: readonly string[]): string {
  const fallback = available.includes(FALLBACK) ? FALLBACK : (available[0] ?? FALLBACK);
  if (!acceptLanguage) return fallback;
  let cache = pickCache.get(available);
  if (!cache) pickCache.set(available, (cache = new Map()));
  const hit = cache.get(acceptLanguage);
  if (hit !== undefined) return hit;
  const picked = pickUncached(acceptLanguage, available) ?? fallback;
  if (acceptLanguage.length > MAX_CACHED_HEADER) return picked;
  if (cache.size >= PICK_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(acceptLanguage, picked);
  return picked;
}

const RANGE = /^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/;
const QVALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const MAX_RANGES = 20;

function pickUncached(header: string, available: readonly string[]): string | undefined {
  const ranges: { tag: string; q: number; order: number }[] = [];
  for (const part of header.toLowerCase().split(',', MAX_RANGES)) {
    const [rawTag = '', ...rawParams] = part.split(';');
    const tag = rawTag.trim();
    if (!RANGE.test(tag)) continue;
    let q = 1;
    for (const param of rawParams) {
      const m = QVALUE.exec(param.trim().replace(/\s+/g, ''));
      q = m ? Number(m[1]) : -1;
    }
    if (q > 0) ranges.push({ tag, q, order: ranges.length });
  }
  ranges.sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { tag } of ranges) {
    if (tag === '*') return available.includes(FALLBACK) ? FALLBACK : available[0];
    if (available.includes(tag)) return tag;
    const dash = tag.indexOf('-');
    if (dash > 0 && available.includes(tag.slice(0, dash))) return tag.slice(0, dash);
    const longer = available.find((a) => a.startsWith(`${tag}-`));
    if (longer) return longer;
  }
  return undefined;
}

/** The locale Intl uses for a page language; an extra language tag Intl cannot parse keeps English. */
function intlLocale(lang: string): string {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([lang])[0] ?? FALLBACK;
  } catch {
    return FALLBACK;
  }
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
const pluralRules = new Map<string, Intl.PluralRules>();

function dateFormat(lang: string): Intl.DateTimeFormat {
  let f = dateFormats.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(intlLocale(lang), { dateStyle: 'medium', timeStyle: 'short' });
    dateFormats.set(lang, f);
  }
  return f;
}

/**
 * Picks the text for a count by the language's plural rules (CLDR, through
 * `Intl.PluralRules`): `none` for zero, `one` where the language says "one", else `many`.
 *
 * @example countKey(3, 'de', { none: 'account_browsers_none', one: 'account_browsers_one', many: 'account_browsers_many' })
 */
export function countKey<K extends string>(count: number, lang: string, keys: { none: K; one: K; many: K }): K {
  if (count === 0) return keys.none;
  let rules = pluralRules.get(lang);
  if (!rules) {
    rules = new Intl.PluralRules(intlLocale(lang));
    pluralRules.set(lang, rules);
  }
  return rules.select(count) === 'one' ? keys.one : keys.many;
}

/** Formats a date and time the way `lang` writes it (`12 Mar 2026, 14:05` / `12.03.2026, 14:05`). */
export function formatDate(value: Date | number, lang: string): string {
  return dateFormat(lang).format(value);
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();
const dayFormats = new Map<string, Intl.DateTimeFormat>();

function cached(cache: Map<string, Intl.DateTimeFormat>, lang: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let f = cache.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(intlLocale(lang), options);
    cache.set(lang, f);
  }
  return f;
}

/**
 * A moment soon after `now` the way `lang` writes it, in the server's time zone: the time
 * alone on the same day (`2:05 PM` / `14:05`), with the date otherwise (see {@link formatDate}).
 */
export function formatTimeAfter(value: number, now: number, lang: string): string {
  const day = cached(dayFormats, FALLBACK, { year: 'numeric', month: '2-digit', day: '2-digit' });
  if (day.format(value) !== day.format(now)) return formatDate(value, lang);
  return cached(timeFormats, lang, { timeStyle: 'short' }).format(value);
}

/** Fills `{name}` placeholders; an unknown placeholder stays as written. */
export function format(template: string, params: MessageParams | undefined, lang: string): string {
  if (!params || !template.includes('{')) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = Object.hasOwn(params, name) ? params[name] : undefined;
    if (v === undefined) return whole;
    return v instanceof Date ? formatDate(v, lang) : String(v);
  });
}

/** The text for `ref` in `lang` (the fallback language when `lang` is unknown), placeholders filled. */
export function translate(catalog: Catalog, lang: string, ref: MessageRef, params?: MessageParams): string {
  const texts = catalog.messages[lang] ?? catalog.messages[FALLBACK]!;
  if (typeof ref === 'string') return format(texts[ref], params, lang);
  return format(texts[ref.key], ref.params ? { ...params, ...ref.params } : params, lang);
}
