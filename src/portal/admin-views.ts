/**
 * @module portal/admin-views
 * The app-password page and the admin pages, each declared once ({@link definePage}): its
 * data and its builder. Handlers pass message keys, times and plain values; the builders
 * translate and format.
 */
import type { MethodKind } from '../config/types.ts';
import type { MessageParams, MessageRef } from './i18n.ts';
import { definePage, pageView, withError, type CodeForm, type ViewKit } from './page.ts';
import { describeUserAgent } from '../audit/user-agent.ts';
import { detailText, kindText } from './log-details.ts';

/** `app-passwords`: POST `{prefix}account/app-passwords` (`name`, `csrf`) and `.../revoke` (`id`, `csrf`). */
export interface AppPasswordsPage {
  csrf: string;
  appPasswords: readonly { id: string; name: string; createdAt: number; lastUsedAt: number | null }[];
  max: number;
  /** A new app password, shown this once. */
  created?: { name: string; password: string };
  notice?: MessageRef;
  /** The name field on retry, and its error. */
  name?: string;
  nameError?: MessageRef;
  /** The form is replaced by this note at the limit. */
  atLimit?: boolean;
}

/** `admin-verify`: a fresh second factor for the admin pages; POST `{prefix}admin/verify` (`code`, `rd`, `csrf`). */
export interface AdminVerifyPage extends CodeForm {
  rd: string;
  lockedUntil?: number;
}

export type AdminUserState = 'ok' | 'blocked' | 'locked' | 'disabled';

/** `admin-users`: GET `{prefix}admin?q=`. */
export interface AdminUsersPage {
  q: string;
  users: readonly {
    name: string;
    displayName?: string;
    email?: string;
    methods: number;
    state: AdminUserState;
    lastSignIn: number | null;
  }[];
  total: number;
}

export interface AdminLogEntry {
  id: number;
  at: number;
  user: string;
  kind: string;
  outcome: 'success' | 'denied';
  ip: string;
  detail: string;
}

/** `admin-user`: GET `{prefix}admin/user?name=`; every form posts `user` and `csrf` to `{prefix}admin/user/<action>`. */
export interface AdminUserPage {
  csrf: string;
  user: { name: string; displayName?: string; email?: string; groups: readonly string[]; disabled: boolean };
  isAdmin: boolean;
  /** Not in the users file: name, e-mail and groups come from the directory or the identity provider (read-only here). */
  managedElsewhere: boolean;
  lastSignIn: number | null;
  block: { until: number; reason: string; actor: string } | null;
  locks: readonly { factor: 'password' | 'second_factor'; until: number }[];
  methods: readonly {
    id: string;
    name: string;
    kind: MethodKind;
    addedAt: number;
    lastUsedAt: number | null;
    active: boolean;
    serial?: string;
  }[];
  /** Security keys and passkeys: name, model (from the AAGUID, where known), added, last used, backup state. */
  securityKeys?: readonly { id: string; name: string; model: string | null; addedAt: number; lastUsedAt: number | null; synced: boolean }[];
  appPasswords: number;
  /**
   * The user's live sessions (session index), oldest first, each with its last User-Agent header (described in the page's
   * language); POST `{prefix}admin/user/end-session` with `user`, `id`, `csrf` ends one.
   */
  sessions: readonly { id: string; startedAt: number; lastSeenAt: number; ip: string; userAgent: string }[];
  blockDays: number;
  recent: readonly AdminLogEntry[];
  notice?: { key: MessageRef; params?: MessageParams };
  error?: { key: MessageRef; params?: MessageParams };
  /** The user's temporary access pass as stored (no pass), or null. */
  accessPass?: { expiresAt: number; uses: number; usesLeft: number; actor: string } | null;
  /** A pass just issued: shown on this response only. POST `{prefix}admin/user/access-pass` with `user`, `hours`, `uses`, `csrf`. */
  issuedPass?: { pass: string; expiresAt: number; uses: number };
}

