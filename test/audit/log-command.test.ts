// `mfa-gateway log` against the SQLite file of a running gateway (as a separate command would
// run it): the table, --user, --since, --limit, --json, help and bad arguments.
import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { logCommand } from '../../src/cli/log.ts';
import { auditJsonLine, auditTable, printable } from '../../src/audit/format.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import { Browser, signInPassword, startTestGateway, startUpstream } from '../helpers/gateway.ts';

function io(): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write: (c: Buffer, _e, cb) => {
        add(c.toString('utf8'));
        cb();
      },
    });
  return {
    stdin: new PassThrough(),
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: {},
    out: () => out,
    err: () => err,
  };
}

const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

t.test('the log command shows real sign-ins, filtered by user and time, as a table or JSON lines', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const config = join(gw.dir, 'gateway.yaml');
  const start = gw.clock.now;
  await signInPassword(new Browser(gw.port, { 'user-agent': CHROME }), 'BOB', 'wrong password');
  gw.clock.now += 3 * 3_600_000;
  await signInPassword(new Browser(gw.port, { 'user-agent': CHROME }), 'alice');
  gw.clock.now += 60_000;
  await signInPassword(new Browser(gw.port), 'nobody', 'x');
  const run = async (...args: string[]) => {
    const cmd = io();
    const code = await logCommand(['--config', config, ...args], cmd, { clock: () => gw.clock.now });
    return { code, out: cmd.out(), err: cmd.err() };
  };

  const all = await run();
  t.equal(all.code, 0);
  const lines = all.out.trimEnd().split('\n');
  t.match(lines[0], /^TIME +USER +CLIENT +BROWSER +RULE +OUTCOME +DETAIL$/);
  t.equal(lines.length, 4, 'header and three entries, oldest first');
  // Typed as BOB, logged under the name the users file spells (one name per user in every log).
  t.match(lines[1], /^2026-11-23 09:00:00Z +bob +127\.0\.0\.1 +Chrome on macOS +- +denied +wrong/);
  t.match(lines[2], /^2026-11-23 12:00:00Z +alice +127\.0\.0\.1 +Chrome on macOS +- +success +password ok/);
  t.match(lines[3], /nobody .* denied /);

  const bob = await run('--user', 'BOB');
  t.equal(bob.out.trimEnd().split('\n').length, 2, '--user matches in any letter case');
  const recent = await run('--since', '2h');
  t.notMatch(recent.out, /\bbob\b/, '--since 2h leaves out the entry from 3 hours ago');
  t.match(recent.out, /alice/);
  t.equal((await run('--since', '30m')).out.trimEnd().split('\n').length, 3);
  t.equal((await run('--since', '7d', '--limit', '1')).out.trimEnd().split('\n').length, 2, '--limit keeps the newest');
  t.match((await run('--user', 'nobody-at-all')).out, /no sign-in log entries match/);

  const json = await run('--json', '--user', 'alice');
  const objects = json.out
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(objects.length, 1);
  t.same(Object.keys(objects[0]!), ['time', 'user', 'client_ip', 'user_agent', 'browser', 'rule', 'kind', 'outcome', 'detail']);
  t.match(objects[0], {
    time: new Date(start + 3 * 3_600_000).toISOString(),
    user: 'alice',
    client_ip: '127.0.0.1',
    user_agent: CHROME,
    browser: 'Chrome on macOS',
    rule: null,
    kind: 'password',
    outcome: 'success',
  });
});

t.test('help, registration and bad arguments', async (t) => {
  const help = io();
  t.equal(await main(['log', '--help'], help), 0);
  t.match(help.out(), /Usage: mfa-gateway log \[--user NAME\] \[--kind KIND\] \[--since DURATION\]/);
  const top = io();
  await main(['--help'], top);
  t.match(top.out(), /\n {2}log +print the sign-in log/);
  for (const [args, message] of [
    [['--since', '2 hours'], /--since "2 hours" is not a duration/],
    [['--limit', '0'], /--limit "0"/],
    [['--kind', 'login'], /--kind "login" is not one of password, second_factor, .*, report_only/],
    [['--bogus'], /Unknown option/],
  ] as const) {
    const cmd = io();
    t.equal(await logCommand([...args], cmd), 2);
    t.match(cmd.err(), message);
  }
  const missing = io();
  t.equal(await logCommand(['--config', '/nonexistent/gateway.yaml'], missing), 1);
});

t.test('hostile user names and agents cannot reach the terminal raw', async (t) => {
  const entry = {
    id: 1,
    at: Date.UTC(2026, 0, 1),
    kind: 'password',
    user: 'evil\u001b[2J\u009b31m',
    clientIp: '192.0.2.1',
    userAgent: 'x\u0007',
    rule: 'r\n1',
    outcome: 'denied',
    detail: 'a\u2028b',
  } as const;
  const table = auditTable([entry]);
  t.notMatch(table, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028]/, 'no control characters besides line ends');
  t.match(table, /evil\\u001b\[2J\\u009b31m/);
  t.equal(printable('ok'), 'ok');
  const line = auditJsonLine(entry);
  t.notMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028]/);
  t.equal((JSON.parse(line) as { user: string }).user, entry.user, 'the JSON still carries the exact value');
});
