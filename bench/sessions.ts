/**
 * @module bench/sessions
 * The signed-in users of the session scenarios and of the sign-in bench.
 *
 * `mintSessions` writes `bench-user-0 ... bench-user-(N-1)` into the scenario's users file,
 * all with the SAME argon2id hash of {@link BENCH_PASSWORD}, computed once per bench run
 * (hashing thousands of passwords would take minutes). The running gateway picks the file
 * up by itself (fs.watch plus a 2 s stat poll); the file is written beside and renamed into
 * place, so the gateway never reads half of it.
 *
 * The first user then signs in through the REAL pages, as a browser would: GET the sign-in
 * page (CSRF token and its binding cookie), POST username and password, and where the config
 * asks for the second factor, GET the enrollment page, read the secret, POST a TOTP code.
 * That cookie is what the single-session scenarios send, and it must get the origin's page.
 *
 * Cookies beyond the first are MINTED, not signed in through the pages: with
 * `createSessionManager(...).issue()` from src/session/session.ts under the scenario's own
 * loaded config and secret, which is the very sealing the gateway does when the sign-in
 * flow finishes (level 2, amr pwd+totp; level 1, amr pwd for the trusted-network config).
 * Signing in thousands of users through the pages would cost an argon2 hash, a TOTP
 * enrollment and a few store writes each (minutes for 5,000 users, an hour for 100,000), and
 * none of that is what the session scenarios measure: they measure requests that carry a
 * valid cookie. The gateway cannot tell a minted cookie from one it issued.
 *
 * Cookies age: after a quarter of `session.idle_timeout` the gateway re-seals a session on its
 * next request and sends the new cookie. A browser takes it; wrk cannot and would send the
 * stale cookie on and on. So before each repetition `renew()` does what the browser does: one
 * request with the signed-in cookie, keeping a new cookie when the gateway sends one; and once
 * the minted cookies are half-way to their renewal, fresh minted cookies for the rest, each
 * sent once before the warm-up (a minted cookie is not in the gateway's cache yet, and its
 * first unseal should not land in the measured run). Minting again starts new sessions (the old
 * ones are left, as by users who went away), so the many-sessions scenarios set a long idle
 * timeout: their N sessions are then the same N through the whole run.
 */

import { rename, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { parseDuration } from '../src/config/duration.ts';
import { loadConfig, formatProblem } from '../src/config/load.ts';
import type { GatewayConfig } from '../src/config/types.ts';
import { hashPassword } from '../src/factors/password/password.ts';
import { base32Decode, generateTotp } from '../src/factors/totp/totp.ts';
import { createSessionManager } from '../src/session/session.ts';
import type { SessionManager } from '../src/session/session.ts';

/** Every bench user's password. */
export const BENCH_PASSWORD = 'bench-password-not-secret';

export const benchUser = (i: number): string => `bench-user-${i}`;

let phc: Promise<string> | null = null;
/** The one argon2id hash every bench user has (same cost as `users add`). */
export function benchHash(): Promise<string> {
  phc ??= hashPassword(BENCH_PASSWORD);
  return phc;
}

/** Writes `total` users (all with the same hash) atomically into `file`. */
export async function writeUsers(file: string, total: number): Promise<void> {
  const line = `    password: "${await benchHash()}"\n`;
  const parts = ['users:\n'];
  for (let i = 0; i < total; i++) parts.push(`  ${benchUser(i)}:\n`, line);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, parts.join(''));
  await rename(tmp, file);
}

// ---- a tiny browser: cookies by name, forms, no redirects followed ------------------------

export interface Reply {
  status: number;
  location: string | undefined;
  body: string;
  setCookies: string[];
}