/** `admin-tokens`: GET `{prefix}admin/tokens`; POST `{prefix}admin/tokens/import` (multipart `file` or `csv`, `csrf`). */
export interface AdminTokensPage {
  csrf: string;
  tokens: readonly { user: string; serial: string; manufacturer: string; model: string; active: boolean; period: number }[];
  result?: {
    imported: number;
    unchanged: number;
    errors: readonly { line: number; upn: string; serial: string; error: string }[];
    downloadUrl?: string;
  };
  error?: { key: MessageRef; params?: MessageParams };
}

/** `admin-log`: GET `{prefix}admin/log?user=&since=&outcome=&before=`. */
export interface AdminLogPage {
  filters: { user: string; since: string; outcome: string };
  entries: readonly AdminLogEntry[];
  newerUrl?: string;
  olderUrl?: string;
}

/** Query strings built here, so templates only print finished URLs. */
const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  return q ? `?${q}` : '';
};

const admin = (v: ViewKit, path: string) => `${v.prefix}admin${path}`;
const nav = (v: ViewKit, lang: string, current: 'users' | 'tokens' | 'log') => ({
  label: v.tr(lang, 'admin_nav_label'),
  items: [
    { href: admin(v, ''), text: v.tr(lang, 'admin_nav_users'), current: current === 'users' },
    { href: admin(v, '/tokens'), text: v.tr(lang, 'admin_nav_tokens'), current: current === 'tokens' },
    { href: admin(v, '/log'), text: v.tr(lang, 'admin_nav_log'), current: current === 'log' },
  ],
});
/** Log entries as people read them: the event and its detail in the page's language, without the ids kept for operators. */
const logRows = (v: ViewKit, lang: string, entries: readonly AdminLogEntry[]) =>
  entries.map((e) => ({
    at: v.date(e.at, lang),
    user: e.user,
    userUrl: admin(v, `/user${query({ name: e.user })}`),
    kind: kindText(e.kind, lang, v.tr),
    ok: e.outcome === 'success',
    outcome: v.tr(lang, e.outcome === 'success' ? 'admin_outcome_success' : 'admin_outcome_denied'),
    ip: e.ip,
    detail: detailText(e.detail, lang, v.tr),
  }));
const stateText = (v: ViewKit, lang: string, s: AdminUserState) => v.tr(lang, `admin_state_${s}`);

export const appPasswordsPage = definePage({
  name: 'app-passwords',
  build(lang, d: AppPasswordsPage, v) {
    const nameError = d.nameError && v.tr(lang, d.nameError);
    const page = pageView(
      v.tr(lang, 'app_passwords_title'),
      { count: d.appPasswords.length, max: d.max, name: d.created?.name ?? '' },
      {
        csrf: d.csrf,
        action: `${v.prefix}account/app-passwords`,
        revokeAction: `${v.prefix}account/app-passwords/revoke`,
        accountUrl: `${v.prefix}account`,
        created: d.created && { password: d.created.password },
        notice: d.notice && v.tr(lang, d.notice),
        name: d.name ?? '',
        nameError,
        nameDescribedBy: d.nameError ? 'name-hint name-error' : 'name-hint',
        atLimit: Boolean(d.atLimit),
        items: d.appPasswords.map((p) => ({
          id: p.id,
          name: p.name,
          created: v.date(p.createdAt, lang),
          lastUsed: p.lastUsedAt === null ? v.tr(lang, 'app_passwords_never') : v.date(p.lastUsedAt, lang),
          revokeLabel: v.tr(lang, 'app_passwords_revoke_label', { name: p.name }),
        })),
        any: d.appPasswords.length > 0,
      },
      'medium',
    );
    return withError(page, nameError);
  },
});

export const adminVerifyPage = definePage({
  name: 'admin-verify',
  build(lang, d: AdminVerifyPage, v) {
    const error = d.error && v.tr(lang, d.error);
    const page = pageView(
      v.tr(lang, 'admin_verify_title'),
      { user: d.user, until: d.lockedUntil === undefined ? '' : v.date(d.lockedUntil, lang) },
      {
        csrf: d.csrf,
        rd: d.rd,
        action: admin(v, '/verify'),
        locked: d.lockedUntil !== undefined,
        error,
        codeDescribedBy: error ? 'code-hint code-error' : 'code-hint',
      },
    );
    return withError(page, error);
  },
});

