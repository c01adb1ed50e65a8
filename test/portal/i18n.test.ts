// Message catalog and language choice: both shipped languages are complete, overrides
// merge per language, and Accept-Language is read as RFC 9110 §12.5.4 describes.
import t from 'tap';
import { buildCatalog, countKey, format, missingMessageKeys, pickLanguage, translate, unknownMessageKeys } from '../../src/portal/i18n.ts';
import { defaultMessages, MESSAGE_KEYS } from '../../src/portal/messages.ts';
import type { MessageKey } from '../../src/portal/messages.ts';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

t.test('every key exists in English and German with the same placeholders', async (t) => {
  t.same(Object.keys(defaultMessages.en).sort(), [...MESSAGE_KEYS].sort());
  t.same(Object.keys(defaultMessages.de).sort(), [...MESSAGE_KEYS].sort());
  for (const key of MESSAGE_KEYS) {
    const en = defaultMessages.en[key];
    const de = defaultMessages.de[key];
    t.ok(en.trim().length > 0 && de.trim().length > 0, `${key} is not empty`);
    t.same(placeholders(de), placeholders(en), `${key}: same placeholders`);
    t.notOk(/\s{2}|^\s|\s$/.test(en) || /\s{2}|^\s|\s$/.test(de), `${key}: no stray whitespace`);
  }
});

t.test('every error status the gateway answers with has a title and a sentence', async (t) => {
  for (const status of [400, 403, 404, 414, 431, 500, 502, 503, 504]) {
    for (const lang of ['en', 'de'] as const) {
      t.ok(defaultMessages[lang][`error_${status}` as MessageKey], `${lang} error_${status}`);
      t.ok(defaultMessages[lang][`error_${status}_text` as MessageKey], `${lang} error_${status}_text`);
    }
  }
});

t.test('pickLanguage', async (t) => {
  const available = ['en', 'de'];
  const cases: [string | undefined, string][] = [
    [undefined, 'en'],
    ['', 'en'],
    ['de', 'de'],
    ['DE-de', 'de'],
    ['de-DE,de;q=0.9,en;q=0.8', 'de'],
    ['de-CH', 'de'],
    ['fr-CH, fr;q=0.9, de;q=0.7, en;q=0.5', 'de'],
    ['en;q=0.5, de;q=0.8', 'de'],
    ['en-US,en;q=0.9,de;q=0.8', 'en'],
    ['de;q=0, en', 'en'],
    ['de;q=0', 'en'],
    ['fr, *;q=0.1', 'en'],
    ['*', 'en'],
    ['fr', 'en'],
    ['de;q=1.0', 'de'],
    ['de;q=0.001, fr', 'de'],
    ['de;q=2, en;q=0.1', 'en'],
    ['de;q=abc, en;q=0.1', 'en'],
    ['%%%;;,,,=,de', 'de'],
    ['<script>, en', 'en'],
    [';q=1', 'en'],
    ['x'.repeat(10_000), 'en'],
    ['de ; q=0.8 , en ; q=0.7', 'de'],
  ];
  for (const [header, want] of cases) t.equal(pickLanguage(header, available), want, JSON.stringify(header)?.slice(0, 60));
  t.equal(pickLanguage('de', available), 'de', 'cached answer is the same');
  t.equal(pickLanguage('pt', ['en', 'de', 'pt-br']), 'pt-br', 'a language range matches a longer tag');
  t.equal(pickLanguage('pt-PT', ['en', 'pt-br']), 'en', 'a sibling region does not match');
  t.equal(pickLanguage('fr, de', ['de', 'fr']), 'fr', 'equal weights keep header order');
  t.equal(pickLanguage('*', ['de', 'fr']), 'de', 'without English, the first available language is the default');
  const many = ['en', 'de'];
  for (let i = 0; i < 1000; i++) pickLanguage(`x${i}, de`, many);
  t.equal(pickLanguage('x0, de', many), 'de', 'still right after the cache evicted entries');
});

