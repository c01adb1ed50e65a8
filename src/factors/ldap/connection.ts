/**
 * @module factors/ldap/connection
 * Connections to the directory with ldapts (typed, promise-based, maintained, pure
 * JavaScript; StartTLS and RFC 4515 filters built in). Every connect and every operation is
 * bounded by `timeout`; the URLs are tried in order and one that failed is tried last for
 * 30 seconds (failover); TLS always verifies the certificate. A small pool of connections
 * bound as the service account serves searches; a user's password is checked by a bind on a
 * connection of its own, so the pool never runs as a user.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import type { LdapConfig } from '../../config/types.ts';
import { parseDuration } from '../../config/duration.ts';

/** The directory cannot answer now (down, slow, refused the service account); the detail is for the log. */
export class DirectoryUnavailableError extends Error {
  override name = 'DirectoryUnavailableError';
}

/**
 * LDAP result codes that say the server cannot serve now rather than "no": busy (51),
 * unavailable (52), unwilling to perform (53), time limit exceeded (3), other (80).
 */
const UNAVAILABLE_CODES = new Set([3, 51, 52, 53, 80]);

/** True when `err` is the server answering "no" to this request (wrong password, no such object), not an outage. */
export function isDirectoryAnswer(err: unknown): err is ResultCodeError {
  return err instanceof ResultCodeError && !UNAVAILABLE_CODES.has(err.code);
}

export interface ConnectionSettings {
  urls: readonly string[];
  startTls: boolean;
  tls: ConnectionOptions;
  timeoutMs: number;
  bindDn: string | undefined;
  bindPassword: string | undefined;
  poolSize: number;
}

/** How long a URL that failed is tried after the others. */
const URL_PENALTY_MS = 30_000;

export function connectionSettings(c: LdapConfig): ConnectionSettings {
  return {
    urls: typeof c.url === 'string' ? [c.url] : c.url,
    startTls: c.start_tls,
    tls: {
      ...(c.tls.ca_file === undefined ? {} : { ca: readFileSync(c.tls.ca_file) }),
      ...(c.tls.server_name === undefined ? {} : { servername: c.tls.server_name }),
      minVersion: c.tls.min_version,
      rejectUnauthorized: true,
    },
    timeoutMs: parseDuration(c.timeout),
    bindDn: c.bind_dn,
    bindPassword: c.bind_password,
    poolSize: c.pool_size,
  };
}

/** Rejects with DirectoryUnavailableError when `work` takes longer than `ms` (a backstop beside ldapts' own timeouts). */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DirectoryUnavailableError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export interface Connector {
  /**
   * A connection (StartTLS done when configured) bound as `dn` with `password`, from the first
   * URL that answers. A wrong password rejects with the server's ResultCodeError; a directory
   * that cannot be reached with DirectoryUnavailableError.
   */
  open(dn: string, password: string): Promise<{ client: Client; url: string }>;
  /** The URLs in the order they are tried now. */
  order(): string[];
}

export function createConnector(s: ConnectionSettings, clock: () => number = Date.now): Connector {
  const failedAt = new Map<string, number>();
  const order = () => {
    const now = clock();
    const down = (u: string) => (failedAt.get(u) ?? -Infinity) + URL_PENALTY_MS > now;
    return [...s.urls.filter((u) => !down(u)), ...s.urls.filter(down)];
  };

  async function openAt(url: string, dn: string, password: string): Promise<Client> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const tls: ConnectionOptions = { ...s.tls, host, ...(s.tls.servername === undefined && isIP(host) === 0 ? { servername: host } : {}) };
    const secure = url.toLowerCase().startsWith('ldaps:');
    // ldapts speaks TLS from the start whenever tlsOptions are given, so only for ldaps://.
    const client = new Client({
      url,
      timeout: s.timeoutMs,
      connectTimeout: s.timeoutMs,
      ...(secure ? { tlsOptions: tls } : {}),
      strictDN: false,
    });
    try {
      await withDeadline(
        (async () => {
          if (s.startTls && !secure) await client.startTLS(tls);
          await client.bind(dn, password);
        })(),
        s.timeoutMs,
        `connect to ${url}`,
      );
      return client;
    } catch (err) {
      void client.unbind().catch(() => undefined);
      throw err;
    }
  }

  return {
    order,
    async open(dn, password) {
      const problems: string[] = [];
      for (const url of order()) {
        try {
          const client = await openAt(url, dn, password);
          failedAt.delete(url);
          return { client, url };
        } catch (err) {
          // The server's own "no" (a wrong password) is the answer; only outages move on.
          if (isDirectoryAnswer(err)) throw err;
          failedAt.set(url, clock());
          problems.push(`${url}: ${(err as Error).message}`);
        }
      }
      throw new DirectoryUnavailableError(`no directory server answered (${problems.join('; ')})`);
    },
  };
}

export interface ServicePool {
  /** Runs `work` on a connection bound as the service account; one retry on a fresh connection when the first fails by outage. */
  run<T>(work: (client: Client) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Up to `poolSize` service-account connections, opened on demand and kept; a request waits
 * for a free one (at most `timeout`). A connection that failed by outage is dropped, so a
 * restarted or failed-over server is reconnected on the next use.
 */
export function createServicePool(s: ConnectionSettings, connector: Connector): ServicePool {
  const idle: Client[] = [];
  const waiters: Array<(c: Client | null) => void> = [];
  let open = 0;
  let closed = false;

  async function acquire(): Promise<Client | null> {
    const ready = idle.pop();
    if (ready?.isConnected) return ready;
    if (ready !== undefined) open--;
    if (open < s.poolSize) {
      open++;
      return null; // the caller opens a new one in this slot
    }
    return new Promise<Client | null>((resolve, reject) => {
      const waiter = (c: Client | null) => {
        clearTimeout(timer);
        resolve(c);
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new DirectoryUnavailableError(`all ${s.poolSize} directory connections busy for ${s.timeoutMs} ms`));
      }, s.timeoutMs);
      waiters.push(waiter);
    });
  }

  function release(client: Client | null): void {
    const next = waiters.shift();
    if (next !== undefined) return next(client);
    if (client === null || closed) {
      open--;
      if (client !== null) void client.unbind().catch(() => undefined);
      return;
    }
    idle.push(client);
  }

  async function once<T>(work: (client: Client) => Promise<T>): Promise<T> {
    let client = await acquire();
    try {
      client ??= (await connector.open(s.bindDn ?? '', s.bindPassword ?? '')).client;
    } catch (err) {
      release(null);
      if (isDirectoryAnswer(err))
        throw new DirectoryUnavailableError(`the service account cannot bind (${err.message}); check users.ldap.bind_dn and bind_password`);
      throw err;
    }
    try {
      const result = await withDeadline(work(client), s.timeoutMs, 'directory search');
      release(client);
      return result;
    } catch (err) {
      if (isDirectoryAnswer(err)) {
        release(client);
        throw err;
      }
      void client.unbind().catch(() => undefined);
      release(null);
      throw err instanceof DirectoryUnavailableError
        ? err
        : new DirectoryUnavailableError(`directory search failed: ${(err as Error).message}`);
    }
  }

  return {
    async run(work) {
      try {
        return await once(work);
      } catch (err) {
        if (!(err instanceof DirectoryUnavailableError)) throw err;
        // A kept connection may have died with its server; one fresh try goes through failover.
        return once(work);
      }
    },
    async close() {
      closed = true;
      for (const w of waiters.splice(0)) w(null);
      await Promise.all(idle.splice(0).map((c) => c.unbind().catch(() => undefined)));
    },
  };
}