export class Browser {
  readonly cookies = new Map<string, string>();
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async send(path: string, method = 'GET', form?: Record<string, string>): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = this.header();
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await request(new URL(path, this.base), {
      method: method as 'GET' | 'POST',
      headers,
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    const body = await res.body.text();
    const raw = res.headers['set-cookie'];
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = res.headers.location;
    return { status: res.statusCode, location: Array.isArray(location) ? location[0] : location, body, setCookies };
  }
}

/** The value of a form input in a page. */
export function field(html: string, name: string): string {
  const m =
    new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ??
    new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html);
  if (!m) throw new Error(`no input named ${name} in the page`);
  return m[1]!
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** Loads the scenario's config as the gateway does (the secret comes from `env`). */
export async function loadBenchConfig(configFile: string, env: NodeJS.ProcessEnv): Promise<Readonly<GatewayConfig>> {
  const loaded = await loadConfig(configFile, { ...process.env, ...env });
  if (!loaded.ok) throw new Error(`bench config invalid: ${loaded.problems.map(formatProblem).join('; ')}`);
  return loaded.config;
}

/** A signed-out browser holding the sign-in form's CSRF token. */
export async function signInForm(gatewayUrl: string, prefix: string): Promise<{ browser: Browser; csrf: string }> {
  const browser = new Browser(gatewayUrl);
  const page = await browser.send(`${prefix}sign-in`);
  if (page.status !== 200) throw new Error(`GET ${prefix}sign-in answered ${page.status}`);
  return { browser, csrf: field(page.body, 'csrf') };
}

/**
 * Waits until the gateway has loaded the users file: signs in a different user each try
 * (from the end of the list, so the whole file is loaded), so no account collects denials.
 */
async function waitForUsers(gatewayUrl: string, prefix: string, total: number, timeoutMs = 90_000): Promise<void> {
  const { browser, csrf } = await signInForm(gatewayUrl, prefix);
  const deadline = Date.now() + timeoutMs;
  for (let k = 0; ; k++) {
    const probe = new Browser(gatewayUrl);
    probe.cookies.set(...([...browser.cookies][0] as [string, string]));
    const r = await probe.send(`${prefix}sign-in`, 'POST', {
      username: benchUser(Math.max(0, total - 1 - k)),
      password: BENCH_PASSWORD,
      csrf,
    });
    if (r.status === 303) return;
    if (r.status !== 401) throw new Error(`sign-in of a bench user answered ${r.status}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not load the ${total} bench users within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

export interface SessionSet {
  /** Cookie header values (`name=value`), one per distinct user; [0] signed in through the pages. */
  cookies: string[];
  /** Level of the sessions: 2 (second factor passed) or 1 (trusted network, password only). */
  level: 1 | 2;
  /** Makes every cookie fresh again, as a browser would keep it (see the module comment). */
  renew(): Promise<void>;
}

/** At most this many users are written for the session scenarios (see `mintSessions`). */
const MAX_SESSION_USERS = 5000;

export interface MintOptions {
  /** The env the gateway got (GATEWAY_SESSION_SECRET), so the config loads the same here. */
  env: NodeJS.ProcessEnv;
  /** Users to write into the users file; at least `count` (the sign-in bench wants more). */
  users?: number;
}

/**
 * Gives the session scenarios `count` signed-in cookies, each its own session, of up to
 * 5,000 distinct users (see the module comment): the first through the real sign-in pages,
 * the others minted.
 */
export async function mintSessions(gatewayUrl: string, configFile: string, count: number, options: MintOptions): Promise<SessionSet> {
  const config = await loadBenchConfig(configFile, options.env);
  const prefix = config.server.path_prefix;
  // Distinct sessions do not need as many users: beyond MAX_SESSION_USERS, users hold
  // several sessions each (several browsers), so 100,000 sessions test the session cache,
  // not the size of the users file.
  const sessionUsers = Math.min(count, MAX_SESSION_USERS);
  const total = Math.max(sessionUsers, options.users ?? 0);
  await writeUsers(config.users.file, total);
  await waitForUsers(gatewayUrl, prefix, total);

  // The first user, through the pages.
  const { browser, csrf } = await signInForm(gatewayUrl, prefix);
  const signed = await browser.send(`${prefix}sign-in`, 'POST', { username: benchUser(0), password: BENCH_PASSWORD, csrf });
  if (signed.status !== 303) throw new Error(`sign-in of ${benchUser(0)} answered ${signed.status}`);
  const sessionName = (await sessionManager(config)).cookieName;
  let home = await browser.send('/');
  let level: 1 | 2 = 1;
  if (home.status !== 200) {
    // The config wants the second factor: enroll an authenticator app, as a new user does.
    const page = await browser.send(`${prefix}enroll`);
    if (page.status !== 200) throw new Error(`GET ${prefix}enroll answered ${page.status}${page.location ? ` to ${page.location}` : ''}`);
    const m = /<code class="secret">(.*?)<\/code>/s.exec(page.body);
    if (!m) throw new Error('no secret on the enrollment page');
    const secret = m[1]!.replace(/<[^>]+>/g, '').replace(/\s+/g, '');
    const code = generateTotp({
      secret: base32Decode(secret),
      now: Date.now(),
      period: config.mfa.totp.period,
      digits: 6,
      algorithm: 'sha1',
    });
    const done = await browser.send(`${prefix}enroll`, 'POST', { code, csrf: field(page.body, 'csrf') });
    if (done.status !== 303) throw new Error(`enrollment of ${benchUser(0)} answered ${done.status}`);
    level = 2;
    home = await browser.send('/');
  }
  if (home.status !== 200)
    throw new Error(`GET / with the signed-in cookie answered ${home.status}${home.location ? ` to ${home.location}` : ''}`);
  const first = browser.cookies.get(sessionName);
  if (!first) throw new Error(`no ${sessionName} cookie after sign-in`);

  // The others, minted with the gateway's own sealing.
  const renewAfterMs = parseDuration(config.session.idle_timeout) / 4;
  let mintedAt = 0;
  const mint = async (): Promise<string[]> => {
    mintedAt = Date.now();
    const manager = await sessionManager(config);
    const out: string[] = [];
    const amr = level === 2 ? ['pwd', 'totp'] : ['pwd'];
    // `issue` is asynchronous; batches keep several in flight.
    for (let from = 1; from < count; from += 256) {
      const batch = [];
      for (let i = from; i < Math.min(count, from + 256); i++)
        batch.push(manager.issue({ user: benchUser(i % sessionUsers), level, amr, ic: false, auth: Date.now() }));
      for (const { setCookie } of await Promise.all(batch)) out.push(setCookie.slice(0, setCookie.indexOf(';')));
    }
    return out;
  };
  const minted = count > 1 ? await mint() : [];
  // The gateway has not seen them yet: one request each, so no first unseal lands in a measured run.
  await prime(gatewayUrl, minted);
  const set: SessionSet = {
    cookies: [`${sessionName}=${first}`, ...minted],
    level,
    async renew() {
      // The signed-in cookie: one request, and the refreshed cookie if the gateway sends one.
      const again = await browser.send('/');
      if (again.status !== 200) throw new Error(`renew: GET / with the signed-in cookie answered ${again.status}`);
      const current = browser.cookies.get(sessionName);
      if (count === 1 || Date.now() - mintedAt < renewAfterMs / 2) {
        set.cookies[0] = `${sessionName}=${current}`;
        return;
      }
      const fresh = await mint();
      set.cookies = [`${sessionName}=${current}`, ...fresh];
      // (A cookie the gateway issued or refreshed itself is in its cache already; only minted ones need this.)
      await prime(gatewayUrl, fresh);
    },
  };
  return set;
}

/**
 * One GET / per cookie, 32 at a time, each must get 200. A 503 is asked again (up to 20 times,
 * 100 ms apart): a gateway slowed down a lot (under valgrind, bench/instructions.ts) can miss its
 * change feed's deadline and fail closed for a moment, as it should.
 */
async function prime(gatewayUrl: string, cookies: string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cookies.length) {
      const cookie = cookies[next++]!;
      for (let attempt = 1; ; attempt++) {
        const res = await request(gatewayUrl, { headers: { cookie } });
        await res.body.dump();
        if (res.statusCode === 200) break;
        if (res.statusCode !== 503 || attempt === 20) throw new Error(`priming a minted cookie: GET / answered ${res.statusCode}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** The gateway's session layer for `config`, with no revocations and the real clock. */
async function sessionManager(config: Readonly<GatewayConfig>): Promise<SessionManager> {
  return createSessionManager({
    config: config.session,
    publicUrl: new URL(config.server.public_url),
    revocations: {
      sessionsRevokedAt: () => undefined,
      sessionRevoked: () => false,
      devicesRevokedAt: () => undefined,
      current: () => true,
    },
    clock: Date.now,
    cacheMax: 1,
  });
}
