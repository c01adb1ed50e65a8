/**
 * @module portal/account
 * The account page: who is signed in, their second-factor methods, recovery codes, app
 * passwords, remembered browsers and recent sign-ins; and the two account-wide actions,
 * "sign out everywhere" and "forget remembered browsers". It needs what a `two_factor` rule
 * needs: the second factor, or a trusted network. Method changes are `portal/methods`.
 */
import type { MethodKind } from '../config/types.ts';
import type { SessionData } from '../session/session.ts';
import type { SessionsLimited } from '../session/sign-in-notice.ts';
import type { UserRecord } from '../factors/password/index.ts';
import type { AuditEntry } from '../store/types.ts';
import type { MessageRef } from './i18n.ts';
import { errors } from '../errors/errors.ts';
import { appendSetCookie } from '../session/cookies.ts';
import { countKey } from './i18n.ts';
import { definePage, pageView, sessionsLimitedText, withError } from './page.ts';
import { detailText, readDetail } from './log-details.ts';
import type { LogMessageKey } from './log-messages.ts';
import {
  queryParam,
  sessionsLimitedBy,
  SIGNED_IN_FORMS,
  type PortalContext,
  type PortalDeps,
  type PortalKit,
  type PortalModule,
} from './kit.ts';
import { PORTAL_PATHS } from './paths.ts';
import { BROWSER_REMEMBERED } from './second-factor.ts';
import { describeUserAgent } from '../audit/user-agent.ts';
import { authenticatorModel } from '../factors/webauthn/models.ts';

interface AccountMethod {
  name: string;
  kind: MethodKind;
  addedAt: Date | number;
  lastUsedAt?: Date | number;
  /** The method's id; with `AccountPage.manage`, rename and remove forms post it. */
  id?: string;
  /** An imported hardware token not activated yet (shown as such; it cannot sign in). */
  inactive?: boolean;
}

/** A security key or passkey as the account page lists it. */
interface AccountSecurityKey {
  id: string;
  name: string;
  /** The authenticator model's name from its AAGUID, where known. */
  model?: string;
  addedAt: Date | number;
  lastUsedAt?: Date | number;
  synced: boolean;
}

type SignInResult = 'success' | 'denied' | 'locked' | 'blocked' | 'fraud' | 'incomplete';

/** One sign-in: when, from where, how it ended, and its steps (password, code, ...) in order. */
interface AccountSignIn {
  at: Date | number;
  result: SignInResult;
  ip: string;
  /** The browser's User-Agent header, described in the page's language ("Firefox unter Windows"). */
  userAgent?: string;
  /** Each step as its sign-in log detail (said in the page's language) and whether it passed. */
  steps?: readonly { detail: string; ok: boolean }[];
}

interface AccountSession {
  id: string;
  startedAt: Date | number;
  lastSeenAt: Date | number;
  ip: string;
  /** The session's last User-Agent header, described in the page's language. */
  userAgent: string;
  current: boolean;
}

/**
 * `account`: the user's security page. Forms: POST `{prefix}account/forget-browsers` and
 * `{prefix}account/sign-out-everywhere`, each with `csrf`; arrays may be empty.
 */
