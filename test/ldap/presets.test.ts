// The pure half of the directory: the Active Directory and OpenLDAP presets' filters, RFC 4515
// escaping (a corpus of injection shapes), userAccountControl and pwdLastSet, the data codes of
// AD's bind errors, and group names read from DNs.
import t from 'tap';
import { Filter } from 'ldapts';
import {
  accountState,
  bindFailure,
  escapeFilterValue,
  fillFilter,
  groupNameFromDn,
  isPlausibleName,
  settingsOf,
} from '../../src/factors/ldap/presets.ts';
import type { LdapConfig } from '../../src/config/types.ts';

const base: LdapConfig = {
  url: 'ldaps://dc1.example.com',
  start_tls: false,
  tls: { min_version: 'TLSv1.2' },
  base_dn: 'dc=example,dc=com',
  implementation: 'activedirectory',
  group_search: 'filter',
  timeout: '5s',
  pool_size: 4,
  cache_ttl: '5m',
  outage_grace: '1h',
};

t.test('Active Directory preset: people by sAMAccountName, nested groups by the in-chain rule', async (t) => {
  const s = settingsOf(base);
  t.equal(s.usernameAttribute, 'sAMAccountName');
  t.equal(fillFilter(s.userFilter, { username: 'jdoe' }), '(&(objectCategory=person)(objectClass=user)(sAMAccountName=jdoe))');
  t.equal(
    fillFilter(s.groupFilter, { dn: 'CN=John Doe (IT),OU=Users,DC=example,DC=com' }),
    '(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=CN=John Doe \\28IT\\29,OU=Users,DC=example,DC=com))',
    'LDAP_MATCHING_RULE_IN_CHAIN, the DN escaped',
  );
  t.equal(s.groupBaseDn, 'dc=example,dc=com', 'groups under base_dn by default');
  t.equal(settingsOf({ ...base, group_base_dn: 'ou=Groups,dc=example,dc=com' }).groupBaseDn, 'ou=Groups,dc=example,dc=com');
});

t.test('OpenLDAP preset and overrides', async (t) => {
  const s = settingsOf({ ...base, implementation: 'openldap' });
  t.equal(fillFilter(s.userFilter, { username: 'alice' }), '(&(objectClass=inetOrgPerson)(uid=alice))');
  t.equal(
    fillFilter(s.groupFilter, { dn: 'uid=alice,ou=people,dc=example,dc=com' }),
    '(&(objectClass=groupOfNames)(member=uid=alice,ou=people,dc=example,dc=com))',
  );
  const mail = settingsOf({ ...base, implementation: 'openldap', username_attribute: 'mail' });
  t.equal(
    fillFilter(mail.userFilter, { username: 'a@example.com' }),
    '(&(objectClass=inetOrgPerson)(mail=a@example.com))',
    'the preset follows username_attribute',
  );
  t.equal(settingsOf({ ...base, group_search: 'memberof' }).groups, 'memberOf');
});

// Each value must come out of the filter parser as one equality assertion with exactly that value.
const INJECTION = [
  '*',
  ')(uid=*',
  '*)(uid=*',
  'admin)(|(uid=*',
  'admin)(&',
  '\\',
  '\\2a',
  'a\\00b',
  'a\u0000b',
  '(',
  ')',
  '()',
  'x)(objectClass=*',
  'Zoë',
  '日本',
  'ａdmin',
  'tab\there',
  'del\u007f',
  'a'.repeat(300),
];

t.test('RFC 4515 escaping: no name can change the filter', async (t) => {
  for (const name of INJECTION) {
    const escaped = escapeFilterValue(name);
    t.notMatch(escaped, /[()*\u0000-\u001f\u007f]|\\(?![0-9a-f]{2})/, `${JSON.stringify(name.slice(0, 30))}: no live syntax left`);
    const unescaped = escaped.replace(/\\([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    t.equal(unescaped, name, 'decoding the escapes gives the name back exactly');
  }
  t.equal(escapeFilterValue('a*b(c)d\\e\u0000'), 'a\\2ab\\28c\\29d\\5ce\\00');
  t.equal(Filter.escape('a*b(c)d\\e'), escapeFilterValue('a*b(c)d\\e'), "the same as ldapts' own escape for the RFC's five characters");
});

t.test('names worth asking the directory about', async (t) => {
  t.ok(isPlausibleName('alice'));
  t.ok(isPlausibleName('Zoë'));
  t.notOk(isPlausibleName(''));
  t.notOk(isPlausibleName('a'.repeat(257)));
  t.notOk(isPlausibleName('a\u0000'));
  t.notOk(isPlausibleName('a\nb'));
});

t.test('userAccountControl and pwdLastSet (Active Directory)', async (t) => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ userAccountControl: '512' }, 'ok', 'NORMAL_ACCOUNT'],
    [{ userAccountControl: '514' }, 'disabled', 'NORMAL_ACCOUNT | ACCOUNTDISABLE'],
    [{ userAccountControl: '66050' }, 'disabled', 'DONT_EXPIRE_PASSWORD | NORMAL_ACCOUNT | ACCOUNTDISABLE'],
    [{ userAccountControl: '66048' }, 'ok', 'DONT_EXPIRE_PASSWORD | NORMAL_ACCOUNT'],
    [{ useraccountcontrol: ['2'] }, 'disabled', 'attribute names in any case, values as lists'],
    [{ userAccountControl: '544' }, 'ok', 'PASSWD_NOTREQD is not disabled'],
    [{ userAccountControl: '512', pwdLastSet: '0' }, 'must_change_password', 'pwdLastSet 0: must change at next logon'],
    [{ userAccountControl: '512', pwdLastSet: '133000000000000000' }, 'ok', 'a real pwdLastSet'],
    [{ userAccountControl: '514', pwdLastSet: '0' }, 'disabled', 'disabled wins'],
    [{}, 'ok', 'no flags read'],
  ];
  for (const [entry, want, why] of cases) t.equal(accountState('activedirectory', entry), want, why);
  t.equal(accountState('openldap', { pwdAccountLockedTime: '000001010000Z' }), 'disabled');
  t.equal(accountState('openldap', { pwdReset: 'TRUE' }), 'must_change_password');
  t.equal(accountState('openldap', { userAccountControl: '514' }), 'ok', 'AD flags mean nothing on OpenLDAP');
});

t.test("Active Directory's bind errors: expired and must-change passwords get a clear message", async (t) => {
  const msg = (code: string) => `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data ${code}, v4563\u0000`;
  t.equal(bindFailure(msg('52e')), 'wrong_password');
  t.equal(bindFailure(msg('525')), 'wrong_password', 'user not found is a wrong password');
  t.equal(bindFailure(msg('532')), 'password_expired');
  t.equal(bindFailure(msg('773')), 'must_change_password');
  t.equal(bindFailure(msg('701')), 'account_expired');
  t.equal(bindFailure(msg('533')), 'disabled');
  t.equal(bindFailure(msg('775')), 'locked');
  t.equal(bindFailure('Invalid credentials'), 'wrong_password', 'OpenLDAP');
  t.equal(bindFailure('data 5320'), 'wrong_password', 'only whole codes');
});

t.test('group names from DNs (memberOf)', async (t) => {
  t.equal(groupNameFromDn('CN=Domain Admins,CN=Users,DC=example,DC=com', 'cn'), 'Domain Admins');
  t.equal(groupNameFromDn('cn=a\\,b,ou=groups,dc=x', 'cn'), 'a,b');
  t.equal(groupNameFromDn('ou=staff,dc=x', 'cn'), undefined);
});
