/**
 * @module portal/admin-views
 * The app-password page and the admin pages, each declared once ({@link definePage}): its
 * data and its builder. Handlers pass message keys, times and plain values; the builders
 * translate and format.
 */
import type { MethodKind } from '../config/types.ts';
import type { AuditEntry } from '../store/types.ts';
import { AUDIT_KINDS } from '../store/types.ts';
import { parseReportOnlyDetail } from '../audit/report-only.ts';
import type { AdminMessageKey } from './admin-messages.ts';
import { countKey, type MessageParams, type MessageRef } from './i18n.ts';
import { isMessageKey } from './messages.ts';
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

/** What every admin page with the admin navigation needs besides its own data. */
interface AdminNav {
  /** Where "Back to the app" leads: `server.public_url`. */
  appUrl: string;
}

/** `admin-users`: GET `{prefix}admin?q=`. */
export interface AdminUsersPage extends AdminNav {
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
  /** Empty for a caller who had not signed in (report-only entries). */
  user: string;
  kind: string;
  /** `success`, `denied`, or what a report-only rule would have done. */
  outcome: AuditEntry['outcome'];
  ip: string;
  /** The policy rule's key, where the entry names one. */
  rule: string | null;
  detail: string;
}

/** `admin-user`: GET `{prefix}admin/user?name=`; every form posts `user` and `csrf` to `{prefix}admin/user/<action>`. */
export interface AdminUserPage extends AdminNav {
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
export interface AdminTokensPage extends AdminNav {
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

/** `admin-log`: GET `{prefix}admin/log?user=&kind=&since=&outcome=&before=`. */
export interface AdminLogPage extends AdminNav {
  filters: { user: string; kind: string; since: string; outcome: string };
  entries: readonly AdminLogEntry[];
  newerUrl?: string;
  olderUrl?: string;
}

/** A careful action of the user page, as its confirmation page names it in the title and on the button. */
type AdminConfirmAction =
  | 'block'
  | 'reset_mfa'
  | 'end_sessions'
  | 'forget_browsers'
  | 'end_sessions_forget'
  | 'end_session'
  | 'revoke_app_passwords'
  | 'make_admin'
  | 'remove_admin'
  | 'remove_key';

/** One thing an action changes, as a sentence about `{user}`; `items` are listed under it. */
export interface AdminEffect {
  /** With `count`: the sentences for none, one and many, picked by the reader's plural rules and given `{count}`. */
  key: AdminMessageKey | { none: AdminMessageKey; one: AdminMessageKey; many: AdminMessageKey };
  count?: number;
  params?: MessageParams;
  /** Methods, keys or app passwords by name, with their kind and model where they have one. */
  items?: readonly { name: string; kind?: MethodKind; model?: string | null; inactive?: boolean }[];
}

/**
 * `admin-confirm`: what a careful action on the user page will do, read from the store, asked
 * before it is done. Its form posts the first form's `fields` again, with `user`, `csrf` and
 * `confirm=yes`, to `{prefix}admin/user/<path>`; without `confirm` that route only shows this page.
 */
export interface AdminConfirmPage extends AdminNav {
  csrf: string;
  /** The user acted on. */
  user: string;
  action: AdminConfirmAction;
  path: string;
  fields: Readonly<Record<string, string>>;
  /** What happens, in order. */
  effects: readonly AdminEffect[];
  /** The admin acts on their own account: what that means for them, under a warning. */
  self?: AdminMessageKey;
  /** The security key's name (`remove_key`), for the title and the button. */
  subject?: string;
}

/** Query strings built here, so templates only print finished URLs. */
const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  return q ? `?${q}` : '';
};

const admin = (v: ViewKit, path: string) => `${v.prefix}admin${path}`;
/**
 * The admin navigation, then links to the account page and the app. `current` is the page
 * shown (`aria-current="page"`), or with `within` the section a page belongs to (`"true"`).
 */
const nav = (v: ViewKit, lang: string, d: AdminNav, current: 'users' | 'tokens' | 'log', within = false) => ({
  label: v.tr(lang, 'admin_nav_label'),
  items: (
    [
      ['', 'admin_nav_users', 'users'],
      ['/tokens', 'admin_nav_tokens', 'tokens'],
      ['/log', 'admin_nav_log', 'log'],
    ] as const
  ).map(([path, key, name]) => ({
    href: admin(v, path),
    text: v.tr(lang, key),
    current: name !== current ? undefined : within ? 'true' : 'page',
  })),
  accountUrl: v.paths.account,
  accountText: v.tr(lang, 'admin_nav_account'),
  appUrl: d.appUrl,
  appText: v.tr(lang, 'admin_nav_app'),
});
/** A text of the catalog by a key made from a stored value (a kind, an outcome); the value itself when there is none. */
const named = (v: ViewKit, lang: string, prefix: string, value: string) => {
  const key = `${prefix}${value}`;
  return isMessageKey(key) ? v.tr(lang, key) : value;
};

/** An event kind as the sign-in log names it (`log-details`), or by the admin catalog (report-only) where it does not. */
const kindName = (v: ViewKit, lang: string, kind: string) => {
  const text = kindText(kind, lang, v.tr);
  return text === kind ? named(v, lang, 'admin_kind_', kind) : text;
};

/**
 * The detail in the reader's language where the gateway wrote it in a known form (report-only
 * minutes here, every other kind's in `log-details`), without the ids kept for operators; else as stored.
 */
function detailOf(v: ViewKit, lang: string, e: AdminLogEntry): string {
  const r = e.kind === 'report_only' ? parseReportOnlyDetail(e.detail) : null;
  if (r === null) return detailText(e.detail, lang, v.tr);
  const params = {
    rule: e.rule ?? '?',
    count: r.count,
    time: v.date(r.minute, lang),
    path: r.top,
    paths: `${r.paths}${r.more ? '+' : ''}`,
  };
  return v.tr(lang, r.paths === 1 && !r.more ? 'admin_report_only_detail' : 'admin_report_only_detail_paths', params);
}

const logRows = (v: ViewKit, lang: string, entries: readonly AdminLogEntry[]) =>
  entries.map((e) => ({
    at: v.date(e.at, lang),
    user: e.user === '' ? v.tr(lang, 'admin_log_not_signed_in') : e.user,
    userUrl: e.user === '' ? undefined : admin(v, `/user${query({ name: e.user })}`),
    kind: kindName(v, lang, e.kind),
    // Report-only outcomes are neither: nothing was enforced.
    status: e.outcome === 'success' ? 'status--ok' : e.outcome === 'denied' ? 'status--bad' : '',
    outcome: named(v, lang, 'admin_outcome_', e.outcome),
    ip: e.ip,
    detail: detailOf(v, lang, e),
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
        nav: nav(v, lang, d, 'users'),
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
      'full',
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
        nav: nav(v, lang, d, 'users', true),
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
        removeAdminAction: admin(v, '/user/remove-admin'),
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
        // The field an error is about gets the focus and is marked invalid (no script needed).
        reasonError: d.error?.key === 'admin_reason_error',
        daysError: d.error?.key === 'admin_days_error',
        displayName: u.displayName ?? '',
        email: u.email ?? '',
        groups: u.groups.join(', '),
        disabled: u.disabled,
        admin: v.tr(lang, d.isAdmin ? 'admin_user_admin_yes' : 'admin_user_admin_no'),
        isAdmin: d.isAdmin,
        managedElsewhere: d.managedElsewhere,
        canMakeAdmin: !d.isAdmin && !d.managedElsewhere,
        canRemoveAdmin: d.isAdmin && !d.managedElsewhere,
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
          activateSubmitLabel: v.tr(lang, 'admin_activate_label', { serial: m.serial ?? '' }),
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
            removeLabel: v.tr(lang, 'admin_key_remove_label', { name: k.name }),
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
      'full',
    );
    return withError(page, d.error);
  },
});