export interface AccountPage {
  csrf: string;
  user: { username: string; name?: string; email?: string };
  methods: readonly AccountMethod[];
  /** Shows "n of max in use". */
  maxMethods?: number;
  /** Where "Add a method" leads; omitted hides the link (e.g. at the limit). */
  addMethodUrl?: string;
  /** Where "App passwords" leads; omitted hides the link (`mfa.app_passwords.enabled` off). */
  appPasswordsUrl?: string;
  /** Where "Admin pages" leads; only for members of `users.admin_group`. */
  adminUrl?: string;
  /** Browsers that skip the second factor; omitted hides the section (remember_device off). */
  rememberedBrowsers?: number;
  signIns: readonly AccountSignIn[];
  /**
   * The user's live sessions from the session index, oldest first; `current` marks this
   * browser's. Forms: POST `{prefix}account/sessions/end` with `id`, `csrf` and
   * `{prefix}account/sessions/end-others` with `csrf`.
   */
  sessions: readonly AccountSession[];
  /**
   * Signing in on this browser ended the user's oldest sessions (`session.max_per_user`):
   * how many, and the limit. Shown in the sessions section for the life of this session.
   */
  sessionsLimited?: SessionsLimited;
  /** A confirmation shown at the top, e.g. `account_notice_browsers_forgotten`. */
  notice?: MessageRef;
  /** A rename was refused: the method's id; its rename field opens with the error and takes the focus. */
  renameError?: string;
  /**
   * Show a rename form and a remove button per method (methods need `id`): POST
   * `{prefix}account/methods/rename` with `id`, `name`, `csrf`; GET `{prefix}account/methods/remove?id=`.
   */
  manage?: boolean;
  /** The recovery-code section (users with an active method): how many are left, and the page to create them. */
  recoveryCodes?: { total: number; unused: number; createdAt: number | null; url: string };
  /**
   * The security keys section (`mfa.methods` lists webauthn): each key has a remove button (POST `{prefix}account/security-keys/remove`).
   */
  securityKeys?: readonly AccountSecurityKey[];
  /** Where "Add a security key or passkey" leads; omitted hides it (at the limit). */
  addSecurityKeyUrl?: string;
}

export const accountPage = definePage({
  name: 'account',
  build(lang, d: AccountPage, v) {
    const date = (value: Date | number) => v.date(value, lang);
    const onSystem = v.tr(lang, 'browser_on_system');
    const renameError = d.renameError !== undefined && d.methods.some((m) => m.id === d.renameError);
    const browsers = d.rememberedBrowsers;
    const browsersKey = countKey(browsers ?? 0, lang, {
      none: 'account_browsers_none',
      one: 'account_browsers_one',
      many: 'account_browsers_many',
    });
    const page = pageView(
      v.tr(lang, 'account_title'),
      {
        user: d.user.username,
        count: d.methods.length + (d.securityKeys?.length ?? 0),
        max: d.maxMethods ?? '',
      },
      {
        csrf: d.csrf,
        user: d.user,
        notice: d.notice && v.tr(lang, d.notice),
        methods: d.methods.map((m) => ({
          id: m.id,
          name: m.name,
          kind: v.tr(lang, `method_kind_${m.kind}`),
          added: date(m.addedAt),
          lastUsed: m.lastUsedAt === undefined ? v.tr(lang, 'account_method_never') : date(m.lastUsedAt),
          inactive: Boolean(m.inactive),
          renameLabel: v.tr(lang, 'method_rename_label', { name: m.name }),
          removeLabel: v.tr(lang, 'method_remove_label', { name: m.name }),
          renameError: renameError && m.id === d.renameError ? v.tr(lang, 'method_name_invalid') : undefined,
        })),
        manage: Boolean(d.manage),
        hasMethods: d.methods.length > 0,
        methodsCount: d.maxMethods !== undefined,
        addMethodUrl: d.addMethodUrl,
        appPasswordsUrl: d.appPasswordsUrl,
        adminUrl: d.adminUrl,
        recovery: d.recoveryCodes && {
          url: d.recoveryCodes.url,
          text:
            d.recoveryCodes.total === 0
              ? v.tr(lang, 'account_recovery_none')
              : v.tr(lang, 'account_recovery_some', {
                  unused: d.recoveryCodes.unused,
                  total: d.recoveryCodes.total,
                  created: d.recoveryCodes.createdAt === null ? '' : v.date(d.recoveryCodes.createdAt, lang),
                }),
        },
        browsers: browsers === undefined ? undefined : { text: v.tr(lang, browsersKey, { count: browsers }), any: browsers > 0 },
        signIns: d.signIns.map((s) => ({
          at: date(s.at),
          result: v.tr(lang, `sign_in_result_${s.result}`),
          ok: s.result === 'success',
          ip: s.ip,
          client: describeUserAgent(s.userAgent ?? '', onSystem),
          steps: (s.steps ?? []).map((step) => ({ text: detailText(step.detail, lang, v.tr), ok: step.ok })),
        })),
        hasSignIns: d.signIns.length > 0,
        sessions: d.sessions.map((x) => ({
          id: x.id,
          started: date(x.startedAt),
          seen: date(x.lastSeenAt),
          ip: x.ip,
          client: describeUserAgent(x.userAgent, onSystem),
          current: x.current,
          endLabel: v.tr(lang, 'account_sessions_end_label', { started: date(x.startedAt) }),
        })),
        hasSessions: d.sessions.length > 0,
        sessionsLimited: sessionsLimitedText(lang, d.sessionsLimited, v),
        hasOthers: d.sessions.some((x) => !x.current),
        securityKeys: d.securityKeys && {
          list: d.securityKeys.map((k) => ({
            id: k.id,
            name: k.name,
            model: k.model ?? '',
            added: date(k.addedAt),
            lastUsed: k.lastUsedAt === undefined ? v.tr(lang, 'account_method_never') : date(k.lastUsedAt),
            backup: v.tr(lang, k.synced ? 'security_key_synced' : 'security_key_device_bound'),
          })),
          any: d.securityKeys.length > 0,
          addUrl: d.addSecurityKeyUrl,
        },
      },
      'wide',
    );
    return withError(page, renameError);
  },
});

