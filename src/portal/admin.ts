/**
 * @module portal/admin
 * The admin pages under `{prefix}admin`, as a {@link PortalModule}, for members of
 * `users.admin_group`: find users and see their state, block and unblock with a reason,
 * reset MFA, end sessions and forget remembered browsers, revoke app passwords, make another
 * user admin or take the rights away, import OATH tokens from a CSV (with its error CSV to
 * download) and activate them, and browse the sign-in log with filters.
 *
 * Careful actions ({@link CAREFUL}) take two steps without any script: their form's first POST
 * shows a page saying what will happen to whom (read from the store, with a warning when the
 * admin acts on their own account), and only the same form posted again with `confirm=yes`
 * does it.
 *
 * Access: a non-admin gets 403. An admin needs a second factor entered in this session
 * within the last {@link ADMIN_FRESHNESS_MS}, whatever the rule for the app says: neither a
 * trusted network, nor a remembered browser, nor an old code counts. With the password only
 * the admin is sent to the usual code page (which also enrolls a first method); with an old
 * or remembered second factor, to a code form of its own at `{prefix}admin/verify`. Every form carries a CSRF token bound to the session,
 * and
 * every action is in the sign-in log with the admin's name (the domain functions record it
 * with `actor`; the rest is recorded here).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { UserDirectory, UserRecord } from '../factors/password/index.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { SessionData } from '../session/session.ts';
import { AUDIT_KINDS, userKey, type AuditEntry, type Store } from '../store/types.ts';
import type { PortalContext, PortalKit, PortalModule } from './kit.ts';
import type { AdminConfirmPage, AdminEffect, AdminLogEntry, AdminTokensPage, AdminUserPage, AdminUserState } from './admin-views.ts';
import { GatewayError, errors } from '../errors/errors.ts';
import { blockReason, blockUser, BlockInputError, unblockUser, validBlockDays } from '../regulation/block.ts';
import { lockedUntil, lockoutPolicy } from '../regulation/lockout.ts';
import { blockNoticeHook } from '../notify/index.ts';
import { resetMfa } from '../factors/methods/reset.ts';
import { activateToken, importTokens } from '../factors/oath/index.ts';
import { makeAdmin, removeAdmin } from '../factors/password/users-edit.ts';
import { AccessPassInputError, issueAccessPass } from '../factors/fallback/access-pass.ts';
import { readMultipart } from './multipart.ts';
import { authenticatorModel } from '../factors/webauthn/models.ts';
import { PORTAL_PATHS } from './paths.ts';
import { describeUserAgent } from '../audit/user-agent.ts';

/** How long a second factor entered in the session opens the admin pages. */
const ADMIN_FRESHNESS_MS = 30 * 60_000;
/** amr values that name a second factor (dropped from the amr when a new code is entered). */
const SECOND_FACTORS: ReadonlySet<string> = new Set(['totp', 'oath_token', 'webauthn', 'mfa']);
const CSRF_PURPOSE = 'admin';
const VERIFY_PURPOSE = 'admin-verify';
/** Largest token CSV upload. */
const MAX_UPLOAD_BYTES = 1024 * 1024;
const USERS_PER_PAGE = 50;
const LOG_PER_PAGE = 50;
const REPORT_TTL_MS = 60 * 60_000;
const SINCE: Readonly<Record<string, number>> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
/** Actions that end or take away something: done only when their form comes back with `confirm=yes`. */
const CAREFUL: ReadonlySet<string> = new Set([
  'block',
  'reset-mfa',
  'revoke',
  'end-session',
  'revoke-app-passwords',
  'make-admin',
  'remove-admin',
  'remove-key',
]);

export interface AdminModuleDeps {
  config: GatewayConfig;
  store: Store;
  users: UserDirectory;
  /**
   * The users file alone: its users can be edited here (make admin); the others come from
   * the company directory or the identity provider, which own their name, e-mail and groups.
   */
  usersFile: Pick<UserDirectory, 'get'>;
  notifier: Notifier;
  /** Applies revocations and blocks in this process at once (`LiveRevocationView.refresh`). */
  refreshRevocations: () => Promise<void>;
  /** Drops cached Basic verifications of changed users now (`BasicVerifier.refresh`). */
  refreshAppPasswords: () => Promise<void>;
  clock: () => number;
  log: Logger;
}

