// Guards the access decision: what each policy needs, how far a trusted network or the
// intranet claim lowers it (to the password, never to nothing), and group semantics.
import t from 'tap';
import type { PolicyName } from '../../src/config/types.ts';
import type { Subject } from '../../src/policy/access.ts';
import { authorize, sessionFactors } from '../../src/policy/access.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { decide } from '../../src/policy/decide.ts';
import { parseAddress } from '../../src/client-ip/cidr.ts';

const addr = parseAddress('203.0.113.9')!;

function decisionFor(policy: PolicyName, groups?: string[]) {
  const compiled = compilePolicy([{ paths: ['/app/**'], policy, ...(groups === undefined ? {} : { groups }) }]);
  return decide(compiled, { host: 'h', path: '/app/x', method: 'GET', addr });
}

const noMatch = decide(compilePolicy([]), { host: 'h', path: '/x', method: 'GET', addr });

function subject(level: 1 | 2, extra: Partial<Subject> = {}): Subject {
  return { user: 'bob', groups: ['staff'], level, intranetClaim: false, ...extra };
}

t.test('what each policy needs, by who asks and from where', async (t) => {
  type Row = [PolicyName, 'anon' | 1 | 2, { trusted?: boolean; intranet?: boolean }, string];
  const rows: Row[] = [
    ['deny', 'anon', {}, 'forbidden'],
    ['deny', 2, {}, 'forbidden'],
    ['deny', 2, { trusted: true }, 'forbidden'],
    ['bypass', 'anon', {}, 'allow'],
    ['bypass', 1, {}, 'allow'],
    ['one_factor', 'anon', {}, 'sign_in'],
    ['one_factor', 'anon', { trusted: true }, 'sign_in'],
    ['one_factor', 1, {}, 'allow'],
    ['one_factor', 2, {}, 'allow'],
    ['two_factor', 'anon', {}, 'sign_in'],
    ['two_factor', 1, {}, 'second_factor'],
    ['two_factor', 2, {}, 'allow'],
    // Trusted IPs skip the second factor, never the password.
    ['two_factor', 'anon', { trusted: true }, 'sign_in'],
    ['two_factor', 1, { trusted: true }, 'allow'],
    ['two_factor', 'anon', { intranet: true }, 'sign_in'],
    ['two_factor', 1, { intranet: true }, 'allow'],
    ['two_factor', 1, { trusted: true, intranet: true }, 'allow'],
  ];
  for (const [policy, who, ctx, expected] of rows) {
    const s = who === 'anon' ? null : subject(who, { intranetClaim: ctx.intranet ?? false });
    const access = authorize(decisionFor(policy), s, { trustedNetwork: ctx.trusted ?? false });
    t.equal(access.result, expected, `${policy}, ${who === 'anon' ? 'anonymous' : `level ${who}`}, ${JSON.stringify(ctx)}`);
  }
});

t.test('no matching rule is forbidden whoever asks', async (t) => {
  const access = authorize(noMatch, subject(2), { trustedNetwork: true });
  t.same(access, { result: 'forbidden', reasons: ['no rule matched; the default is deny'] });
});

t.test('groups: anonymous signs in first; outsiders are forbidden once fully signed in', async (t) => {
  const admin = decisionFor('two_factor', ['admins', 'ops']);
  t.equal(authorize(admin, null, { trustedNetwork: false }).result, 'sign_in');
  t.equal(authorize(admin, subject(2, { groups: ['ops'] }), { trustedNetwork: false }).result, 'allow');
  t.equal(authorize(admin, subject(2, { groups: [] }), { trustedNetwork: false }).result, 'forbidden');
  // An outsider holding only the password is asked for the second factor like a member,
  // so a password alone does not reveal group membership.
  t.equal(authorize(admin, subject(1, { groups: [] }), { trustedNetwork: false }).result, 'second_factor');
  t.equal(authorize(admin, subject(1, { groups: ['admins'] }), { trustedNetwork: false }).result, 'second_factor');
  t.equal(
    authorize(admin, subject(1, { groups: [] }), { trustedNetwork: true }).result,
    'forbidden',
    'trusted network: the password is the full level',
  );
  const outsider = authorize(admin, subject(2, { groups: ['staff'] }), { trustedNetwork: false });
  t.equal(outsider.reasons.at(-1), 'user bob is not in any of the groups: admins, ops');

  const oneFactor = decisionFor('one_factor', ['admins']);
  t.equal(authorize(oneFactor, null, { trustedNetwork: false }).result, 'sign_in');
  t.equal(authorize(oneFactor, subject(1, { groups: ['staff'] }), { trustedNetwork: false }).result, 'forbidden');
  t.equal(authorize(oneFactor, subject(1, { groups: ['admins'] }), { trustedNetwork: false }).result, 'allow');
  t.equal(authorize(oneFactor, subject(1, { groups: ['Admins'] }), { trustedNetwork: false }).result, 'forbidden', 'group names are exact');
});

t.test('a bypass rule that names groups fails closed: it still needs a signed-in member', async (t) => {
  const rule = decisionFor('bypass', ['admins']);
  t.equal(authorize(rule, null, { trustedNetwork: true }).result, 'sign_in');
  t.equal(authorize(rule, subject(1, { groups: ['staff'] }), { trustedNetwork: false }).result, 'forbidden');
  t.equal(authorize(rule, subject(1, { groups: ['admins'] }), { trustedNetwork: false }).result, 'allow');
});

