// Issue 17: axe-core (WCAG 2.0/2.1 A and AA, and best practices) finds nothing on the admin
// pages: the fresh-code check (and its wrong code and lockout), users (and no match), a user
// (sessions, a missing reason, blocked, an access pass issued, a token to activate, a security
// key and app passwords), hardware tokens (nothing uploaded, an import with errors) and the
// sign-in log (and no match); in English and German, light and dark, at 320 and 390 px and at
// desktop width. The states are in axe-states.ts.
import t from 'tap';
import { auditStates } from './axe-states.ts';

auditStates(t, 'admin');