/** Notices after an action (`?done=`), as message keys. */
const DONE = {
  blocked: 'admin_done_blocked',
  unblocked: 'admin_done_unblocked',
  not_blocked: 'admin_done_not_blocked',
  reset: 'admin_done_reset',
  revoked: 'admin_done_revoked',
  app_passwords: 'admin_done_app_passwords',
  admin: 'admin_done_admin',
  already_admin: 'admin_done_already_admin',
  admin_removed: 'admin_done_admin_removed',
  not_admin: 'admin_done_not_admin',
  activated: 'admin_done_activated',
  pass_revoked: 'admin_done_pass_revoked',
  key_removed: 'admin_done_key_removed',
  no_pass: 'admin_done_no_pass',
} as const;

export function adminModule(deps: AdminModuleDeps): (kit: PortalKit) => PortalModule {
  const { config, store, users, clock, log } = deps;
  const adminGroup = config.users.admin_group;
  const passwordPolicy = lockoutPolicy(config.mfa.password_lockout);
  const codePolicy = lockoutPolicy(config.mfa.lockout);
  const isAdmin = (name: string) => users.get(name)?.groups.includes(adminGroup) ?? false;

  return (kit) => {
    const base = `${kit.prefix}${PORTAL_PATHS.admin}`;
    const appUrl = kit.publicUrl.href;
    const context = (ctx: PortalContext) => ({
      clientIp: ctx.scope.clientIp,
      userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512),
      rule: null,
    });
    const params = (ctx: PortalContext) => new URL(ctx.req.url ?? '/', 'http://x').searchParams;
    // `mfaAt` is set only when a code was entered in this session: a remembered browser, a
    // trusted network or a provider's amr never sets it.
    const fresh = (s: SessionData) => {
      const now = clock();
      return s.level === 2 && typeof s.mfaAt === 'number' && s.mfaAt <= now && now - s.mfaAt <= ADMIN_FRESHNESS_MS;
    };
    /** A return path inside the admin pages, or the users page. */
    const adminPath = (value: unknown) =>
      typeof value === 'string' &&
      (value === base || value.startsWith(`${base}/`) || value.startsWith(`${base}?`)) &&
      !/[\\\s]|\/\//.test(value)
        ? value
        : base;

    /** The admin behind the request, or null when it was answered (sign in, 403, fresh code). */
    function gate(ctx: PortalContext, sub: string): SessionData | null {
      const here = `${kit.prefix}${sub}${new URL(ctx.req.url ?? '/', 'http://x').search}`;
      const s = ctx.session;
      if (!s) {
        kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.signIn, new URL(here, kit.publicUrl).href), ctx.req.method === 'GET' ? 302 : 303);
        return null;
      }
      if (!isAdmin(s.user)) throw errors.forbidden(`${s.user} is not in the admin group ${adminGroup}`);
      if (fresh(s)) return s;
      const rd = ctx.req.method === 'GET' ? here : base;
      // Password only (a trusted network, or enrollment pending): the usual code page, which enrolls too.
      if (s.level < 2) {
        kit.redirect(
          ctx.res,
          kit.withRd(PORTAL_PATHS.secondFactor, new URL(adminPath(rd), kit.publicUrl).href),
          ctx.req.method === 'GET' ? 302 : 303,
        );
        return null;
      }
      kit.redirect(ctx.res, `${base}/verify?rd=${encodeURIComponent(adminPath(rd))}`, ctx.req.method === 'GET' ? 302 : 303);
      return null;
    }

    // ---- fresh second factor -------------------------------------------------------------

    async function verifyPage(
      ctx: PortalContext,
      s: SessionData,
      rd: string,
      status = 200,
      error?: 'second_factor_error_invalid',
    ): Promise<void> {
      const until = lockedUntil(await store.lockoutCounter(s.user, 'second_factor'), codePolicy, clock());
      kit.page(ctx, status, 'admin-verify', {
        csrf: kit.csrfToken(s.sid, VERIFY_PURPOSE),
        user: s.user,
        rd,
        ...(error ? { error } : {}),
        ...(until !== null ? { lockedUntil: until } : {}),
      });
    }

    async function verify(ctx: PortalContext, s: SessionData): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = adminPath(form.get('rd'));
      if (!kit.csrfValid(form.get('csrf'), s.sid, VERIFY_PURPOSE)) throw errors.forbidden('admin verification with a bad CSRF token');
      if ((await store.countMethods(s.user)) === 0)
        return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, new URL(rd, kit.publicUrl).href));
      const result = await kit.checkSecondFactor(ctx, {
        user: s.user,
        code: form.get('code') ?? '',
        accept: { codes: true, recoveryCode: false, accessPass: false },
        purpose: 'admin pages',
      });
      if (!result.ok) {
        if (result.reason === 'blocked') throw errors.forbidden(`${s.user} is blocked`);
        const locks = result.reason === 'locked' ? result.until : result.lockedUntil;
        if (locks !== null) ctx.res.setHeader('retry-after', String(Math.max(1, Math.ceil((locks - clock()) / 1000))));
        return verifyPage(ctx, s, rd, locks === null ? 401 : 429, locks === null ? 'second_factor_error_invalid' : undefined);
      }
      const first = s.amr.filter((a) => !SECOND_FACTORS.has(a) && a !== 'remembered');
      await kit.issueSession(ctx, { user: s.user, level: 2, amr: [...first, result.amr], ic: s.ic, auth: s.auth, mfaAt: clock() });
      kit.redirect(ctx.res, rd);
    }

    // ---- users -----------------------------------------------------------------------------

    async function stateOf(
      name: string,
      disabled: boolean,
    ): Promise<{ state: AdminUserState; locks: AdminUserPage['locks']; block: AdminUserPage['block'] }> {
      const now = clock();
      const b = await store.blockOf(name);
      const locks: { factor: 'password' | 'second_factor'; until: number }[] = [];
      for (const [factor, policy] of [
        ['password', passwordPolicy],
        ['second_factor', codePolicy],
      ] as const) {
        const until = lockedUntil(await store.lockoutCounter(name, factor), policy, now);
        if (until !== null) locks.push({ factor, until });
      }
      const state: AdminUserState = disabled ? 'disabled' : b ? 'blocked' : locks.length > 0 ? 'locked' : 'ok';
      return { state, locks, block: b && { until: b.until, reason: b.reason, actor: b.actor } };
    }

    async function usersPage(ctx: PortalContext): Promise<void> {
      const q = (params(ctx).get('q') ?? '').trim().slice(0, 100);
      const needle = q.toLowerCase();
      const matches = users
        .list()
        .filter((u) => !needle || [u.name, u.displayName ?? '', u.email ?? ''].some((v) => v.toLowerCase().includes(needle)));
      const shown = [];
      for (const u of matches.slice(0, USERS_PER_PAGE)) {
        shown.push({
          name: u.name,
          ...(u.displayName ? { displayName: u.displayName } : {}),
          ...(u.email ? { email: u.email } : {}),
          methods: await store.countMethods(u.name),
          state: (await stateOf(u.name, Boolean(u.disabled))).state,
          lastSignIn: await store.lastSignIn(u.name),
        });
      }
      kit.page(ctx, 200, 'admin-users', { appUrl, q, users: shown, total: matches.length });
    }

    const toLogEntry = (e: AuditEntry): AdminLogEntry => ({
      id: e.id,
      at: e.at,
      user: e.user,
      kind: e.kind,
      outcome: e.outcome,
      ip: e.clientIp,
      rule: e.rule,
      detail: e.detail,
    });

    async function target(name: string | null) {
      const user = name ? (users.get(name) ?? (await users.lookup(name))) : undefined;
      if (!user) throw errors.notFound(`admin: no user ${JSON.stringify(name)}`);
      return user;
    }

    async function userPage(
      ctx: PortalContext,
      s: SessionData,
      name: string | null,
      status = 200,
      extra: Pick<AdminUserPage, 'notice' | 'error' | 'issuedPass'> = {},
    ): Promise<void> {
      const user = await target(name);
      const { locks, block } = await stateOf(user.name, Boolean(user.disabled));
      const key = user.name.normalize('NFC').toLowerCase();
      const serials = new Map((await store.listTokens()).filter((t) => t.user === key).map((t) => [t.id, t.serial]));
      const methods = (await store.listMethods(user.name)).map((m) => ({
        id: m.id,
        name: m.label,
        kind: m.kind,
        addedAt: m.createdAt,
        lastUsedAt: m.lastUsedAt,
        active: m.active,
        ...(serials.has(m.id) ? { serial: serials.get(m.id)! } : {}),
      }));
      kit.page(ctx, status, 'admin-user', {
        appUrl,
        csrf: kit.csrfToken(s.sid, CSRF_PURPOSE),
        user: {
          name: user.name,
          ...(user.displayName ? { displayName: user.displayName } : {}),
          ...(user.email ? { email: user.email } : {}),
          groups: user.groups,
          disabled: Boolean(user.disabled),
        },
        isAdmin: user.groups.includes(adminGroup),
        managedElsewhere: deps.usersFile.get(user.name) === undefined,
        lastSignIn: await store.lastSignIn(user.name),
        block,
        locks,
        methods,
        ...(config.mfa.methods.includes('webauthn')
          ? {
              securityKeys: (await store.listCredentials(user.name)).map((k) => ({
                id: k.id,
                name: k.label,
                model: authenticatorModel(k.aaguid),
                addedAt: k.createdAt,
                lastUsedAt: k.lastUsedAt,
                synced: k.backupEligible,
              })),
            }
          : {}),
        appPasswords: (await store.listAppPasswords(user.name)).length,
        sessions: (await store.listSessions(user.name)).map((x) => ({
          id: x.sid,
          startedAt: x.createdAt,
          lastSeenAt: x.lastSeen,
          ip: x.lastIp,
          userAgent: x.lastUserAgent,
        })),
        blockDays: config.mfa.block.days,
        recent: (await store.auditPage({ user: user.name, limit: 10 })).map(toLogEntry),
        accessPass: await store.accessPassOf(user.name),
        ...extra,
      });
    }

    async function userPageAfterAction(ctx: PortalContext, s: SessionData): Promise<void> {
      const p = params(ctx);
      const done = p.get('done') as keyof typeof DONE | null;
      const notice =
        done !== null && Object.hasOwn(DONE, done) ? { key: DONE[done], params: { count: Number(p.get('n') ?? 0) } } : undefined;
      return userPage(ctx, s, p.get('name'), 200, notice ? { notice } : {});
    }

    /** What the revoke form ends: sessions, remembered browsers ("devices") or both ("all"). */
    function revokeWhat(form: URLSearchParams): 'sessions' | 'devices' | 'all' {
      const what = form.get('what');
      if (what !== 'sessions' && what !== 'devices' && what !== 'all')
        throw errors.badRequest(`admin revoke: what=${JSON.stringify(what)}`);
      return what;
    }

    /** Other admins in the users directory than `name` (disabled ones do not count). */
    const otherAdmins = (name: string) =>
      users.list().filter((u) => !u.disabled && u.groups.includes(adminGroup) && userKey(u.name) !== userKey(name)).length;

    /** Why a careful action cannot be done at all (asked before the confirmation page and again before acting), or null. */
    function refusal(action: string, user: UserRecord, form: URLSearchParams): NonNullable<AdminUserPage['error']> | null {
      if (action === 'block') {
        if (!validBlockDays(Number(form.get('days') ?? config.mfa.block.days))) return { key: 'admin_days_error' };
        try {
          blockReason(form.get('reason') ?? '');
        } catch (err) {
          if (!(err instanceof BlockInputError)) throw err;
          return { key: 'admin_reason_error' };
        }
      }
      // Directory and federated users get their groups from where they come from.
      if ((action === 'make-admin' || action === 'remove-admin') && deps.usersFile.get(user.name) === undefined)
        return { key: 'admin_error_managed_elsewhere' };
      if (action === 'remove-admin' && isAdmin(user.name) && otherAdmins(user.name) === 0)
        return { key: 'admin_error_last_admin', params: { user: user.name } };
      return null;
    }

    /**
     * The first step of a careful action: what it will do to `user`, read from the store now,
     * with the form to confirm it (the same fields and `confirm=yes`) and a way back.
     */
    async function confirmPage(ctx: PortalContext, s: SessionData, user: UserRecord, action: string, form: URLSearchParams): Promise<void> {
      const name = user.name;
      const self = userKey(name) === userKey(s.user);
      const sessions = await store.listSessions(name);
      const sessionsEnd: AdminEffect = {
        key: { none: 'admin_confirm_sessions_end_none', one: 'admin_confirm_sessions_end_one', many: 'admin_confirm_sessions_end_many' },
        count: sessions.length,
      };
      const appPasswordsKept: AdminEffect[] =
        (await store.listAppPasswords(name)).length > 0 ? [{ key: 'admin_confirm_app_passwords_kept' }] : [];
      const show = (page: Pick<AdminConfirmPage, 'action' | 'effects'> & Partial<Pick<AdminConfirmPage, 'fields' | 'self' | 'subject'>>) =>
        kit.page(ctx, 200, 'admin-confirm', {
          appUrl,
          csrf: kit.csrfToken(s.sid, CSRF_PURPOSE),
          user: name,
          path: action,
          fields: {},
          ...page,
        });
      switch (action) {
        case 'block': {
          const days = Number(form.get('days') ?? config.mfa.block.days);
          const reason = blockReason(form.get('reason') ?? '');
          const current = await store.blockOf(name);
          const notify = config.mfa.fraud_alert.notify;
          return show({
            action: 'block',
            fields: { reason, days: String(days) },
            effects: [
              { key: 'admin_confirm_block_until', params: { until: new Date(clock() + days * 86_400_000) } },
              ...(current ? [{ key: 'admin_confirm_block_replaces', params: { until: new Date(current.until) } } as const] : []),
              sessionsEnd,
              { key: 'admin_confirm_block_keeps' },
              { key: 'admin_confirm_block_reason', params: { reason } },
              ...(notify.length > 0 ? [{ key: 'admin_confirm_block_mail', params: { to: notify.join(', ') } } as const] : []),
            ],
            self: self ? 'admin_confirm_self_block' : undefined,
          });
        }
        case 'reset-mfa': {
          const methods = await store.listMethods(name);
          const keys = await store.listCredentials(name);
          const codes = await store.recoveryCodeSummary(name);
          const trustedOnly = config.mfa.first_enrollment === 'trusted_networks';
          const items = [
            ...methods.map((m) => ({ name: m.label, kind: m.kind, inactive: !m.active })),
            ...keys.map((k) => ({ name: k.label, kind: 'webauthn' as const, model: authenticatorModel(k.aaguid) })),
          ];
          return show({
            action: 'reset_mfa',
            effects: [
              items.length > 0 ? { key: 'admin_confirm_reset_methods', items } : { key: 'admin_confirm_reset_no_methods' },
              ...(codes.unused > 0 ? [{ key: 'admin_confirm_reset_codes', params: { count: codes.unused } } as const] : []),
              ...((await store.accessPassOf(name)) ? [{ key: 'admin_confirm_reset_pass' } as const] : []),
              sessionsEnd,
              { key: 'admin_confirm_browsers_forgotten' },
              ...appPasswordsKept,
              { key: trustedOnly ? 'admin_confirm_reset_next_trusted' : 'admin_confirm_reset_next' },
            ],
            self: self ? (trustedOnly ? 'admin_confirm_self_reset_trusted' : 'admin_confirm_self_reset') : undefined,
          });
        }
        case 'revoke': {
          const what = revokeWhat(form);
          return show({
            action: ({ sessions: 'end_sessions', devices: 'forget_browsers', all: 'end_sessions_forget' } as const)[what],
            fields: { what },
            effects: [
              what === 'devices' ? { key: 'admin_confirm_sessions_kept' } : sessionsEnd,
              { key: what === 'sessions' ? 'admin_confirm_browsers_kept' : 'admin_confirm_browsers_forgotten' },
              ...appPasswordsKept,
            ],
            self: self && what !== 'devices' ? 'admin_confirm_self_sessions' : undefined,
          });
        }
        case 'end-session': {
          const id = form.get('id') ?? '';
          const record = sessions.find((x) => x.sid === id);
          // Already ended (or another user's id): nothing to confirm, the page shows what is left.
          if (!record) return kit.redirect(ctx.res, `${base}/user?name=${encodeURIComponent(name)}&done=revoked`);
          return show({
            action: 'end_session',
            fields: { id },
            effects: [
              {
                key: 'admin_confirm_end_session',
                params: {
                  client: describeUserAgent(record.lastUserAgent),
                  ip: record.lastIp,
                  started: new Date(record.createdAt),
                  seen: new Date(record.lastSeen),
                },
              },
              { key: sessions.length > 1 ? 'admin_confirm_end_session_others' : 'admin_confirm_end_session_only' },
            ],
            self: self && id === s.sid ? 'admin_confirm_self_this_session' : undefined,
          });
        }
        case 'revoke-app-passwords': {
          const list = await store.listAppPasswords(name);
          return show({
            action: 'revoke_app_passwords',
            effects:
              list.length === 0
                ? [{ key: 'admin_confirm_app_passwords_none' }]
                : [
                    { key: 'admin_confirm_app_passwords', items: list.map((p) => ({ name: p.name })) },
                    { key: 'admin_confirm_app_passwords_after' },
                  ],
          });
        }
        case 'make-admin':
          return show({
            action: 'make_admin',
            effects: isAdmin(name)
              ? [{ key: 'admin_confirm_already_admin' }]
              : [{ key: 'admin_confirm_make_admin_group', params: { group: adminGroup } }, { key: 'admin_confirm_make_admin_can' }],
          });
        case 'remove-admin':
          if (!isAdmin(name)) return kit.redirect(ctx.res, `${base}/user?name=${encodeURIComponent(name)}&done=not_admin`);
          return show({
            action: 'remove_admin',
            effects: [
              { key: 'admin_confirm_remove_admin_group', params: { group: adminGroup } },
              { key: 'admin_confirm_remove_admin_keeps' },
            ],
            self: self ? 'admin_confirm_self_remove_admin' : undefined,
          });
        case 'remove-key': {
          const id = form.get('id') ?? '';
          const keys = await store.listCredentials(name);
          const k = keys.find((x) => x.id === id);
          if (!k) throw errors.notFound(`admin: no security key ${JSON.stringify(id)}`);
          const others = (await store.listMethods(name)).filter((m) => m.active).length + keys.length - 1;
          return show({
            action: 'remove_key',
            subject: k.label,
            fields: { id },
            effects: [
              { key: 'admin_confirm_remove_key', items: [{ name: k.label, kind: 'webauthn', model: authenticatorModel(k.aaguid) }] },
              { key: others > 0 ? 'admin_confirm_remove_key_others' : 'admin_confirm_remove_key_last' },
              { key: 'admin_confirm_sessions_kept' },
            ],
          });
        }
        default:
          throw errors.notFound(`admin action ${action}`);
      }
    }

    async function userAction(ctx: PortalContext, s: SessionData, action: string): Promise<void> {
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), s.sid, CSRF_PURPOSE)) throw errors.forbidden(`admin ${action} with a bad CSRF token`);
      const user = await target(form.get('user'));
      const admin = s.user;
      const done = (key: keyof typeof DONE, n?: number) =>
        kit.redirect(ctx.res, `${base}/user?name=${encodeURIComponent(user.name)}&done=${key}${n === undefined ? '' : `&n=${n}`}`);
      if (CAREFUL.has(action)) {
        const refused = refusal(action, user, form);
        if (refused) return userPage(ctx, s, user.name, 400, { error: refused });
        // A POST without the confirmation never acts: it shows what would happen.
        if (form.get('confirm') !== 'yes') return confirmPage(ctx, s, user, action, form);
      }
      log.info({ admin, user: user.name, action }, 'admin action');
      switch (action) {
        case 'block': {
          await blockUser(store, user.name, {
            reason: form.get('reason') ?? '',
            days: Number(form.get('days') ?? config.mfa.block.days),
            actor: admin,
            context: context(ctx),
            onBlock: blockNoticeHook(deps.notifier),
            onHookError: (err) => log.error({ err }, 'block notice failed'),
          });
          await deps.refreshRevocations();
          return done('blocked');
        }
        case 'unblock': {
          try {
            const lifted = await unblockUser(store, user.name, { reason: form.get('reason') ?? '', actor: admin, context: context(ctx) });
            await deps.refreshRevocations();
            return done(lifted ? 'unblocked' : 'not_blocked');
          } catch (err) {
            if (!(err instanceof BlockInputError)) throw err;
            return userPage(ctx, s, user.name, 400, { error: { key: 'admin_reason_error' } });
          }
        }
        case 'reset-mfa': {
          const { removed } = await resetMfa({ store, clock }, user.name, admin, context(ctx));
          await deps.refreshRevocations();
          return done('reset', removed);
        }
        case 'revoke': {
          const what = revokeWhat(form);
          if (what !== 'devices') await store.revokeSessions(user.name);
          if (what !== 'sessions') await store.revokeDevices(user.name);
          await deps.refreshRevocations();
          const detail = {
            sessions: 'sessions ended',
            devices: 'remembered browsers forgotten',
            all: 'sessions ended and remembered browsers forgotten',
          }[what];
          await kit.audit(ctx, { kind: 'revocation', user: user.name, outcome: 'success', detail: `${detail} by admin ${admin}` });
          return done('revoked');
        }
        case 'end-session': {
          const id = form.get('id') ?? '';
          const record = (await store.listSessions(user.name)).find((x) => x.sid === id);
          // Already ended (or another user's id): nothing to do, the page shows what is left.
          if (!record || !(await store.endSession(user.name, id))) return done('revoked');
          await deps.refreshRevocations();
          await kit.audit(ctx, {
            kind: 'revocation',
            user: user.name,
            outcome: 'success',
            detail:
              `session ${id.slice(0, 8)} (${describeUserAgent(record.createdUserAgent)}, ${record.createdIp}) ` + `ended by admin ${admin}`,
          });
          return done('revoked');
        }
        case 'revoke-app-passwords': {
          const n = await store.revokeAllAppPasswords(user.name);
          await deps.refreshAppPasswords();
          await kit.audit(ctx, {
            kind: 'app_password',
            user: user.name,
            outcome: 'success',
            detail: `${n} app passwords revoked by admin ${admin}`,
          });
          return done('app_passwords');
        }
        case 'make-admin': {
          const changed = await makeAdmin(config.users.file, user.name, adminGroup);
          await users.reload();
          await kit.audit(ctx, {
            kind: 'admin',
            user: user.name,
            outcome: 'success',
            detail: changed
              ? `made an admin (group ${adminGroup}) by admin ${admin}`
              : `already an admin; make-admin by admin ${admin} changed nothing`,
          });
          return done(changed ? 'admin' : 'already_admin');
        }
        case 'remove-admin': {
          const changed = await removeAdmin(config.users.file, user.name, adminGroup);
          await users.reload();
          await kit.audit(ctx, {
            kind: 'admin',
            user: user.name,
            outcome: 'success',
            detail: changed
              ? `admin rights removed (group ${adminGroup}) by admin ${admin}`
              : `not an admin; remove-admin by admin ${admin} changed nothing`,
          });
          // Without the rights the admin pages answer 403: an admin who removed their own goes to their account page.
          if (changed && userKey(user.name) === userKey(admin)) return kit.redirect(ctx.res, `${kit.prefix}${PORTAL_PATHS.account}`);
          return done(changed ? 'admin_removed' : 'not_admin');
        }
        case 'access-pass': {
          const hours = Number(form.get('hours') ?? 8);
          const uses = Number(form.get('uses') ?? 1);
          try {
            const { pass, info } = await issueAccessPass({ store, clock }, user.name, {
              validMs: hours * 3_600_000,
              uses,
              actor: admin,
              context: context(ctx),
            });
            // Shown once, on this response only: never in a redirect URL, never stored in clear.
            return userPage(ctx, s, user.name, 200, { issuedPass: { pass, expiresAt: info.expiresAt, uses: info.uses } });
          } catch (err) {
            if (!(err instanceof AccessPassInputError)) throw err;
            return userPage(ctx, s, user.name, 400, { error: { key: 'admin_pass_input_error' } });
          }
        }
        case 'revoke-access-pass': {
          // Also for a user without any method, whose page has no methods to reset.
          if (!(await store.revokeAccessPass(user.name))) return done('no_pass');
          await kit.audit(ctx, {
            kind: 'admin',
            user: user.name,
            outcome: 'success',
            detail: `temporary access pass revoked by admin ${admin}`,
          });
          return done('pass_revoked');
        }
        case 'activate-token': {
          const r = await activateToken(
            { store, clock, skewSteps: config.mfa.totp.skew_steps, actor: admin, context: context(ctx) },
            user.name,
            form.get('serial') ?? '',
            form.get('code') ?? '',
          );
          if (r.ok) return done('activated');
          return userPage(ctx, s, user.name, 400, { error: { key: `admin_activate_${r.reason}` } });
        }
        case 'remove-key': {
          const id = form.get('id') ?? '';
          const k = (await store.listCredentials(user.name)).find((x) => x.id === id);
          if (!k || !(await store.removeCredential(user.name, id))) throw errors.notFound(`admin: no security key ${JSON.stringify(id)}`);
          await kit.audit(ctx, {
            kind: 'method_removed',
            user: user.name,
            outcome: 'success',
            detail: `webauthn credential ${k.id} removed by admin ${admin} (${k.label})`,
          });
          return done('key_removed');
        }
        default:
          throw errors.notFound(`admin action ${action}`);
      }
    }

    // ---- tokens ------------------------------------------------------------------------------

    async function tokensPage(ctx: PortalContext, s: SessionData, status = 200, extra: Partial<AdminTokensPage> = {}): Promise<void> {
      const tokens = (await store.listTokens()).map((t) => ({
        user: users.get(t.user)?.name ?? t.user,
        serial: t.serial,
        manufacturer: t.manufacturer,
        model: t.model,
        active: t.active,
        period: t.period,
      }));
      kit.page(ctx, status, 'admin-tokens', { appUrl, csrf: kit.csrfToken(s.sid, CSRF_PURPOSE), tokens, ...extra });
    }

    async function importUpload(ctx: PortalContext, s: SessionData): Promise<void> {
      const type = (ctx.req.headers['content-type'] ?? '').toLowerCase();
      const fields = type.startsWith('multipart/form-data')
        ? await readMultipart(ctx.req, MAX_UPLOAD_BYTES)
        : new Map((await kit.readForm(ctx.req)).entries());
      if (!kit.csrfValid(fields.get('csrf'), s.sid, CSRF_PURPOSE)) throw errors.forbidden('admin token import with a bad CSRF token');
      const file = fields.get('file') ?? '';
      const csv = file.trim() !== '' ? file : (fields.get('csv') ?? '');
      if (csv.trim() === '') return tokensPage(ctx, s, 400, { error: { key: 'admin_tokens_empty_upload' } });
      const result = await importTokens(
        { store, users, maxMethodsPerUser: config.mfa.max_methods_per_user, clock, actor: s.user, context: context(ctx) },
        csv,
      );
      await kit.audit(ctx, {
        kind: 'admin',
        user: s.user,
        outcome: result.errors.length === 0 ? 'success' : 'denied',
        detail:
          `token import by admin ${s.user}: ${result.imported} imported, ${result.unchanged} unchanged, ${result.errors.length} rows ` +
          `refused`,
      });
      let downloadUrl: string | undefined;
      if (result.errors.length > 0) {
        const id = randomBytes(16).toString('base64url');
        const now = clock();
        await store.saveImportReport({ id, actor: s.user, csv: result.errorCsv, createdAt: now, expiresAt: now + REPORT_TTL_MS });
        downloadUrl = `${base}/tokens/errors?id=${id}`;
      }
      return tokensPage(ctx, s, 200, {
        result: { imported: result.imported, unchanged: result.unchanged, errors: result.errors, ...(downloadUrl ? { downloadUrl } : {}) },
      });
    }

    async function errorCsv(ctx: PortalContext, s: SessionData): Promise<void> {
      const csv = await store.importReport(params(ctx).get('id') ?? '', s.user, clock());
      if (csv === null) throw errors.notFound('admin: no such import report for this admin');
      ctx.res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="token-import-errors.csv"',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(csv),
      });
      ctx.res.end(ctx.req.method === 'HEAD' ? undefined : csv);
    }

    // ---- sign-in log ---------------------------------------------------------------------------

    async function logPage(ctx: PortalContext): Promise<void> {
      const p = params(ctx);
      const user = (p.get('user') ?? '').trim().slice(0, 256);
      const kind = AUDIT_KINDS.find((k) => k === p.get('kind')) ?? '';
      const since = Object.hasOwn(SINCE, p.get('since') ?? '') ? p.get('since')! : '';
      const outcome = p.get('outcome') === 'success' || p.get('outcome') === 'denied' ? (p.get('outcome') as 'success' | 'denied') : '';
      const before = Number.parseInt(p.get('before') ?? '', 10);
      const rows = await store.auditPage({
        ...(user ? { user } : {}),
        ...(kind ? { kind } : {}),
        ...(since ? { since: clock() - SINCE[since]! } : {}),
        ...(outcome ? { outcome } : {}),
        ...(Number.isSafeInteger(before) && before > 0 ? { beforeId: before } : {}),
        limit: LOG_PER_PAGE + 1,
      });
      const entries = rows.slice(0, LOG_PER_PAGE).map(toLogEntry);
      const filters = new URLSearchParams(Object.entries({ user, kind, since, outcome }).filter(([, v]) => v !== ''));
      const url = (extra: string) => {
        const q = [filters.toString(), extra].filter(Boolean).join('&');
        return `${base}/log${q ? `?${q}` : ''}`;
      };
      kit.page(ctx, 200, 'admin-log', {
        appUrl,
        filters: { user, kind, since, outcome },
        entries,
        ...(Number.isSafeInteger(before) && before > 0 ? { newerUrl: url('') } : {}),
        ...(rows.length > LOG_PER_PAGE ? { olderUrl: url(`before=${entries.at(-1)!.id}`) } : {}),
      });
    }

    // ---- routing -----------------------------------------------------------------------------

    return {
      async handle(ctx, sub, method) {
        if (sub !== PORTAL_PATHS.admin && !sub.startsWith(`${PORTAL_PATHS.admin}/`)) return false;
        const rest = sub.slice(PORTAL_PATHS.admin.length);
        if (rest === '/verify') {
          const s = ctx.session;
          if (!s) return Boolean(gate(ctx, sub));
          if (!isAdmin(s.user)) throw errors.forbidden(`${s.user} is not in the admin group ${adminGroup}`);
          if (method === 'GET') await verifyPage(ctx, s, adminPath(params(ctx).get('rd')));
          else if (method === 'POST') await verify(ctx, s);
          else throw errors.notFound(`${method} ${sub}`);
          return true;
        }
        const s = gate(ctx, sub);
        if (!s) return true;
        try {
          if (method === 'GET' && (rest === '' || rest === '/')) await usersPage(ctx);
          else if (method === 'GET' && rest === '/user') await userPageAfterAction(ctx, s);
          else if (method === 'POST' && rest.startsWith('/user/')) await userAction(ctx, s, rest.slice('/user/'.length));
          else if (method === 'GET' && rest === '/tokens') await tokensPage(ctx, s);
          else if (method === 'POST' && rest === '/tokens/import') await importUpload(ctx, s);
          else if (method === 'GET' && rest === '/tokens/errors') await errorCsv(ctx, s);
          else if (method === 'GET' && rest === '/log') await logPage(ctx);
          else throw errors.notFound(`${method} ${sub}`);
        } catch (err) {
          if (!(err instanceof GatewayError)) log.error({ err, admin: s.user, sub }, 'admin page failed');
          throw err;
        }
        return true;
      },
    };
  };
}