t.test('reasons are the sentences explain prints', async (t) => {
  const decision = decisionFor('two_factor');
  t.same(authorize(decision, subject(1), { trustedNetwork: true, ip: '10.1.2.3' }).reasons, [
    'rule 1 (paths /app/**) matched',
    'its policy is two_factor: the password and a second factor are needed',
    'second factor skipped: 10.1.2.3 is in trusted_ips',
    'user bob has signed in with the password',
  ]);
  t.same(authorize(decision, subject(1, { intranetClaim: true }), { trustedNetwork: false }).reasons, [
    'rule 1 (paths /app/**) matched',
    'its policy is two_factor: the password and a second factor are needed',
    'second factor skipped: the identity provider says the user is on the corporate network',
    'user bob has signed in with the password',
  ]);
  t.same(authorize(decision, subject(1), { trustedNetwork: false }).reasons.at(-1), 'user bob has signed in with the password only');
  t.same(
    authorize(decision, subject(2), { trustedNetwork: false }).reasons.at(-1),
    'user bob has signed in with the password and a second factor',
  );
  t.same(authorize(decision, null, { trustedNetwork: true }).reasons.at(-1), 'the user has not signed in');
  t.same(authorize(decisionFor('deny'), null, { trustedNetwork: false }).reasons, ['rule 1 (paths /app/**) matched', 'its policy is deny']);
  t.same(authorize(decisionFor('bypass'), null, { trustedNetwork: false }).reasons, [
    'rule 1 (paths /app/**) matched',
    'its policy is bypass: no sign-in needed',
  ]);
});

// Issue 14: a rule's mfa_methods against how the session did its second factor. The matrix
// in the closing note is this table.
t.test('mfa_methods: the policy matrix of rule methods vs session factors', async (t) => {
  type Ctx = 'none' | 'trusted' | 'intranet';
  type Row = [string[] | null, 'anon' | 1 | string[], Ctx, string, string[]?];
  const rows: Row[] = [
    // rule accepts webauthn only
    [['webauthn'], 'anon', 'none', 'sign_in'],
    [['webauthn'], 1, 'none', 'second_factor', ['webauthn']],
    [['webauthn'], ['totp'], 'none', 'second_factor', ['webauthn']],
    [['webauthn'], ['oath_token'], 'none', 'second_factor', ['webauthn']],
    [['webauthn'], ['remembered_browser'], 'none', 'second_factor', ['webauthn']],
    [['webauthn'], [], 'none', 'second_factor', ['webauthn']], // recovery code, access pass, IdP mfa: no factor it names
    [['webauthn'], ['webauthn'], 'none', 'allow'],
    [['webauthn'], 1, 'trusted', 'second_factor', ['webauthn']],
    [['webauthn'], 1, 'intranet', 'second_factor', ['webauthn']],
    [['webauthn'], ['webauthn'], 'trusted', 'allow'],
    // rule accepts webauthn or totp
    [['webauthn', 'totp'], ['totp'], 'none', 'allow'],
    [['webauthn', 'totp'], ['oath_token'], 'none', 'second_factor', ['webauthn', 'totp']],
    // skips only when listed
    [['webauthn', 'trusted_network'], 1, 'trusted', 'allow'],
    [['webauthn', 'trusted_network'], 1, 'intranet', 'allow'],
    [['webauthn', 'trusted_network'], ['totp'], 'none', 'second_factor', ['webauthn']],
    [['webauthn', 'remembered_browser'], ['remembered_browser'], 'none', 'allow'],
    [['webauthn', 'remembered_browser'], 1, 'trusted', 'second_factor', ['webauthn']],
    // no mfa_methods: any second factor, trusted networks skip (unchanged)
    [null, ['totp'], 'none', 'allow'],
    [null, ['remembered_browser'], 'none', 'allow'],
    [null, 1, 'trusted', 'allow'],
  ];
  for (const [methods, who, ctx, expected, accepts] of rows) {
    const compiled = compilePolicy([
      { paths: ['/app/**'], policy: 'two_factor', ...(methods === null ? {} : { mfa_methods: methods as never }) },
    ]);
    const decision = decide(compiled, { host: 'h', path: '/app/x', method: 'GET', addr });
    const s = who === 'anon' ? null : who === 1 ? subject(1) : subject(2, { factors: who });
    if (s) s.intranetClaim = ctx === 'intranet';
    const access = authorize(decision, s, { trustedNetwork: ctx === 'trusted' });
    const name = `rule ${JSON.stringify(methods)}, session ${JSON.stringify(who)}, ${ctx}`;
    t.equal(access.result, expected, name);
    t.same(access.accepts, accepts, `${name}: accepts`);
  }
});

t.test('session factors come from the amr the portal writes', async (t) => {
  t.same(sessionFactors(['pwd', 'totp']), ['totp']);
  t.same(sessionFactors(['pwd', 'hwk']), ['webauthn']);
  t.same(sessionFactors(['hwk', 'mfa']), ['webauthn'], 'passkey sign-in');
  t.same(sessionFactors(['pwd', 'remembered']), ['remembered_browser']);
  t.same(sessionFactors(['pwd', 'rc']), [], 'a recovery code satisfies no mfa_methods rule');
  t.same(sessionFactors(['pwd', 'tap', 'totp']), ['totp']);
  t.same(sessionFactors(['oidc', 'mfa']), []);
  t.same(sessionFactors(['constructor', 'toString']), [], 'no prototype keys');
});
