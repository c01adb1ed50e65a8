// Issue 17: axe-core (WCAG 2.0/2.1 A and AA, and best practices) finds nothing on the pages a
// signed-out browser sees: sign-in (empty, fields missing, wrong password, locked, with a
// rule's explanation, with an identity provider and a passkey, refused by the provider),
// signed out, 404, 502 and 504, and the fraud report pages; in English and German, light and
// dark, at 320 and 390 px and at desktop width. The states are in axe-states.ts.
import t from 'tap';
import { PAGE_NAMES } from '../../src/portal/pages.ts';
import { auditStates, pagesWithoutState } from './axe-states.ts';

t.test('every page has at least one state in the table', async (t) => {
  t.same(pagesWithoutState(PAGE_NAMES), []);
});

auditStates(t, 'signed-out');