export const adminUsersPage = definePage({
  name: 'admin-users',
  build(lang, d: AdminUsersPage, v) {
    return pageView(
      v.tr(lang, 'admin_users_title'),
      { shown: d.users.length, count: d.total, q: d.q },
      {
        nav: nav(v, lang, 'users'),
        action: admin(v, ''),
        q: d.q,
        users: d.users.map((u) => ({
          name: u.name,
          url: admin(v, `/user${query({ name: u.name })}`),
          displayName: u.displayName ?? '',
          email: u.email ?? '',
          methods: u.methods,
          ok: u.state === 'ok',
          state: stateText(v, lang, u.state),
          lastSignIn: u.lastSignIn === null ? v.tr(lang, 'admin_never') : v.date(u.lastSignIn, lang),
        })),
        any: d.users.length > 0,
      },
      'wide',
    );
  },
});

export const adminUserPage = definePage({
  name: 'admin-user',
  build(lang, d: AdminUserPage, v) {
    const u = d.user;
    const name = encodeURIComponent(u.name);
    const page = pageView(
      v.tr(lang, 'admin_user_title', { user: u.name }),
      {
        user: u.name,
        count: d.appPasswords,
        until: d.block ? v.date(d.block.until, lang) : '',
        actor: d.block?.actor ?? '',
        reason: d.block?.reason ?? '',
      },
      {
        nav: nav(v, lang, 'users'),
        csrf: d.csrf,
        name: u.name,
        userName: u.name,
        backUrl: admin(v, ''),
        blockAction: admin(v, '/user/block'),
        unblockAction: admin(v, '/user/unblock'),
        resetAction: admin(v, '/user/reset-mfa'),
        revokeAction: admin(v, '/user/revoke'),
        endSessionAction: admin(v, '/user/end-session'),
        sessions: d.sessions.map((x) => ({
          id: x.id,
          started: v.date(x.startedAt, lang),
          seen: v.date(x.lastSeenAt, lang),
          ip: x.ip,
          client: describeUserAgent(x.userAgent, v.tr(lang, 'browser_on_system')),
          endLabel: v.tr(lang, 'account_sessions_end_label', { started: v.date(x.startedAt, lang) }),
        })),
        hasSessions: d.sessions.length > 0,
        appPasswordsAction: admin(v, '/user/revoke-app-passwords'),
        makeAdminAction: admin(v, '/user/make-admin'),
        activateAction: admin(v, '/user/activate-token'),
        accessPassAction: admin(v, '/user/access-pass'),
        revokePassAction: admin(v, '/user/revoke-access-pass'),
        hasPass: Boolean(d.accessPass),
        issuedPass: d.issuedPass && {
          pass: d.issuedPass.pass,
          text: v.tr(lang, 'admin_pass_issued', { user: u.name, until: v.date(d.issuedPass.expiresAt, lang), uses: d.issuedPass.uses }),
        },
        passStatus: d.accessPass
          ? v.tr(lang, 'admin_pass_current', {
              until: v.date(d.accessPass.expiresAt, lang),
              left: d.accessPass.usesLeft,
              uses: d.accessPass.uses,
              actor: d.accessPass.actor,
            })
          : v.tr(lang, 'admin_pass_none'),
        logUrl: admin(v, `/log?user=${name}`),
        notice: d.notice && v.tr(lang, d.notice.key, d.notice.params),
        error: d.error && v.tr(lang, d.error.key, d.error.params),
        displayName: u.displayName ?? '',
        email: u.email ?? '',
        groups: u.groups.join(', '),
        disabled: u.disabled,
        admin: v.tr(lang, d.isAdmin ? 'admin_user_admin_yes' : 'admin_user_admin_no'),
        isAdmin: d.isAdmin,
        managedElsewhere: d.managedElsewhere,
        canMakeAdmin: !d.isAdmin && !d.managedElsewhere,
        lastSignIn: d.lastSignIn === null ? v.tr(lang, 'admin_never') : v.date(d.lastSignIn, lang),
        blocked: d.block !== null,
        locks: d.locks.map((l) =>
          v.tr(lang, 'admin_user_locked_text', {
            factor: v.tr(lang, l.factor === 'password' ? 'admin_factor_password' : 'admin_factor_code'),
            until: v.date(l.until, lang),
          }),
        ),
        blockDays: d.blockDays,
        methods: d.methods.map((m) => ({
          id: m.id,
          name: m.name,
          kind: v.tr(lang, `method_kind_${m.kind}`),
          added: v.date(m.addedAt, lang),
          lastUsed: m.lastUsedAt === null ? v.tr(lang, 'admin_never') : v.date(m.lastUsedAt, lang),
          active: m.active,
          status: v.tr(lang, m.active ? 'admin_method_active' : 'admin_method_inactive'),
          serial: m.serial ?? '',
          activateLabel: v.tr(lang, 'admin_activate_code', { serial: m.serial ?? '' }),
          inactiveToken: !m.active && m.serial !== undefined,
        })),
        hasMethods: d.methods.length > 0,
        securityKeys: d.securityKeys && {
          list: d.securityKeys.map((k) => ({
            id: k.id,
            name: k.name,
            model: k.model ?? '',
            added: v.date(k.addedAt, lang),
            lastUsed: k.lastUsedAt === null ? v.tr(lang, 'admin_never') : v.date(k.lastUsedAt, lang),
            backup: v.tr(lang, k.synced ? 'security_key_synced' : 'security_key_device_bound'),
          })),
          any: d.securityKeys.length > 0,
          removeAction: admin(v, '/user/remove-key'),
        },
        // A methodless user may still hold a pass (or recovery codes of an earlier method): reset voids those too.
        canReset: d.methods.length > 0 || (d.securityKeys?.length ?? 0) > 0 || Boolean(d.accessPass),
        hasAppPasswords: d.appPasswords > 0,
        entries: logRows(v, lang, d.recent),
        hasRecent: d.recent.length > 0,
      },
      'wide',
    );
    return withError(page, d.error);
  },
});