/** Steps of one sign-in follow each other within this time (a code is typed within minutes of the password). */
const STEP_GAP_MS = 15 * 60_000;
/** Sign-ins the account page lists, and the log entries read to find them. */
const SIGN_INS_SHOWN = 10;
const ENTRIES_READ = 60;

/** Details after which the sign-in still needs its second step. */
const NEEDS_SECOND_STEP: ReadonlySet<LogMessageKey> = new Set([
  'log_password_ok',
  'log_password_ok_enroll',
  'log_federated',
  'log_federated_intranet_off',
]);

/**
 * The user's recent sign-ins, one per sign-in with its steps, from their sign-in log entries
 * (newest first, as the store returns them): a password, passkey or identity-provider step
 * starts one; the second step (a code, a key, the first setup) from the same browser and
 * address within {@link STEP_GAP_MS} joins it. A code asked later (admin pages, a method
 * change, a step up) is a row of its own.
 */
export function signInsOf(entries: readonly AuditEntry[]): AccountSignIn[] {
  const rows: { first: AuditEntry; last: AuditEntry; steps: AuditEntry[]; open: boolean }[] = [];
  for (const e of [...entries].reverse()) {
    const read = readDetail(e.detail);
    const purpose = read?.purpose?.key;
    const starts = e.kind === 'password' || e.kind === 'federated' || purpose === 'log_purpose_passkey';
    const row = rows.at(-1);
    const joins =
      !starts &&
      row !== undefined &&
      row.open &&
      purpose === undefined &&
      (e.kind === 'second_factor' || e.kind === 'enrollment') &&
      e.clientIp === row.last.clientIp &&
      e.userAgent === row.last.userAgent &&
      e.at - row.last.at <= STEP_GAP_MS;
    if (joins) {
      row.steps.push(e);
      row.last = e;
      if (e.outcome === 'success') row.open = false;
    } else if (starts || e.kind === 'second_factor') {
      const open = e.outcome === 'success' && read !== null && NEEDS_SECOND_STEP.has(read.main.key);
      rows.push({ first: e, last: e, steps: [e], open });
    }
  }
  return rows
    .slice(-SIGN_INS_SHOWN)
    .reverse()
    .map((r) => ({
      at: r.first.at,
      result: resultOf(r.last, r.open),
      ip: r.first.clientIp,
      userAgent: r.first.userAgent,
      steps: r.steps.map((s) => ({ detail: s.detail, ok: s.outcome === 'success' })),
    }));
}

/** How a sign-in ended, from its last step: still waiting for its second step, passed, or why it was refused. */
function resultOf(last: AuditEntry, open: boolean): SignInResult {
  if (last.outcome === 'success') return open ? 'incomplete' : 'success';
  const read = readDetail(last.detail);
  const keys = read === null ? [] : [read.main.key, ...read.after.map((p) => p.key)];
  if (keys.includes('log_blocked')) return 'blocked';
  if (keys.includes('log_locked') || keys.includes('log_then_locked') || keys.includes('log_source_throttled')) return 'locked';
  return 'denied';
}

/** `?done=` after a change made by the methods module (see `portal/methods`). */
const NOTICES = {
  added: 'account_notice_method_added',
  removed: 'account_notice_method_removed',
  renamed: 'account_notice_method_renamed',
  recovery: 'account_notice_recovery_used',
  'session-ended': 'account_notice_session_ended',
  'sessions-ended': 'account_notice_sessions_ended',
  security_key_added: 'account_notice_security_key_added',
  security_key_removed: 'account_notice_security_key_removed',
} as const;

