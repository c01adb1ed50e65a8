/**
 * @module test/helpers/postgres
 * A fresh PostgreSQL schema per test on the shared test database (127.0.0.1:5432, database
 * `test`, trust auth; `MFA_TEST_POSTGRES_URL` overrides), so parallel test files never see
 * each other's rows. The store connects with `options=-c search_path=<schema>` in its URL,
 * exactly as an operator would point a gateway at a schema.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import type { Test } from 'tap';

export const TEST_POSTGRES_URL = process.env.MFA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  name: string;
  /** The connection URL with the schema as the search path. */
  url: string;
  /** Runs one statement as the test's administrator (outside the store), in the schema. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A URL for `base` whose connections use `schema` as their search path. */
export function withSearchPath(base: string, schema: string): string {
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export async function freshSchema(): Promise<TestSchema> {
  const name = `mfa_test_${randomBytes(6).toString('hex')}`;
  const url = withSearchPath(TEST_POSTGRES_URL, name);
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url,
    async query(sql, params) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * A TCP relay to the server of `url` that the test can cut, as an outage would, and restore
 * on the same port, as the network coming back would; `url` through the relay.
 */
export async function relay(t: Test, url: string): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  t.teardown(() => (server.listening ? cut() : undefined));
  const port = (server.address() as { port: number }).port;
  const restore = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const via = new URL(url);
  via.port = String(port);
  return { url: via.toString(), cut, restore };
}
