/**
 * @module test/portal/render-fixtures
 * Sample data for every page, shared by the renderer's unit and browser tests: each page
 * in its plain form and in its error or edge variants.
 */

import QRCode from 'qrcode';
import type { PageData, PageName } from '../../src/portal/pages.ts';

const OTPAUTH = 'otpauth://totp/mfa-gateway:alice?secret=JBSWY3DPEHPK3PXP&issuer=mfa-gateway';

const at = (iso: string) => new Date(iso);

/** User-Agent headers of three browsers, as the store keeps them. */
const USER_AGENTS = {
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
} as const;

/** Named variants per page; the first of each is the plain page. */
export async function samplePages(): Promise<{ [N in PageName]: Record<string, PageData[N]> }> {
  const qrSvgTrusted = await QRCode.toString(OTPAUTH, { type: 'svg', margin: 1 });
  return {
    'sign-in': {
      plain: { csrf: 'c1', rd: 'https://wiki.example.com/start' },
      failed: {
        csrf: 'c1',
        rd: 'https://wiki.example.com/start',
        username: 'alice',
        formError: 'sign_in_error_failed',
        fieldErrors: { password: 'field_required_password' },
      },
      provider: { csrf: 'c1', provider: { name: 'Contoso ID', url: '/.gateway/oidc/start?rd=%2F' } },
      providerOnly: { csrf: 'c1', provider: { name: 'Contoso ID', url: '/.gateway/oidc/start' }, hideLocalForm: true },
      passkey: { csrf: 'c1', passkey: true },
    },
    'second-factor': {
      plain: { csrf: 'c2', user: 'alice', rememberDays: 14 },
      error: { csrf: 'c2', rd: '/app', user: 'alice', rememberDays: 14, remember: true, error: 'second_factor_error_invalid' },
      locked: { csrf: 'c2', user: 'alice', lockedUntil: at('2026-03-12T14:05:00Z') },
      securityKey: { csrf: 'c2', user: 'alice', rememberDays: 14, securityKey: true },
      stepUp: { csrf: 'c2', user: 'alice', securityKey: true, need: ['webauthn'] },
      stepUpNoKey: { csrf: 'c2', user: 'alice', need: ['webauthn'], addKeyUrl: '/.gateway/account/security-keys/add' },
    },
    'security-key-add': {
      plain: { csrf: 'c9', user: 'alice', name: 'Security key' },
      refused: { csrf: 'c9', user: 'alice', name: 'Blue key', refused: 'security_key_refused_synced' },
    },
    enroll: {
      plain: {
        csrf: 'c3',
        user: 'alice',
        qrSvgTrusted,
        otpUri: OTPAUTH,
        secret: 'JBSWY3DPEHPK3PXP',
        account: 'alice',
        issuer: 'mfa-gateway',
        period: 30,
      },
      error: {
        csrf: 'c3',
        user: 'alice',
        qrSvgTrusted,
        otpUri: OTPAUTH,
        secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        account: 'alice',
        issuer: 'mfa-gateway',
        period: 30,
        error: 'enroll_error_invalid',
      },
    },
    'enroll-refused': {
      plain: { csrf: 'c4', user: 'alice', retryUrl: '/.gateway/enroll' },
      accessPass: {
        csrf: 'c4',
        user: 'alice',
        retryUrl: '/.gateway/enroll',
        accessPassUrl: '/.gateway/enroll/access-pass',
        rd: 'https://app.example.com/',
      },
      wrongPass: { csrf: 'c4', user: 'alice', accessPassUrl: '/.gateway/enroll/access-pass', error: 'enroll_pass_invalid' },
      locked: { csrf: 'c4', user: 'alice', accessPassUrl: '/.gateway/enroll/access-pass', lockedUntil: Date.parse('2026-03-01T08:15:00Z') },
    },
    'sign-out': {
      plain: { csrf: 'c9', user: 'alice' },
    },
    'signed-out': {
      plain: {},
    },
    account: {
      securityKeys: {
        csrf: 'c5',
        user: { username: 'alice' },
        methods: [],
        signIns: [],
        sessions: [],
        securityKeys: [
          { id: 'k1', name: 'Blue key', model: 'YubiKey 5 Series', addedAt: at('2026-01-08T09:12:00Z'), synced: false },
          { id: 'k2', name: 'Laptop', addedAt: at('2026-02-08T09:12:00Z'), lastUsedAt: at('2026-03-11T07:58:00Z'), synced: true },
        ],
        addSecurityKeyUrl: '/.gateway/account/security-keys/add',
      },
      plain: {
        csrf: 'c5',
        user: { username: 'alice', name: 'Alice Wagner', email: 'alice.wagner@example.com' },
        methods: [
          { name: 'iPhone', kind: 'totp', addedAt: at('2026-01-08T09:12:00Z'), lastUsedAt: at('2026-03-11T07:58:00Z') },
          { name: 'Token 4711', kind: 'oath_token', addedAt: at('2026-02-02T13:40:00Z') },
        ],
        maxMethods: 5,
        addMethodUrl: '/.gateway/enroll',
        rememberedBrowsers: 2,
        signIns: [
          {
            at: at('2026-03-11T07:58:00Z'),
            result: 'success',
            ip: '10.20.1.17',
            userAgent: USER_AGENTS.firefoxWindows,
            steps: [
              { detail: 'password ok', ok: true },
              { detail: 'totp code accepted (iPhone); browser remembered for 14 days', ok: true },
            ],
          },
          {
            at: at('2026-03-10T22:14:00Z'),
            result: 'locked',
            ip: '203.0.113.50',
            userAgent: USER_AGENTS.chromeAndroid,
            steps: [{ detail: 'wrong password; locked out until 2026-03-10T22:29:00.000Z', ok: false }],
          },
          {
            at: at('2026-03-10T08:03:00Z'),
            result: 'incomplete',
            ip: '2001:db8::42',
            userAgent: USER_AGENTS.safariMac,
            steps: [
              { detail: 'password ok', ok: true },
              { detail: 'wrong code', ok: false },
            ],
          },
        ],
        sessions: [
          {
            id: 'Q3x',
            startedAt: at('2026-03-11T07:58:00Z'),
            lastSeenAt: at('2026-03-11T09:30:00Z'),
            ip: '10.20.1.17',
            userAgent: USER_AGENTS.firefoxWindows,
            current: true,
          },
          {
            id: 'Z8k',
            startedAt: at('2026-03-10T08:03:00Z'),
            lastSeenAt: at('2026-03-10T17:45:00Z'),
            ip: '2001:db8::42',
            userAgent: USER_AGENTS.safariMac,
            current: false,
          },
        ],
        sessionsLimited: { ended: 2, max: 2 },
        notice: 'account_notice_browsers_forgotten',
      },
      empty: { csrf: 'c5', user: { username: 'bob' }, methods: [], rememberedBrowsers: 0, signIns: [], sessions: [] },
    },
    error: {
      plain: { status: 502, requestId: 'req-8f3a2c' },
      detail: { status: 403, detailKey: 'error_form_expired' },
    },
    message: {
      plain: {
        title: 'signed_out_everywhere_title',
        text: 'signed_out_everywhere_text',
        link: { href: '/.gateway/sign-in', label: 'continue' },
      },
    },
    'fraud-report': {
      plain: {
        csrf: 'c9',
        token: 't'.repeat(80),
        user: 'alice',
        at: at('2026-03-12T14:05:00Z'),
        ip: '198.51.100.23',
        userAgent: USER_AGENTS.firefoxWindows,
        autoBlock: true,
      },
      noBlock: {
        csrf: 'c9',
        token: 't'.repeat(80),
        user: 'alice',
        at: at('2026-03-12T14:05:00Z'),
        ip: '2001:db8::1',
        userAgent: '',
        autoBlock: false,
      },
    },
    'method-add': {
      plain: {
        csrf: 'c10',
        user: 'alice',
        qrSvgTrusted,
        otpUri: OTPAUTH,
        secret: 'JBSWY3DPEHPK3PXP',
        account: 'alice',
        issuer: 'mfa-gateway',
        period: 30,
        name: 'Authenticator app 2',
      },
      error: {
        csrf: 'c10',
        user: 'alice',
        qrSvgTrusted,
        otpUri: OTPAUTH,
        secret: 'JBSWY3DPEHPK3PXP',
        account: 'alice',
        issuer: 'mfa-gateway',
        period: 30,
        name: '',
        error: 'enroll_error_invalid',
        nameError: 'method_name_invalid',
      },
    },
    'method-verify': {
      plain: { csrf: 'c11', user: 'alice', next: 'add' },
      error: { csrf: 'c11', user: 'alice', next: 'remove:m-1', error: 'second_factor_error_invalid' },
      locked: { csrf: 'c11', user: 'alice', next: 'add', lockedUntil: at('2026-03-12T14:05:00Z') },
    },
    'recovery-codes': {
      none: { csrf: 'c13', user: 'alice', total: 0, unused: 0, createdAt: null },
      summary: { csrf: 'c13', user: 'alice', total: 10, unused: 7, createdAt: Date.parse('2026-03-01T08:00:00Z') },
      shown: {
        csrf: 'c13',
        user: 'alice',
        total: 10,
        unused: 10,
        createdAt: Date.parse('2026-03-01T08:00:00Z'),
        codes: ['abcd-efgh-jkmn', 'pqrs-tvwx-yz01', '2345-6789-abcd'],
      },
    },
    'method-remove': {
      plain: { csrf: 'c12', id: 'm-1', name: 'iPhone', kind: 'totp', last: false },
      last: { csrf: 'c12', id: 'm-2', name: 'Token 4711', kind: 'oath_token', last: true },
    },
    'app-passwords': {
      plain: {
        csrf: 'c20',
        max: 20,
        appPasswords: [{ id: 'ap-1', name: 'Mail on the laptop', createdAt: Date.parse('2026-03-01T08:00:00Z'), lastUsedAt: null }],
      },
      created: { csrf: 'c20', max: 20, appPasswords: [], created: { name: 'Thunderbird', password: 'abcd efgh ijkl mnop qrst' } },
      error: { csrf: 'c20', max: 20, appPasswords: [], name: '', nameError: 'app_passwords_name_error' },
      limit: {
        csrf: 'c20',
        max: 1,
        atLimit: true,
        notice: 'app_passwords_revoked',
        appPasswords: [
          { id: 'ap-1', name: 'Mail', createdAt: Date.parse('2026-03-01T08:00:00Z'), lastUsedAt: Date.parse('2026-03-02T08:00:00Z') },
        ],
      },
    },
    'admin-verify': {
      plain: { csrf: 'c21', user: 'alice', rd: '/.gateway/admin' },
      error: { csrf: 'c21', user: 'alice', rd: '/.gateway/admin', error: 'second_factor_error_invalid' },
      locked: { csrf: 'c21', user: 'alice', rd: '/.gateway/admin', lockedUntil: Date.parse('2026-03-12T14:05:00Z') },
    },
    'admin-users': {
      plain: {
        q: '',
        total: 2,
        users: [
          {
            name: 'alice',
            displayName: 'Alice Example',
            email: 'alice@example.com',
            methods: 2,
            state: 'ok',
            lastSignIn: Date.parse('2026-03-12T14:05:00Z'),
          },
          { name: 'bob', methods: 0, state: 'blocked', lastSignIn: null },
        ],
      },
      none: { q: 'zed', total: 0, users: [] },
    },
    'admin-user': {
      plain: {
        csrf: 'c22',
        user: { name: 'bob', displayName: 'Bob Builder', email: 'bob@example.com', groups: ['users'], disabled: false },
        securityKeys: [
          {
            id: 'k1',
            name: 'Blue key',
            model: 'YubiKey 5 Series',
            addedAt: at('2026-01-08T09:12:00Z').getTime(),
            lastUsedAt: null,
            synced: false,
          },
          {
            id: 'k2',
            name: 'Phone',
            model: null,
            addedAt: at('2026-01-09T09:12:00Z').getTime(),
            lastUsedAt: at('2026-03-01T09:12:00Z').getTime(),
            synced: true,
          },
        ],
        isAdmin: false,
        managedElsewhere: false,
        lastSignIn: Date.parse('2026-03-12T14:05:00Z'),
        block: { until: Date.parse('2026-06-10T14:05:00Z'), reason: 'laptop stolen', actor: 'alice' },
        locks: [{ factor: 'password', until: Date.parse('2026-03-12T14:20:00Z') }],
        methods: [
          {
            id: 'm-1',
            name: 'Authenticator app',
            kind: 'totp',
            addedAt: Date.parse('2026-03-01T08:00:00Z'),
            lastUsedAt: null,
            active: true,
          },
          {
            id: 'm-2',
            name: 'Feitian c200 TK-1',
            kind: 'oath_token',
            addedAt: Date.parse('2026-03-01T08:00:00Z'),
            lastUsedAt: null,
            active: false,
            serial: 'TK-1',
          },
        ],
        appPasswords: 1,
        sessions: [
          {
            id: 'sid-one',
            startedAt: Date.UTC(2026, 10, 23, 8),
            lastSeenAt: Date.UTC(2026, 10, 23, 9),
            ip: '192.0.2.10',
            userAgent: USER_AGENTS.firefoxWindows,
          },
        ],
        blockDays: 90,
        recent: [
          {
            id: 7,
            at: Date.parse('2026-03-12T14:05:00Z'),
            user: 'bob',
            kind: 'block',
            outcome: 'success',
            ip: '10.0.0.1',
            detail: 'blocked by alice until 2026-06-10T14:05:00.000Z: laptop stolen',
          },
        ],
        notice: { key: 'admin_done_reset', params: { count: 2 } },
      },
      empty: {
        csrf: 'c22',
        user: { name: 'carol', groups: [], disabled: true },
        isAdmin: true,
        managedElsewhere: true,
        lastSignIn: null,
        block: null,
        locks: [],
        methods: [],
        appPasswords: 0,
        sessions: [],
        blockDays: 90,
        recent: [],
        error: { key: 'admin_activate_wrong' },
      },
    },
    'admin-tokens': {
      plain: { csrf: 'c23', tokens: [{ user: 'bob', serial: 'TK-1', manufacturer: 'Feitian', model: 'c200', active: false, period: 30 }] },
      result: {
        csrf: 'c23',
        tokens: [],
        result: {
          imported: 1,
          unchanged: 0,
          errors: [{ line: 3, upn: 'zed', serial: 'TK-9', error: 'unknown user' }],
          downloadUrl: '/.gateway/admin/tokens/errors?id=x',
        },
      },
      error: { csrf: 'c23', tokens: [], error: { key: 'admin_tokens_empty_upload' } },
    },
    'admin-log': {
      plain: {
        filters: { user: 'bob', since: '24h', outcome: 'denied' },
        entries: [
          {
            id: 9,
            at: Date.parse('2026-03-12T14:05:00Z'),
            user: 'bob',
            kind: 'password',
            outcome: 'denied',
            ip: '2001:db8::1',
            detail: 'wrong password',
          },
        ],
        newerUrl: '/.gateway/admin/log?user=bob',
        olderUrl: '/.gateway/admin/log?user=bob&before=9',
      },
      empty: { filters: { user: '', since: '', outcome: '' }, entries: [] },
    },
  };
}