t.test('buildCatalog merges overrides per language', async (t) => {
  const catalog = buildCatalog({ de: { footer_help: 'Hilfe: Durchwahl 1234' }, EN: { sign_in_title: 'Log in' } });
  t.same(catalog.languages, ['en', 'de']);
  t.equal(translate(catalog, 'de', 'footer_help'), 'Hilfe: Durchwahl 1234');
  t.equal(translate(catalog, 'en', 'footer_help'), defaultMessages.en.footer_help, 'the other language keeps its text');
  t.equal(translate(catalog, 'en', 'sign_in_title'), 'Log in', 'language names are case-insensitive');
  t.equal(translate(catalog, 'de', 'sign_in_title'), defaultMessages.de.sign_in_title);
  t.equal(translate(catalog, 'xx', 'sign_in_title'), 'Log in', 'an unknown language falls back to English');
  t.equal(defaultMessages.de.footer_help, 'Brauchen Sie Hilfe? Wenden Sie sich an Ihre IT-Abteilung.', 'defaults unchanged');
  t.ok(Object.isFrozen(catalog.messages.de));
});

t.test('an extra language must override every key', async (t) => {
  const fr = Object.fromEntries(MESSAGE_KEYS.map((k) => [k, `fr:${defaultMessages.en[k]}`]));
  const catalog = buildCatalog({ fr });
  t.same(catalog.languages, ['en', 'de', 'fr']);
  t.equal(pickLanguage('fr-FR', catalog.languages), 'fr');
  t.equal(translate(catalog, 'fr', 'sign_in_title'), 'fr:Sign in');

  const partial = { fr: { sign_in_title: 'Connexion' } };
  const missing = missingMessageKeys(partial);
  t.equal(missing.length, MESSAGE_KEYS.length - 1);
  t.ok(missing.includes('fr.sign_out'));
  t.throws(() => buildCatalog(partial), /missing/);
  t.same(missingMessageKeys({ de: { sign_in_title: 'x' } }), [], 'shipped languages may override a few keys');
});

t.test('unknown keys are reported with their language', async (t) => {
  const overrides = { de: { sign_in_titel: 'Anmelden', footer_help: 'ok' }, en: { nope: 'x' } };
  t.same(unknownMessageKeys(overrides), ['de.sign_in_titel', 'en.nope']);
  t.same(unknownMessageKeys({ de: { footer_help: 'ok' } }), []);
  t.throws(() => buildCatalog(overrides), /de\.sign_in_titel/);
});

t.test('format fills placeholders for the language', async (t) => {
  const when = new Date(Date.UTC(2026, 2, 12, 14, 5));
  t.equal(format('{days} days', { days: 14 }, 'en'), '14 days');
  t.equal(format('{a} and {b}', { a: 'x' }, 'en'), 'x and {b}', 'unknown placeholders stay');
  t.equal(format('no placeholders', { a: 'x' }, 'en'), 'no placeholders');
  t.match(format('{until}', { until: when }, 'de'), /12\.03\.2026/);
  t.match(format('{until}', { until: when }, 'en'), /Mar 12, 2026/);
  t.match(format('{until}', { until: when }, 'x-klingon'), /2026/, 'a tag Intl does not know falls back');
  t.equal(format('{constructor}', {}, 'en'), '{constructor}', 'only own parameters');
  const catalog = buildCatalog({});
  t.equal(
    translate(catalog, 'de', { key: 'second_factor_remember', params: { days: 30 } }),
    'Auf diesem Browser 30 Tage lang nicht mehr fragen',
  );
  t.equal(translate(catalog, 'en', 'signed_in_as', { user: 'alice' }), 'Signed in as alice');
});

t.test("countKey picks a count text by the language's plural rules", async (t) => {
  const keys = { none: 'none', one: 'one', many: 'many' } as const;
  const cases: [number, string, string][] = [
    [0, 'en', 'none'],
    [1, 'en', 'one'],
    [2, 'en', 'many'],
    [21, 'en', 'many'],
    [1.5, 'en', 'many'],
    [0, 'de', 'none'],
    [1, 'de', 'one'],
    [3, 'de', 'many'],
    // French counts 0 and 1 as "one"; zero still has its own text.
    [0, 'fr', 'none'],
    [1, 'fr', 'one'],
    [2, 'fr', 'many'],
    // Russian: 21 is "one", 11 is not.
    [21, 'ru', 'one'],
    [11, 'ru', 'many'],
    // A tag Intl cannot use keeps the English rules.
    [1, 'x-not-a-language-tag-at-all', 'one'],
    [2, 'x-not-a-language-tag-at-all', 'many'],
  ];
  for (const [count, lang, want] of cases) t.equal(countKey(count, lang, keys), want, `${count} in ${lang}`);
});
