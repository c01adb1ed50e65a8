/**
 * @module test/portal/render-fixtures
 * Sample data for every page, shared by the renderer's unit and browser tests: each page
 * in its plain form and in its error or edge variants.
 */

import QRCode from 'qrcode';
import type { PageData, PageName } from '../../src/portal/pages.ts';

const OTPAUTH = 'otpauth://totp/mfa-gateway:alice?secret=JBSWY3DPEHPK3PXP&issuer=mfa-gateway';

const at = (iso: string) => new Date(iso);

/** A rule's explanation and remediation (English and German), as `policy/compile` keeps them. */
const FINANCE_TEXTS = {
  explanation: { en: 'The finance reports are for the finance team <only>.', de: 'Die Finanzberichte sind nur für das Finanzteam.' },
  remediation: { en: 'Ask finance-help@example.com to add you to the finance group.' },
};

/** alice's code methods as the code page lists them: one still named after its kind. */
const METHODS = [
  { id: 'm-1', kind: 'totp', name: 'Phone' },
  { id: 'm-2', kind: 'oath_token', name: 'TK-200' },
  { id: 'm-3', kind: 'totp', name: 'Authenticator app' },
] as const satisfies readonly { id: string; kind: 'totp' | 'oath_token'; name: string }[];

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
      explained: { csrf: 'c1', rd: 'https://app.example.com/finance/q3', rule: FINANCE_TEXTS, ruleKey: 'finance' },
    },
    'second-factor': {
      plain: { csrf: 'c2', user: 'alice', rememberDays: 14 },
      error: { csrf: 'c2', rd: '/app', user: 'alice', rememberDays: 14, remember: true, error: 'second_factor_error_invalid' },
      locked: { csrf: 'c2', user: 'alice', lockedUntil: at('2026-03-12T14:05:00Z') },
      securityKey: { csrf: 'c2', user: 'alice', rememberDays: 14, securityKey: true },
      stepUp: { csrf: 'c2', user: 'alice', securityKey: true, need: ['webauthn'] },
      stepUpNoKey: { csrf: 'c2', user: 'alice', need: ['webauthn'], addKeyUrl: '/.gateway/account/security-keys/add' },
      sessionsLimited: { csrf: 'c2', user: 'alice', rememberDays: 14, sessionsLimited: { ended: 1, max: 3 } },
      named: { csrf: 'c2', rd: 'https://wiki.example.com/start', user: 'alice', rememberDays: 14, methods: METHODS },
      other: {
        csrf: 'c2',
        rd: 'https://wiki.example.com/start',
        user: 'alice',
        methods: METHODS,
        securityKey: true,
        use: 'other',
        lostAll: 'pass',
      },
      otherRecoveryError: {
        csrf: 'c2',
        user: 'alice',
        methods: METHODS,
        use: 'other',
        lostAll: 'reset',
        recoveryError: 'second_factor_recovery_error',
      },
      pinned: { csrf: 'c2', user: 'alice', methods: METHODS, securityKey: true, use: 'm-2', error: 'second_factor_error_invalid' },
      keyOnly: { csrf: 'c2', user: 'alice', methods: METHODS, securityKey: true, use: 'key' },
    },
    'security-key-add': {
      plain: { csrf: 'c9', user: 'alice', name: 'Security key' },
      refused: { csrf: 'c9', user: 'alice', name: 'Blue key', refused: 'security_key_refused_synced' },
      sessionsLimited: { csrf: 'c9', user: 'alice', name: 'Security key', sessionsLimited: { ended: 2, max: 1 } },
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
      explained: {
        csrf: 'c3',
        user: 'bob',
        qrSvgTrusted,
        otpUri: OTPAUTH,
        secret: 'JBSWY3DPEHPK3PXP',
        account: 'bob',
        issuer: 'mfa-gateway',
        period: 30,
        rule: FINANCE_TEXTS,
        ruleKey: 'finance',
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
      sessionsLimited: { csrf: 'c4', user: 'alice', retryUrl: '/.gateway/enroll', sessionsLimited: { ended: 1, max: 1 } },
    },
    'sign-out': {
      plain: { csrf: 'c9', user: 'alice' },
    },
    'signed-out': {
      plain: {},
    },
    'signed-in': {
      plain: { continueUrl: 'https://wiki.example.com/start', sessionsLimited: { ended: 1, max: 1 } },
      many: { continueUrl: 'https://wiki.example.com:8443/a?b=1&c=2', sessionsLimited: { ended: 3, max: 2 } },
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
      signedIn: {
        status: 403,
        requestId: 'req-1b2c3d',
        rule: { explanation: { en: 'The finance reports are for the finance team.' }, remediation: null },
        signOut: { user: 'bob', csrf: 'c12', rd: 'https://wiki.example.com/finance/q3' },
      },
      retry: { status: 504, requestId: 'req-4e5f6a', retryUrl: '/reports?year=2026' },
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
        adminsTold: true,
      },
      noBlock: {
        csrf: 'c9',
        token: 't'.repeat(80),
        user: 'alice',
        at: at('2026-03-12T14:05:00Z'),
        ip: '2001:db8::1',
        userAgent: '',
        autoBlock: false,
        adminsTold: false,
      },
    },
    'fraud-reported': {
      blocked: { blockedUntil: Date.parse('2026-06-10T14:05:00Z'), adminsTold: true, signInUrl: '/.gateway/sign-in' },
      notBlocked: { blockedUntil: null, adminsTold: false, signInUrl: '/.gateway/sign-in' },
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
        appUrl: 'https://wiki.example.com/',
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
      none: { appUrl: 'https://wiki.example.com/', q: 'zed', total: 0, users: [] },
    },
    'admin-user': {
      plain: {
        appUrl: 'https://wiki.example.com/',
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
            rule: null,
            detail: 'blocked by alice until 2026-06-10T14:05:00.000Z: laptop stolen',
          },
        ],
        notice: { key: 'admin_done_reset', params: { count: 2 } },
      },
      empty: {
        appUrl: 'https://wiki.example.com/',
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
    'admin-confirm': {
      plain: {
        appUrl: 'https://wiki.example.com/',
        csrf: 'c24',
        user: 'bob',
        action: 'reset_mfa',
        path: 'reset-mfa',
        fields: {},
        effects: [
          {
            key: 'admin_confirm_reset_methods',
            items: [
              { name: 'Phone', kind: 'totp' },
              { name: 'Feitian c200 TK-1', kind: 'oath_token', inactive: true },
              { name: 'Blue key', kind: 'webauthn', model: 'YubiKey 5 Series' },
            ],
          },
          { key: 'admin_confirm_reset_codes', params: { count: 8 } },
          {
            key: {
              none: 'admin_confirm_sessions_end_none',
              one: 'admin_confirm_sessions_end_one',
              many: 'admin_confirm_sessions_end_many',
            },
            count: 3,
          },
          { key: 'admin_confirm_browsers_forgotten' },
          { key: 'admin_confirm_reset_next' },
        ],
      },
      self: {
        appUrl: 'https://wiki.example.com/',
        csrf: 'c24',
        user: 'alice',
        action: 'block',
        path: 'block',
        fields: { reason: 'leaving <today>', days: '90' },
        effects: [
          { key: 'admin_confirm_block_until', params: { until: at('2026-06-10T14:05:00Z') } },
          {
            key: {
              none: 'admin_confirm_sessions_end_none',
              one: 'admin_confirm_sessions_end_one',
              many: 'admin_confirm_sessions_end_many',
            },
            count: 1,
          },
          { key: 'admin_confirm_block_reason', params: { reason: 'leaving <today>' } },
        ],
        self: 'admin_confirm_self_block',
      },
      makeAdmin: {
        appUrl: 'https://wiki.example.com/',
        csrf: 'c24',
        user: 'bob',
        action: 'make_admin',
        path: 'make-admin',
        fields: {},
        effects: [{ key: 'admin_confirm_make_admin_group', params: { group: 'admins' } }, { key: 'admin_confirm_make_admin_can' }],
      },
      removeKey: {
        appUrl: 'https://wiki.example.com/',
        csrf: 'c24',
        user: 'bob',
        action: 'remove_key',
        path: 'remove-key',
        subject: 'Blue key',
        fields: { id: 'k1' },
        effects: [
          { key: 'admin_confirm_remove_key', items: [{ name: 'Blue key', kind: 'webauthn', model: null }] },
          { key: 'admin_confirm_remove_key_last' },
        ],
      },
    },
    'admin-tokens': {
      plain: {
        appUrl: 'https://wiki.example.com/',
        csrf: 'c23',
        tokens: [{ user: 'bob', serial: 'TK-1', manufacturer: 'Feitian', model: 'c200', active: false, period: 30 }],
      },
      result: {
        appUrl: 'https://wiki.example.com/',
        csrf: 'c23',
        tokens: [],
        result: {
          imported: 1,
          unchanged: 0,
          errors: [{ line: 3, upn: 'zed', serial: 'TK-9', error: 'unknown user' }],
          downloadUrl: '/.gateway/admin/tokens/errors?id=x',
        },
      },
      error: { appUrl: 'https://wiki.example.com/', csrf: 'c23', tokens: [], error: { key: 'admin_tokens_empty_upload' } },
    },
    'admin-log': {
      plain: {
        appUrl: 'https://wiki.example.com/',
        filters: { user: 'bob', kind: '', since: '24h', outcome: 'denied' },
        entries: [
          {
            id: 9,
            at: Date.parse('2026-03-12T14:05:00Z'),
            user: 'bob',
            kind: 'password',
            outcome: 'denied',
            ip: '2001:db8::1',
            rule: null,
            detail: 'wrong password',
          },
        ],
      },
      reportOnly: {
        appUrl: 'https://wiki.example.com/',
        filters: { user: '', kind: 'report_only', since: '', outcome: '' },
        entries: [
          {
            id: 12,
            at: Date.parse('2026-03-12T14:06:02Z'),
            user: '',
            kind: 'report_only',
            outcome: 'would_require_sign_in',
            ip: '192.0.2.4',
            rule: 'mfa-reports',
            detail: '1 request in the minute from 2026-03-12 14:05Z, to /reports/q1',
          },
          {
            id: 11,
            at: Date.parse('2026-03-12T14:06:02Z'),
            user: 'alice',
            kind: 'report_only',
            outcome: 'would_require_second_factor',
            ip: '192.0.2.1',
            rule: 'mfa-reports',
            detail: '3 requests in the minute from 2026-03-12 14:05Z, 2 paths, most to /reports/q1',
          },
        ],
        newerUrl: '/.gateway/admin/log?user=bob',
        olderUrl: '/.gateway/admin/log?user=bob&before=9',
      },
      empty: { appUrl: 'https://wiki.example.com/', filters: { user: '', kind: '', since: '', outcome: '' }, entries: [] },
    },
  };
}