export function accountModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { config, publicUrl, sessions, users, store, revocations, registry, clock } = deps;
  const remember = config.mfa.remember_device;

  return (kit) => {
    const url = (path: string) => `${kit.prefix}${path}`;

    /** The account page needs what a `two_factor` rule needs: the second factor, or a trusted network. */
    function requireStrongSession(ctx: PortalContext): SessionData | null {
      const here = new URL(url(PORTAL_PATHS.account), publicUrl).href;
      const session = kit.requireSession(ctx, here);
      if (!session) return null;
      if (session.level === 2 || kit.onTrustedNetwork(ctx)) return session;
      kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.secondFactor, here), ctx.req.method === 'GET' ? 302 : 303);
      return null;
    }

    /**
     * Browsers that still skip the code: remember grants in the sign-in log within the last
     * `remember_device.days` and after the user's last "forget remembered browsers". The
     * cookies themselves are stateless; the log is where each grant is recorded.
     */
    async function rememberedBrowsers(user: string): Promise<number> {
      const forgotten = revocations.devicesRevokedAt(user);
      const since = Math.max(clock() - remember.days * 86_400_000, forgotten === undefined ? 0 : forgotten + 1);
      const entries = await store.query({ user, since, limit: 1000 });
      return entries.filter((e) => e.kind === 'second_factor' && e.outcome === 'success' && e.detail.includes(BROWSER_REMEMBERED)).length;
    }

    async function show(ctx: PortalContext, session: SessionData, notice?: AccountPage['notice'], renameError?: string): Promise<void> {
      const user = users.get(session.user) as UserRecord;
      const methods = await store.listMethods(session.user);
      const keys = await store.listCredentials(session.user);
      const active = methods.some((m) => m.active) || keys.length > 0;
      const recent = await store.query({ user: session.user, limit: ENTRIES_READ });
      // The entry is written while this session starts, so it is at or after the sign-in (`auth`).
      const sinceSignIn = await store.query({ user: session.user, since: session.auth, limit: 100 });
      const limited = sinceSignIn
        .filter((e) => e.kind === 'revocation')
        .map((e) => sessionsLimitedBy(e.detail, session.sid))
        .find((x) => x !== null);
      // This page says it for the session's life (from the log): the sign-in's one-time note is spent here too.
      await kit.signInNotice(ctx);
      const signIns = signInsOf(recent);
      kit.page(ctx, 200, 'account', {
        csrf: kit.csrfToken(session.sid, SIGNED_IN_FORMS),
        user: {
          username: user.name,
          ...(user.displayName ? { name: user.displayName } : {}),
          ...(user.email ? { email: user.email } : {}),
        },
        methods: methods.map((m) => ({
          id: m.id,
          name: m.label,
          kind: m.kind,
          addedAt: m.createdAt,
          ...(m.lastUsedAt ? { lastUsedAt: m.lastUsedAt } : {}),
          ...(m.active ? {} : { inactive: true }),
        })),
        maxMethods: config.mfa.max_methods_per_user,
        ...(config.mfa.app_passwords.enabled ? { appPasswordsUrl: url(PORTAL_PATHS.appPasswords) } : {}),
        ...(user.groups.includes(config.users.admin_group) ? { adminUrl: url(PORTAL_PATHS.admin) } : {}),
        manage: true,
        // Without an active method "Add a method" is first enrollment: no code is asked for that the user cannot have.
        ...(!active
          ? { addMethodUrl: kit.withRd(PORTAL_PATHS.enroll, new URL(url(PORTAL_PATHS.account), publicUrl).href) }
          : config.mfa.methods.includes('totp') && methods.length < config.mfa.max_methods_per_user
            ? { addMethodUrl: url(PORTAL_PATHS.methodAdd) }
            : {}),
        ...(config.mfa.methods.includes('webauthn')
          ? {
              securityKeys: keys.map((k) => ({
                id: k.id,
                name: k.label,
                ...(authenticatorModel(k.aaguid) ? { model: authenticatorModel(k.aaguid)! } : {}),
                addedAt: k.createdAt,
                ...(k.lastUsedAt ? { lastUsedAt: k.lastUsedAt } : {}),
                synced: k.backupEligible,
              })),
              ...(methods.length + keys.length < config.mfa.max_methods_per_user
                ? { addSecurityKeyUrl: url(PORTAL_PATHS.securityKeyAdd) }
                : {}),
            }
          : {}),
        ...(active ? { recoveryCodes: { ...(await store.recoveryCodeSummary(session.user)), url: url(PORTAL_PATHS.recoveryCodes) } } : {}),
        signIns,
        sessions: (await registry.list(session.user)).map((x) => ({
          id: x.sid,
          startedAt: x.createdAt,
          lastSeenAt: x.lastSeen,
          ip: x.lastIp,
          userAgent: x.lastUserAgent,
          current: x.sid === session.sid,
        })),
        ...(remember.enabled ? { rememberedBrowsers: await rememberedBrowsers(session.user) } : {}),
        ...(limited ? { sessionsLimited: limited } : {}),
        ...(notice ? { notice } : {}),
        ...(renameError ? { renameError } : {}),
      });
    }

    async function action(
      ctx: PortalContext,
      which: 'sign-out-everywhere' | 'forget-browsers' | 'end-session' | 'end-others',
    ): Promise<void> {
      const session = requireStrongSession(ctx);
      if (!session) return;
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS))
        return kit.sendError(ctx.req, ctx.res, errors.forbidden('account form with a bad CSRF token'));
      if (which === 'end-session') {
        const id = form.get('id') ?? '';
        // This browser's own session ends through sign-out (which also clears its cookie).
        if (id === session.sid || !(await registry.end(session.user, id)))
          return kit.sendError(ctx.req, ctx.res, errors.badRequest('no other live session of this user has that id'));
        await kit.audit(ctx, {
          kind: 'revocation',
          user: session.user,
          outcome: 'success',
          detail: `user ended session ${id.slice(0, 8)}`,
        });
        return kit.redirect(ctx.res, `${url(PORTAL_PATHS.account)}?done=session-ended`, 303);
      }
      if (which === 'end-others') {
        const ended = await registry.endOthers(session.user, session.sid);
        await kit.audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: `user ended ${ended} other sessions` });
        return kit.redirect(ctx.res, `${url(PORTAL_PATHS.account)}?done=sessions-ended`, 303);
      }
      if (which === 'sign-out-everywhere') {
        await store.revokeSessions(session.user);
        await revocations.refresh();
        await kit.audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: 'user signed out everywhere' });
        appendSetCookie(ctx.res, sessions.clearCookie());
        return kit.page(ctx, 200, 'message', {
          title: 'signed_out_everywhere_title',
          text: 'signed_out_everywhere_text',
          link: { href: url(PORTAL_PATHS.signIn), label: 'signed_out_again' },
        });
      }
      await store.revokeDevices(session.user);
      await revocations.refresh();
      await kit.audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: 'user forgot remembered browsers' });
      appendSetCookie(ctx.res, sessions.clearDeviceCookie());
      return show(ctx, session, 'account_notice_browsers_forgotten');
    }

    return {
      async handle(ctx, sub, method) {
        const route = `${method} ${sub}`;
        if (route === `GET ${PORTAL_PATHS.account}`) {
          const session = requireStrongSession(ctx);
          const done = queryParam(ctx, 'done');
          if (session)
            await show(
              ctx,
              session,
              done !== null && Object.hasOwn(NOTICES, done) ? NOTICES[done as keyof typeof NOTICES] : undefined,
              queryParam(ctx, 'rename-error') ?? undefined,
            );
        } else if (route === `POST ${PORTAL_PATHS.signOutEverywhere}`) await action(ctx, 'sign-out-everywhere');
        else if (route === `POST ${PORTAL_PATHS.forgetBrowsers}`) await action(ctx, 'forget-browsers');
        else if (route === `POST ${PORTAL_PATHS.endSession}`) await action(ctx, 'end-session');
        else if (route === `POST ${PORTAL_PATHS.endOtherSessions}`) await action(ctx, 'end-others');
        else return false;
        return true;
      },
    };
  };
}
