/**
 * @module test/portal/render-fixtures
 * Sample data for every page, shared by the renderer's unit and browser tests: each page
 * in its plain form and in its error or edge variants.
 */

import QRCode from 'qrcode';
import type { PageData, PageName } from '../../src/portal/render.ts';

export const OTPAUTH = 'otpauth://totp/mfa-gateway:alice?secret=JBSWY3DPEHPK3PXP&issuer=mfa-gateway';

const at = (iso: string) => new Date(iso);

/** Named variants per page; the first of each is the plain page. */
export async function samplePages(): Promise<{ [N in PageName]: Record<string, PageData[N]> }> {
  const qrSvgTrusted = await QRCode.toString(OTPAUTH, { type: 'svg', margin: 1 });
  return {
    'sign-in': {
      plain: { csrf: 'c1', rd: 'https://wiki.example.com/start' },
      failed: {
        csrf: 'c1', rd: 'https://wiki.example.com/start', username: 'alice',
        formError: 'sign_in_error_failed', fieldErrors: { password: 'field_required_password' },
      },
      provider: { csrf: 'c1', provider: { name: 'Contoso ID', url: '/.gateway/oidc/start?rd=%2F' } },
      providerOnly: { csrf: 'c1', provider: { name: 'Contoso ID', url: '/.gateway/oidc/start' }, hideLocalForm: true },
    },
    'second-factor': {
      plain: { csrf: 'c2', user: 'alice', rememberDays: 14 },
      error: { csrf: 'c2', rd: '/app', user: 'alice', rememberDays: 14, remember: true, error: 'second_factor_error_invalid' },
      locked: { csrf: 'c2', user: 'alice', lockedUntil: at('2026-03-12T14:05:00Z') },
    },
    enroll: {
      plain: { csrf: 'c3', user: 'alice', qrSvgTrusted, secret: 'JBSWY3DPEHPK3PXP', account: 'alice', issuer: 'mfa-gateway', period: 30 },
      error: {
        csrf: 'c3', user: 'alice', qrSvgTrusted, secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', account: 'alice',
        issuer: 'mfa-gateway', period: 30, error: 'enroll_error_invalid',
      },
    },
    'enroll-refused': {
      plain: { csrf: 'c4', user: 'alice', retryUrl: '/.gateway/enroll' },
    },
    'signed-out': {
      plain: {},
    },
    account: {
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
          { at: at('2026-03-11T07:58:00Z'), result: 'success', ip: '10.20.1.17', client: 'Firefox on Windows' },
          { at: at('2026-03-10T22:14:00Z'), result: 'denied', ip: '203.0.113.50', client: 'Chrome on Android' },
          { at: at('2026-03-10T08:03:00Z'), result: 'success', ip: '2001:db8::42', client: 'Safari on macOS' },
        ],
        notice: 'account_notice_browsers_forgotten',
      },
      empty: { csrf: 'c5', user: { username: 'bob' }, methods: [], rememberedBrowsers: 0, signIns: [] },
    },
    error: {
      plain: { status: 502, requestId: 'req-8f3a2c' },
      detail: { status: 403, detailKey: 'error_form_expired' },
    },
    message: {
      plain: {
        title: 'signed_out_everywhere_title', text: 'signed_out_everywhere_text',
        link: { href: '/.gateway/sign-in', label: 'continue' },
      },
    },
    'fraud-report': {
      plain: { csrf: 'c9', token: 't'.repeat(80), user: 'alice', at: at('2026-03-12T14:05:00Z'), ip: '198.51.100.23', browser: 'Firefox on Windows', autoBlock: true },
      noBlock: { csrf: 'c9', token: 't'.repeat(80), user: 'alice', at: at('2026-03-12T14:05:00Z'), ip: '2001:db8::1', browser: 'Unknown browser', autoBlock: false },
    },
    'method-add': {
      plain: { csrf: 'c10', user: 'alice', qrSvgTrusted, secret: 'JBSWY3DPEHPK3PXP', account: 'alice', issuer: 'mfa-gateway', period: 30, name: 'Authenticator app 2' },
      error: {
        csrf: 'c10', user: 'alice', qrSvgTrusted, secret: 'JBSWY3DPEHPK3PXP', account: 'alice', issuer: 'mfa-gateway', period: 30, name: '',
        error: 'enroll_error_invalid', nameError: 'method_name_invalid',
      },
    },
    'method-verify': {
      plain: { csrf: 'c11', user: 'alice', next: 'add' },
      error: { csrf: 'c11', user: 'alice', next: 'remove:m-1', error: 'second_factor_error_invalid' },
      locked: { csrf: 'c11', user: 'alice', next: 'add', lockedUntil: at('2026-03-12T14:05:00Z') },
    },
    'method-remove': {
      plain: { csrf: 'c12', id: 'm-1', name: 'iPhone', kind: 'totp', last: false },
      last: { csrf: 'c12', id: 'm-2', name: 'Token 4711', kind: 'oath_token', last: true },
    },
  };
}
