/**
 * @module test/helpers/gateway
 * Starts real parts for integration tests: an upstream app that records what it received,
 * a gateway on port 0 with a config written to a temp dir, and a small HTTP client that
 * sends request targets byte for byte (no client-side path cleanup) and keeps cookies.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import YAML from 'yaml';
import type { Test } from 'tap';
import { loadConfig, formatProblem } from '../../src/config/load.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/server/gateway.ts';
import { generateTotp, base32Decode } from '../../src/factors/totp/totp.ts';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Upstream {
  url: string;
  server: Server;
  requests: Recorded[];
}

/** An upstream that answers 200 with a small body and records each request. */
export async function startUpstream(t: Test, handler?: Parameters<typeof createServer>[1]): Promise<Upstream> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (handler) return handler(req, res);
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`upstream saw ${req.method} ${req.url}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, server, requests };
}

export const PASSWORDS: Record<string, string> = { alice: 'alice-test-password', bob: 'bob-test-password' };

let usersYaml: Promise<string> | undefined;
/** alice (admins, users) and bob (users); hashed once per test process. */
function usersFile(): Promise<string> {
  usersYaml ??= (async () =>
    YAML.stringify({
      users: {
        alice: {
          password: await hash(PASSWORDS.alice!, { algorithm: 2 }),
          email: 'alice@example.com',
          name: 'Alice Example',
          groups: ['admins', 'users'],
        },
        bob: { password: await hash(PASSWORDS.bob!, { algorithm: 2 }), email: 'bob@example.com', name: 'Bob Builder', groups: ['users'] },
      },
    }))();
  return usersYaml;
}

const SECRET = 'test-session-secret-that-is-long-enough-0123456789';

export interface TestGateway extends RunningGateway {
  dir: string;
  port: number;
  /** The frozen clock; move it with `clock.now += ms`. */
  clock: { now: number };
}

/**
 * Writes a config (the given sections over test defaults) and starts a gateway on port 0.
 * `rules` default to the issue's sample policy.
 */
export async function startTestGateway(
  t: Test,
  upstream: Upstream,
  overrides: Record<string, unknown> = {},
  /** Further `startGateway` options, e.g. listeners such as `onLockout`. */
  options: Pick<GatewayOptions, 'onLockout' | 'mailRetryDelaysMs' | 'log' | 'passwordVerifier'> = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-'));
  writeFileSync(join(dir, 'users.yaml'), await usersFile());
  const { server, mfa, users, ...rest } = overrides as {
    server?: Record<string, unknown>;
    mfa?: Record<string, unknown>;
    users?: Record<string, unknown>;
  };
  const config = {
    server: { listen: '127.0.0.1:0', public_url: 'http://gateway.test', trusted_proxies: ['127.0.0.2/32'], ...server },
    upstream: { url: upstream.url },
    session: { secret: SECRET },
    store: { sqlite: { path: join(dir, 'gateway.db') } },
    users: { file: join(dir, 'users.yaml'), ...users },
    mfa: { methods: ['totp'], first_enrollment: 'anywhere', trusted_ips: { ranges: ['10.0.0.0/8', 'fd00::/8', '127.0.0.3/32'] }, ...mfa },
    log: { level: 'fatal' },
    rules: [
      { paths: ['/public/**', '/health'], policy: 'bypass' },
      { paths: ['/admin/**'], groups: ['admins'], policy: 'two_factor' },
      { paths: ['/**'], policy: 'two_factor' },
    ],
    ...rest,
  };
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, YAML.stringify(config));
  const loaded = await loadConfig(file, {});
  if (!loaded.ok) throw new Error(`test config invalid:\n${loaded.problems.map(formatProblem).join('\n')}`);
  const clock = { now: Date.parse('2026-11-23T09:00:00Z') };
  const gateway = await startGateway({ ...options, config: loaded.config, clock: () => clock.now, listen: { host: '127.0.0.1', port: 0 } });
  t.teardown(() => gateway.close());
  return Object.assign(gateway, { dir, port: (gateway.server.address() as { port: number }).port, clock });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
  /** Source address on loopback, e.g. 127.0.0.2 to act as a trusted proxy. */
  localAddress?: string;
}

/** Sends `target` exactly as given (Node's client does not normalize paths). */
export function send(port: number, target: string, opts: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: target,
        method: opts.method ?? 'GET',
        headers: { host: 'gateway.test', ...opts.headers },
        localAddress: opts.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A browser-like client: keeps cookies, posts forms, never follows redirects by itself. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly port: number;
  readonly extraHeaders: Record<string, string>;
  /** Source address on loopback, e.g. 127.0.0.3 to come from a trusted network. */
  readonly localAddress: string | undefined;
  constructor(port: number, extraHeaders: Record<string, string> = {}, localAddress?: string) {
    this.port = port;
    this.extraHeaders = extraHeaders;
    this.localAddress = localAddress;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(target: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.keep(
      await send(this.port, target, {
        localAddress: this.localAddress,
        headers: { ...this.extraHeaders, cookie: this.cookieHeader(), ...headers },
      }),
    );
  }

  async post(target: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    const body = new URLSearchParams(form).toString();
    return this.keep(
      await send(this.port, target, {
        method: 'POST',
        body,
        localAddress: this.localAddress,
        headers: { ...this.extraHeaders, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      }),
    );
  }

  private keep(reply: Reply): Reply {
    const set = reply.headers['set-cookie'] ?? [];
    for (const line of set) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return reply;
  }
}

/** The value of a hidden or text input in a page. */
export function field(html: string, name: string): string {
  const m =
    new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ??
    new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html);
  if (!m) throw new Error(`no input named ${name} in page`);
  return m[1]!
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** The path part of a Location header. */
export function pathOf(location: string | undefined): string {
  if (!location) throw new Error('no Location header');
  const u = new URL(location, 'http://gateway.test');
  return u.pathname + u.search;
}

/** Signs in with the password only; returns the reply to the POST. */
export async function signInPassword(browser: Browser, user: string, password = PASSWORDS[user]!, rd?: string): Promise<Reply> {
  const form = await browser.get(`/.gateway/sign-in${rd ? `?rd=${encodeURIComponent(rd)}` : ''}`);
  return browser.post('/.gateway/sign-in', { username: user, password, csrf: field(form.body, 'csrf'), ...(rd ? { rd } : {}) });
}

/** The Base32 secret shown on the enrollment page. */
export function enrollmentSecret(html: string): string {
  const m = /<code class="secret">(.*?)<\/code>/s.exec(html);
  if (!m) throw new Error('no secret on the enrollment page');
  return m[1]!.replace(/<[^>]+>/g, '').replace(/\s+/g, '');
}

export function totpCode(secretBase32: string, now: number): string {
  return generateTotp({ secret: base32Decode(secretBase32), now, period: 30, digits: 6, algorithm: 'sha1' });
}

/** Password, then first enrollment, then code: a full second-factor session. Returns the secret. */
export async function signInWithEnrollment(browser: Browser, gateway: TestGateway, user: string): Promise<string> {
  const signed = await signInPassword(browser, user);
  if (signed.status !== 303) throw new Error(`sign-in failed: ${signed.status}`);
  const page = await browser.get('/.gateway/enroll');
  if (page.status !== 200) throw new Error(`enroll page: ${page.status}`);
  const secret = enrollmentSecret(page.body);
  const done = await browser.post('/.gateway/enroll', { code: totpCode(secret, gateway.clock.now), csrf: field(page.body, 'csrf') });
  if (done.status !== 303) throw new Error(`enrollment failed: ${done.status} ${done.body.slice(0, 200)}`);
  return secret;
}

export interface RawReply {
  status: number;
  /** The response head as received, status line included. */
  head: string;
  body: string;
}

/**
 * Writes `bytes` to a fresh connection as they are (several Host lines, absolute-form
 * targets, raw tabs: nothing an HTTP client library would let through) and reads one
 * response until the server closes. Send `Connection: close` in `bytes`.
 */
export function sendRaw(port: number, bytes: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    // write, not end: a half-closed connection may be dropped before a forwarded answer arrives.
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}
