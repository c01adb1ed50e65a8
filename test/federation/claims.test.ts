// The pure mapping from verified ID token claims to a federated identity.
import t from 'tap';
import { intranetClaimMatches, mapClaims } from '../../src/federation/claims.ts';

const INTRANET = 'http://schemas.microsoft.com/ws/2012/01/insidecorporatenetwork';
const settings = {
  claims: { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' },
  intranet_claim: { name: INTRANET, value: true as string | boolean },
};
const base = { iss: 'https://idp.example', sub: 's-1', preferred_username: 'carol' };

t.test('maps the configured claims', async (t) => {
  const r = mapClaims(
    {
      ...base,
      email: 'carol@corp.example',
      name: ' Carol ',
      groups: ['staff', 'staff', 'a,b', '', 7, 'Domain Admins'],
      amr: ['pwd', 'mfa'],
    },
    settings,
  );
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.identity.groups, ['staff', 'Domain Admins'], 'duplicates and names unfit for Remote-Groups dropped');
  t.same(r.identity.dropped, ['a,b', '', '7']);
  t.equal(r.identity.displayName, 'Carol');
  t.equal(r.identity.email, 'carol@corp.example');
  t.equal(r.identity.amrMfa, true);
  t.equal(r.identity.intranet, false);
});

t.test('other claim names, a single group string, a bad e-mail', async (t) => {
  const r = mapClaims(
    { ...base, upn: 'carol@corp.example', mail: 'not an address', groups: 'staff' },
    { ...settings, claims: { username: 'upn', email: 'mail', name: 'name', groups: 'groups' } },
  );
  t.ok(r.ok && r.identity.username === 'carol@corp.example' && r.identity.email === null && r.identity.groups[0] === 'staff');
});

t.test('refuses tokens without a usable user name', async (t) => {
  t.match(mapClaims({ iss: 'x', sub: 'y' }, settings), { ok: false, reason: /no preferred_username claim/ });
  t.match(mapClaims({ ...base, preferred_username: 'carol smith' }, settings), { ok: false, reason: /not a valid user name/ });
  t.match(mapClaims({ ...base, preferred_username: 'a\nRemote-User: root' }, settings), { ok: false });
  t.match(mapClaims({ preferred_username: 'carol' }, settings), { ok: false, reason: /no iss or sub/ });
});

t.test('the intranet claim value', async (t) => {
  t.equal(intranetClaimMatches(true, true), true);
  t.equal(intranetClaimMatches('true', true), true, 'AD FS sends the string');
  t.equal(intranetClaimMatches('TRUE', true), true);
  t.equal(intranetClaimMatches(false, true), false);
  t.equal(intranetClaimMatches('false', true), false);
  t.equal(intranetClaimMatches(undefined, true), false);
  t.equal(intranetClaimMatches(1, true), false);
  t.equal(intranetClaimMatches(['x', 'true'], true), true, 'a list counts when one element does');
  t.equal(intranetClaimMatches('inside', 'inside'), true);
  t.equal(intranetClaimMatches('Inside', 'inside'), false, 'configured strings match exactly');
  t.equal(intranetClaimMatches(true, 'true'), false);
  t.equal(intranetClaimMatches(false, false), true);
  t.equal(
    mapClaims({ ...base, [INTRANET]: 'true' }, settings).ok &&
      (mapClaims({ ...base, [INTRANET]: 'true' }, settings) as { identity: { intranet: boolean } }).identity.intranet,
    true,
  );
});
