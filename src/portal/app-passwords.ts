/**
 * @module portal/app-passwords
 * `{prefix}account/app-passwords`, as a {@link PortalModule}: a user who passed the second
 * factor creates app passwords (named, generated here, shown once, stored as argon2id
 * hashes), sees when each was created and last used, and revokes them. Only with
 * `mfa.app_passwords.enabled`. Every change is logged (kind `app_password`) and pushed to
 * this process's Basic cache at once; other gateways follow within a second.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { AppPasswordStore, AuditStore } from '../store/types.ts';
import type { PortalContext, PortalKit, PortalModule } from './kit.ts';
import type { AppPasswordsPage } from './admin-views.ts';
import { errors } from '../errors/errors.ts';
import { checkAppPasswordName, generateAppPassword, MAX_APP_PASSWORDS_PER_USER } from '../factors/app-passwords/index.ts';
import { PORTAL_PATHS } from './paths.ts';

const CSRF_PURPOSE = 'app-passwords';

export interface AppPasswordsModuleDeps {
  config: GatewayConfig;
  store: Pick<AppPasswordStore, 'addAppPassword' | 'listAppPasswords' | 'revokeAppPassword'> & Pick<AuditStore, 'record'>;
  /** Drops this process's cached Basic verifications of changed users now (`BasicVerifier.refresh`). */
  refresh: () => Promise<void>;
  log: Logger;
}

export function appPasswordsModule(deps: AppPasswordsModuleDeps): (kit: PortalKit) => PortalModule {
  const { config, store, log } = deps;
  const path = PORTAL_PATHS.appPasswords;
  const revokePath = `${path}/revoke`;

  return (kit) => {
    const here = new URL(`${kit.prefix}${path}`, kit.publicUrl).href;

    /** Signed in with the second factor (a trusted network is not enough to mint a credential that passes two_factor rules). */
    function strongSession(ctx: PortalContext) {
      const s = ctx.session;
      if (s?.level === 2) return s;
      kit.redirect(ctx.res, kit.withRd(s ? PORTAL_PATHS.secondFactor : PORTAL_PATHS.signIn, here), ctx.req.method === 'GET' ? 302 : 303);
      return null;
    }

    async function show(ctx: PortalContext, user: string, status: number, extra: Partial<AppPasswordsPage> = {}): Promise<void> {
      const list = await store.listAppPasswords(user);
      kit.page(ctx, status, 'app-passwords', {
        csrf: kit.csrfToken(ctx.session!.sid, CSRF_PURPOSE),
        appPasswords: list,
        max: MAX_APP_PASSWORDS_PER_USER,
        atLimit: list.length >= MAX_APP_PASSWORDS_PER_USER,
        ...extra,
      });
    }

    async function create(ctx: PortalContext, user: string): Promise<void> {
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), ctx.session!.sid, CSRF_PURPOSE))
        throw errors.forbidden('app password form with a bad CSRF token');
      const name = checkAppPasswordName(form.get('name'));
      if (name === null)
        return show(ctx, user, 400, { name: (form.get('name') ?? '').slice(0, 100), nameError: 'app_passwords_name_error' });
      const fresh = await generateAppPassword();
      const added = await store.addAppPassword({ user, name, hint: fresh.hint, hash: fresh.hash }, MAX_APP_PASSWORDS_PER_USER);
      if (!added.ok) return show(ctx, user, 409);
      await deps.refresh();
      await kit.audit(ctx, {
        kind: 'app_password',
        user,
        outcome: 'success',
        detail: `app password "${name}" created (${added.appPassword.id})`,
      });
      log.info({ user, id: added.appPassword.id }, 'app password created');
      return show(ctx, user, 200, { created: { name, password: fresh.display } });
    }

    async function revoke(ctx: PortalContext, user: string): Promise<void> {
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), ctx.session!.sid, CSRF_PURPOSE))
        throw errors.forbidden('app password form with a bad CSRF token');
      const id = form.get('id') ?? '';
      const name = (await store.listAppPasswords(user)).find((p) => p.id === id)?.name;
      if (name === undefined || !(await store.revokeAppPassword(user, id)))
        throw errors.notFound(`no app password ${JSON.stringify(id)} of ${user}`);
      await deps.refresh();
      await kit.audit(ctx, { kind: 'app_password', user, outcome: 'success', detail: `app password "${name}" revoked (${id})` });
      kit.redirect(ctx.res, `${kit.prefix}${path}?done=revoked`);
    }

    return {
      async handle(ctx, sub, method) {
        if (sub !== path && sub !== revokePath) return false;
        if (!config.mfa.app_passwords.enabled) throw errors.notFound(`${method} ${sub}: mfa.app_passwords.enabled is off`);
        const session = strongSession(ctx);
        if (!session) return true;
        if (sub === path && method === 'GET') {
          const done = new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('done');
          await show(ctx, session.user, 200, done === 'revoked' ? { notice: 'app_passwords_revoked' } : {});
        } else if (sub === path && method === 'POST') await create(ctx, session.user);
        else if (sub === revokePath && method === 'POST') await revoke(ctx, session.user);
        else throw errors.notFound(`${method} ${sub}`);
        return true;
      },
    };
  };
}
