// Issue 17: axe-core (WCAG 2.0/2.1 A and AA, and best practices) finds nothing on the steps
// between password and app: the code page (empty, wrong code, wrong recovery code, locked,
// step-up with a rule's explanation, a rule that needs a security key), the 403 pages,
// sign-out, first enrollment refused off the office network (access pass, wrong pass, locked),
// enrollment with its QR code (and a wrong code), the hardware-token-only notice and "signed
// out everywhere"; in English and German, light and dark, at 320 and 390 px and at desktop
// width. The states are in axe-states.ts.
import t from 'tap';
import { auditStates } from './axe-states.ts';

auditStates(t, 'sign-in-steps');
