// The migration files: found where the package ships them, the same numbers for both
// databases, and a folder that two merged branches left with one number twice is refused.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { numberPlaceholders } from '../../src/store/postgres/dialect.ts';
import { loadMigrations } from '../../src/store/sql/migrate.ts';

t.test('both databases have the same migration numbers, each named by its first line', async (t) => {
  const sqlite = loadMigrations('sqlite');
  const postgres = loadMigrations('postgres');
  t.ok(sqlite.length >= 6);
  t.same(
    postgres.map((m) => [m.version, m.name]),
    sqlite.map((m) => [m.version, m.name]),
  );
  t.same(
    sqlite.map((m) => m.version),
    sqlite.map((_, i) => i + 1),
    'numbered 1, 2, 3 ... without a gap',
  );
  t.equal(sqlite[0]?.name, 'methods, pending enrollments, revocations, change counter, sign-in log');
});

function folder(t: Test, files: string[]): URL {
  const root = mkdtempSync(join(tmpdir(), 'mfa-migrations-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'sqlite'));
  for (const f of files) writeFileSync(join(root, 'sqlite', f), `-- ${f}\nSELECT 1;\n`);
  return pathToFileURL(`${root}/`);
}

const refused: Array<[string, string[], RegExp]> = [
  ['one number twice (two branches merged)', ['0001-a.sql', '0002-b.sql', '0002-c.sql'], /two sqlite migrations are numbered 2/],
  ['a number without four digits', ['0001-a.sql', '2-b.sql'], /2-b.sql is not named NNNN-<what>.sql/],
  ['no name after the number', ['0001.sql'], /0001.sql is not named/],
  ['an upper-case name', ['0001-Methods.sql'], /is not named/],
];
for (const [name, files, message] of refused) {
  t.test(`refused: ${name}`, async (t) => {
    t.throws(() => loadMigrations('sqlite', folder(t, files)), message);
  });
}

t.test('other files in the folder are ignored; migrations come in number order', async (t) => {
  const got = loadMigrations('sqlite', folder(t, ['0010-j.sql', '0002-b.sql', 'README.md']));
  t.same(
    got.map((m) => m.version),
    [2, 10],
  );
});

t.test('PostgreSQL placeholders: ? becomes $n, except inside string literals', async (t) => {
  const cases: Array<[string, string]> = [
    ['SELECT * FROM t WHERE a = ? AND b < ?', 'SELECT * FROM t WHERE a = $1 AND b < $2'],
    ["INSERT INTO t (a, b) VALUES (?, '[]') ON CONFLICT DO NOTHING", "INSERT INTO t (a, b) VALUES ($1, '[]') ON CONFLICT DO NOTHING"],
    ["SELECT '?' AS q, ? AS p", "SELECT '?' AS q, $1 AS p"],
    ["SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"],
    ['UPDATE t SET d = ?::jsonb WHERE k = ?', 'UPDATE t SET d = $1::jsonb WHERE k = $2'],
  ];
  for (const [sql, expected] of cases) t.equal(numberPlaceholders(sql), expected, sql);
});
