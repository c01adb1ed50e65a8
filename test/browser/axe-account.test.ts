// Issue 17: axe-core (WCAG 2.0/2.1 A and AA, and best practices) finds nothing on the account
// pages: the account (methods, sessions, remembered browsers, recent sign-ins, security keys,
// a notice), the fresh-code check (and its wrong code and lockout), adding an app (QR code,
// missing name, wrong code, after a recovery code), removing the last method, recovery codes,
// adding a security key, the code page with a key, app passwords, and the notice that a new
// sign-in ended older sessions; in English and German, light and dark, at 320 and 390 px and
// at desktop width. The states are in axe-states.ts.
import t from 'tap';
import { auditStates } from './axe-states.ts';

auditStates(t, 'account');
