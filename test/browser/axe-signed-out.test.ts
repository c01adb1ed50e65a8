// Issue 17: axe-core (WCAG 2.0/2.1 A and AA, and best practices) finds nothing on the pages a
// signed-out browser sees: sign-in (empty, fields missing, wrong password, locked, with a
// rule's explanation, with an identity provider and a passkey, refused by the provider),
// signed out, 404, 502 and 504, and the fraud report pages; in English and German, light and
// dark, at 320 and 390 px and at desktop width. The states are in axe-states.ts.
import t from 'tap';
import { PAGE_NAMES } from '../../src/portal/pages.ts';
import { axeViolations, describeViolations, loadAxe } from '../helpers/axe.ts';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.ts';
import { auditStates, pagesWithoutState } from './axe-states.ts';

const BROKEN_PAGE =
  '<!doctype html><html lang="en"><title>Broken</title><style>.badge { position: relative; display: inline-block } .badge::before { content: ""; ' +
  'position: absolute; width: 40px; height: 40px; background: #000 }</style><main><h1>Broken</h1><input id="nameless">' +
  '<p style="color: #999; background: #fff">Faint text</p><p class="badge">Text on a painted pseudo-element</p></main></html>';

t.test('the audit reports what it finds: the rule, the element and what to fix', { skip: skipWithoutChromium }, async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const context = await browser.newContext();
  await loadAxe(context);
  const page = await context.newPage();
  await page.goto(`data:text/html,${encodeURIComponent(BROKEN_PAGE)}`);
  const violations = await axeViolations(page);
  t.same(violations.map((v) => v.rule).sort(), ['color-contrast', 'color-contrast-undecided', 'label']);
  const text = describeViolations(violations);
  t.match(text, /^label \(critical\): Form elements must have labels\n {2}at #nameless\n {4}Fix any of the following:/m);
  t.match(
    text,
    /color-contrast \(serious\): .*\n {2}at p:nth-child\(3\)\n {4}Fix any of the following:\n {6}Element has insufficient color contrast of 2\.84/,
  );
  t.match(text, /color-contrast-undecided \(serious\): .*\n {2}at \.badge\n.*\n {6}Element's background color could not be determined/);
});

t.test('every page has at least one state in the table', async (t) => {
  t.same(pagesWithoutState(PAGE_NAMES), []);
});

auditStates(t, 'signed-out');