export const adminTokensPage = definePage({
  name: 'admin-tokens',
  build(lang, d: AdminTokensPage, v) {
    const r = d.result;
    const page = pageView(
      v.tr(lang, 'admin_tokens_title'),
      {
        imported: r?.imported ?? 0,
        unchanged: r?.unchanged ?? 0,
        failed: r?.errors.length ?? 0,
      },
      {
        nav: nav(v, lang, 'tokens'),
        csrf: d.csrf,
        action: admin(v, '/tokens/import'),
        error: d.error && v.tr(lang, d.error.key, d.error.params),
        result: r && { errors: r.errors, hasErrors: r.errors.length > 0, downloadUrl: r.downloadUrl },
        tokens: d.tokens.map((t) => ({
          ...t,
          userUrl: admin(v, `/user${query({ name: t.user })}`),
          status: v.tr(lang, t.active ? 'admin_method_active' : 'admin_method_inactive'),
        })),
        hasTokens: d.tokens.length > 0,
      },
      'wide',
    );
    return withError(page, d.error);
  },
});

export const adminLogPage = definePage({
  name: 'admin-log',
  build(lang, d: AdminLogPage, v) {
    const sinceOptions = ['', '1h', '24h', '7d', '30d'].map((value) => ({
      value,
      label: v.tr(
        lang,
        (
          { '': 'admin_log_any', '1h': 'admin_log_hour', '24h': 'admin_log_day', '7d': 'admin_log_week', '30d': 'admin_log_month' } as const
        )[value as ''],
      ),
      selected: d.filters.since === value,
    }));
    const outcomeOptions = ['', 'success', 'denied'].map((value) => ({
      value,
      label: v.tr(lang, value === '' ? 'admin_log_any' : value === 'success' ? 'admin_outcome_success' : 'admin_outcome_denied'),
      selected: d.filters.outcome === value,
    }));
    return pageView(
      v.tr(lang, 'admin_log_title'),
      {},
      {
        nav: nav(v, lang, 'log'),
        action: admin(v, '/log'),
        user: d.filters.user,
        sinceOptions,
        outcomeOptions,
        entries: logRows(v, lang, d.entries),
        any: d.entries.length > 0,
        newerUrl: d.newerUrl,
        olderUrl: d.olderUrl,
      },
      'wide',
    );
  },
});
