// Issue 14 over HTTP, with the software authenticator standing in for the browser: the
// WebAuthn endpoints refuse what they must (no session, a forged CSRF token, passkey sign-in
// off), only pages with a key load the script and allow it in their CSP, a first passkey is
// enrolled with a temporary access pass (and refused outside without one), and a step up
// from a code session to a key reaches a webauthn-only rule.
import t from 'tap';
import type { Test } from 'tap';
import { issueAccessPass } from '../../src/factors/fallback/index.ts';
import {
  Browser,
  field,
  pathOf,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
} from '../helpers/gateway.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';

const OUTSIDE = '127.0.0.1';
const ORIGIN = 'http://gateway.test';
const context = { clientIp: 'local', userAgent: 'test', rule: null };

async function gateway(t: Test, extra: Record<string, unknown> = {}) {
  return startTestGateway(t, await startUpstream(t), {
    mfa: { methods: ['totp', 'webauthn'], webauthn: { passwordless: false }, ...extra },
    rules: [
      { paths: ['/payroll/**'], mfa_methods: ['webauthn'], policy: 'two_factor' },
      { paths: ['/**'], policy: 'two_factor' },
    ],
  });
}

/** Registers `key` through the portal as the WebAuthn script does; returns the final reply. */
async function register(b: Browser, key: SoftAuthenticator, name = 'Blue key') {
  const page = await b.get('/.gateway/account/security-keys/add');
  if (page.status !== 200) return page;
  const csrf = field(page.body, 'csrf');
  const options = await b.post('/.gateway/webauthn/options', { purpose: 'register', csrf });
  const { challenge } = JSON.parse(options.body) as { challenge: string };
  return b.post('/.gateway/account/security-keys/add', { name, csrf, credential: JSON.stringify(key.register(challenge)) });
}

async function useKey(b: Browser, key: SoftAuthenticator, path: string) {
  const page = await b.get(path);
  const csrf = field(page.body, 'csrf');
  const options = await b.post('/.gateway/webauthn/options', { purpose: 'authenticate', csrf });
  const { challenge } = JSON.parse(options.body) as { challenge: string };
  const need = /name="need" value="([^"]+)"/.exec(page.body)?.[1];
  return b.post('/.gateway/second-factor', { csrf, credential: JSON.stringify(key.assert(challenge)), ...(need ? { need } : {}) });
}

t.test('the options endpoint refuses without a session, with a forged token, and passkey sign-in when it is off', async (t) => {
  const gw = await gateway(t);
  const anon = new Browser(gw.port);
  t.equal((await anon.post('/.gateway/webauthn/options', { purpose: 'authenticate', csrf: 'x' })).status, 403);
  t.equal((await anon.post('/.gateway/webauthn/options', { purpose: 'passwordless', csrf: 'x' })).status, 404, 'passwordless off');
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.post('/.gateway/webauthn/options', { purpose: 'register', csrf: 'q'.repeat(43) })).status, 403, 'forged token');
  const account = await bob.get('/.gateway/account');
  t.equal((await bob.post('/.gateway/webauthn/options', { purpose: 'steal', csrf: field(account.body, 'csrf') })).status, 400);
  const signIn = await anon.get('/.gateway/sign-in');
  t.notMatch(signIn.headers['content-security-policy'], /script-src/, 'no script on the sign-in page when passkey sign-in is off');
  t.notMatch(signIn.body, /<script/);
});

t.test('a key registered over HTTP: the code page loads the script, the key signs in, a code session steps up to it', async (t) => {
  const gw = await gateway(t);
  const bob = new Browser(gw.port);
  const secret = await signInWithEnrollment(bob, gw, 'bob');
  const key = new SoftAuthenticator({ rpId: 'gateway.test', origin: ORIGIN });
  const done = await register(bob, key);
  t.equal(done.status, 303, done.body.slice(0, 300));
  t.equal(pathOf(done.headers.location), '/.gateway/account?done=security_key_added');
  const foreign = new SoftAuthenticator({ rpId: 'gateway.test', origin: 'http://evil.test' });
  const refused = await register(bob, foreign, 'Evil');
  t.equal(refused.status, 400, 'another origin is refused with the page');
  t.match(refused.body, 'was not registered');

  // A code session meets the webauthn-only rule: step up.
  gw.clock.now += 60_000;
  const again = new Browser(gw.port);
  await signInPassword(again, 'bob');
  const codePage = await again.get('/.gateway/second-factor');
  t.match(codePage.headers['content-security-policy'], /script-src 'self'; connect-src 'self'/);
  t.match(codePage.body, /<script src="\/\.gateway\/static\/webauthn\.js\?v=[0-9a-f]+" defer><\/script>/);
  const coded = await again.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(codePage.body, 'csrf') });
  t.equal(coded.status, 303);
  const payroll = await again.get('/payroll/run');
  t.equal(payroll.status, 302);
  t.match(payroll.headers.location, /\/\.gateway\/second-factor\?rd=.*&need=webauthn$/, 'step up with the accepted kinds');
  t.equal((await again.get('/other')).status, 200, 'other rules are satisfied by the code');
  const stepped = await useKey(again, key, pathOf(payroll.headers.location));
  t.equal(stepped.status, 303);
  t.equal((await again.get('/payroll/run')).status, 200, 'the key satisfies the rule');
  t.equal((await again.get('/other')).status, 200);
});

t.test('a first passkey with a temporary access pass; refused outside without one', async (t) => {
  const gw = await gateway(t, { first_enrollment: undefined });
  const bob = new Browser(gw.port, {}, OUTSIDE);
  await signInPassword(bob, 'bob');
  const key = new SoftAuthenticator({ rpId: 'gateway.test', origin: ORIGIN });
  const refused = await bob.get('/.gateway/account/security-keys/add');
  t.equal(refused.status, 302);
  t.match(pathOf(refused.headers.location), /^\/\.gateway\/enroll/, 'outside without a pass: the enrollment refusal');
  const { pass } = await issueAccessPass({ store: gw.store, clock: () => gw.clock.now }, 'bob', {
    validMs: 3_600_000,
    uses: 1,
    actor: 'root',
    context,
  });
  const page = await bob.get('/.gateway/enroll');
  t.equal((await bob.post('/.gateway/enroll/access-pass', { pass, csrf: field(page.body, 'csrf') })).status, 303);
  const done = await register(bob, key, 'Laptop');
  t.equal(done.status, 303);
  t.match(await gw.store.listCredentials('bob'), [{ label: 'Laptop' }]);
  t.equal((await bob.get('/payroll/run')).status, 200, 'the first key is the session second factor');
});

t.test('mfa.methods [webauthn] only: first enrollment leads to registering a key, and the key signs in', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { methods: ['webauthn'] } });
  const bob = new Browser(gw.port);
  const signed = await signInPassword(bob, 'bob');
  t.match(pathOf(signed.headers.location), /^\/\.gateway\/enroll/);
  const enroll = await bob.get(pathOf(signed.headers.location));
  t.equal(enroll.status, 302);
  t.equal(pathOf(enroll.headers.location), '/.gateway/account/security-keys/add');
  const key = new SoftAuthenticator({ rpId: 'gateway.test', origin: ORIGIN });
  t.equal((await register(bob, key, 'Only key')).status, 303);
  t.equal((await bob.get('/app')).status, 200);
  const again = new Browser(gw.port);
  await signInPassword(again, 'bob');
  t.equal((await useKey(again, key, '/.gateway/second-factor')).status, 303);
  t.equal((await again.get('/app')).status, 200, 'signed in with the key as the second factor');
});