export const adminConfirmPage = definePage({
  name: 'admin-confirm',
  build(lang, d: AdminConfirmPage, v) {
    const params = { user: d.user, name: d.subject ?? '' };
    const item = (i: NonNullable<AdminEffect['items']>[number]) => {
      const kind = [i.kind && v.tr(lang, `method_kind_${i.kind}`), i.model, i.inactive && v.tr(lang, 'admin_method_inactive')]
        .filter(Boolean)
        .join(', ');
      return v.tr(lang, kind ? 'admin_confirm_item' : 'admin_confirm_item_name', { name: i.name, kind });
    };
    return pageView(
      v.tr(lang, `admin_confirm_${d.action}_title`, params),
      params,
      {
        nav: nav(v, lang, d, 'users', true),
        heading: v.tr(lang, `admin_confirm_${d.action}_title`, params),
        csrf: d.csrf,
        userName: d.user,
        action: admin(v, `/user/${d.path}`),
        fields: Object.entries(d.fields).map(([name, value]) => ({ name, value })),
        effects: d.effects.map((e) => ({
          text: v.tr(lang, typeof e.key === 'string' ? e.key : countKey(e.count ?? 0, lang, e.key), {
            ...params,
            count: e.count ?? 0,
            ...e.params,
          }),
          items: (e.items ?? []).map(item),
          hasItems: (e.items?.length ?? 0) > 0,
        })),
        self: d.self && v.tr(lang, d.self, params),
        submit: v.tr(lang, `admin_confirm_${d.action}_submit`, params),
        danger: d.action !== 'make_admin',
        cancelUrl: admin(v, `/user${query({ name: d.user })}`),
      },
      'medium',
    );
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
        nav: nav(v, lang, d, 'tokens'),
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
      'full',
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
    const kindOptions = ['', ...AUDIT_KINDS].map((value) => ({
      value,
      label: value === '' ? v.tr(lang, 'admin_log_any') : kindName(v, lang, value),
      selected: d.filters.kind === value,
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
        nav: nav(v, lang, d, 'log'),
        action: admin(v, '/log'),
        user: d.filters.user,
        kindOptions,
        sinceOptions,
        outcomeOptions,
        entries: logRows(v, lang, d.entries),
        any: d.entries.length > 0,
        newerUrl: d.newerUrl,
        olderUrl: d.olderUrl,
      },
      'full',
    );
  },
});
