// `mfa-gateway users access-pass NAME [--valid D] [--uses N]` in-process through the command's
// entry (src/cli/main.ts) against a running gateway's store: the pass is printed once with its
// validity, bad input is refused and changes nothing, and the printed pass opens first
// enrollment at the page that refuses it outside the trusted networks (the default
// `mfa.first_enrollment: trusted_networks`).
import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import {
  Browser,
  enrollmentSecret,
  field,
  pathOf,
  signInPassword,
  startTestGateway,
  startUpstream,
  totpCode,
  type TestGateway,
} from '../helpers/gateway.ts';

const OUTSIDE = '127.0.0.1';

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

async function run(gw: TestGateway, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const cmd = io();
  const code = await main(['users', 'access-pass', ...args, '--config', join(gw.dir, 'gateway.yaml')], cmd);
  return { code, out: cmd.out(), err: cmd.err() };
}

/** The default first enrollment; the command stamps with the real clock, the gateway's frozen one stands just before it. */
async function liveGateway(t: Parameters<typeof startTestGateway>[0]): Promise<TestGateway> {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { first_enrollment: undefined } });
  gw.clock.now = Date.now() - 60_000;
  return gw;
}

const PASS = /^ {2}([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})$/m;

t.test('users access-pass prints the pass once with its validity and uses; the store keeps a hash', async (t) => {
  const gw = await liveGateway(t);
  const before = Date.now();
  const first = await run(gw, 'BOB');
  t.equal(first.code, 0, first.err);
  t.equal(first.err, '');
  const pass = PASS.exec(first.out)?.[1];
  t.ok(pass, `the pass on a line of its own: ${first.out}`);
  t.match(first.out, /^Temporary access pass for bob \(shown once; any earlier pass is void\):/, 'the canonical name');
  const until = Date.parse(/Valid until (\S+) for 1 use\./.exec(first.out)?.[1] ?? '');
  t.ok(Math.abs(until - (before + 8 * 3_600_000)) < 60_000, 'valid 8 hours by default');
  const stored = await gw.store.accessPassOf('bob');
  t.match(stored, { uses: 1, usesLeft: 1, expiresAt: until });
  t.notOk(JSON.stringify(stored).includes(pass!.replaceAll('-', '')), 'the store does not hold the pass itself');

  const custom = await run(gw, 'bob', '--valid', '30m', '--uses', '3');
  t.equal(custom.code, 0, custom.err);
  t.match(custom.out, /for 3 uses\./);
  const second = PASS.exec(custom.out)![1]!;
  t.not(second, pass, 'a new pass each time');
  const untilCustom = Date.parse(/Valid until (\S+) for 3 uses/.exec(custom.out)![1]!);
  t.ok(Math.abs(untilCustom - (Date.now() + 30 * 60_000)) < 60_000, 'valid 30 minutes');
  t.match(await gw.store.accessPassOf('bob'), { uses: 3, usesLeft: 3 }, 'the new pass replaced the old one');
  const log = await gw.store.query({ user: 'bob', limit: 10 });
  t.equal(log.filter((e) => /temporary access pass issued by/.test(e.detail)).length, 2, 'each issue is logged');
  t.notOk(
    log.some((e) => e.detail.includes(second)),
    'the log never holds the pass',
  );

  const help = io();
  t.equal(await main(['users', 'access-pass', '--help'], help), 0);
  t.match(help.out(), /--valid D +how long it is valid/);
});

t.test('users access-pass refuses bad input and changes nothing', async (t) => {
  const gw = await liveGateway(t);
  const cases: [string, string[], number, RegExp][] = [
    ['unknown user', ['nobody'], 1, /no user "nobody" in .*users\.yaml/],
    ['no name', [], 2, /takes exactly one NAME/],
    ['two names', ['bob', 'alice'], 2, /takes exactly one NAME/],
    ['not a duration', ['bob', '--valid', 'eight hours'], 2, /--valid "eight hours" is not a duration/],
    ['a negative duration', ['bob', '--valid=-8h'], 2, /--valid "-8h" is not a duration/],
    ['too short', ['bob', '--valid', '30s'], 1, /1 minute to 30 days/],
    ['too long', ['bob', '--valid', '31d'], 1, /1 minute to 30 days/],
    ['zero uses', ['bob', '--uses', '0'], 1, /1 to 10 uses/],
    ['too many uses', ['bob', '--uses', '11'], 1, /1 to 10 uses/],
    ['uses not a number', ['bob', '--uses', 'two'], 2, /--uses "two" is not a whole number/],
    ['fractional uses', ['bob', '--uses', '1.5'], 2, /--uses "1\.5" is not a whole number/],
    ['unknown option', ['bob', '--forever'], 2, /Unknown option '--forever'/],
  ];
  for (const [name, args, code, message] of cases) {
    const r = await run(gw, ...args);
    t.equal(r.code, code, `${name}: exit ${code}`);
    t.match(r.err, message, `${name}: says why`);
    t.notMatch(r.out, PASS, `${name}: no pass printed`);
  }
  t.equal(await gw.store.accessPassOf('bob'), null, 'no pass was issued');
  t.equal(await gw.store.accessPassOf('nobody'), null);
  t.equal((await gw.store.query({ limit: 50 })).filter((e) => /access pass/.test(e.detail)).length, 0, 'nothing logged');
});

t.test('the printed pass works at the page that refuses first enrollment outside, once', async (t) => {
  const gw = await liveGateway(t);
  const bob = new Browser(gw.port, {}, OUTSIDE);
  t.equal((await signInPassword(bob, 'bob')).status, 303);
  const refused = await bob.get('/.gateway/enroll');
  t.equal(refused.status, 403, 'first enrollment refused outside the trusted networks');
  const { out } = await run(gw, 'bob');
  const pass = PASS.exec(out)![1]!;
  const accepted = await bob.post('/.gateway/enroll/access-pass', { pass, csrf: field(refused.body, 'csrf') });
  t.equal(accepted.status, 303, 'the printed pass is accepted');
  t.match(pathOf(accepted.headers.location), /^\/\.gateway\/enroll/);
  const enroll = await bob.get('/.gateway/enroll');
  t.equal(enroll.status, 200, 'enrollment is open');
  const done = await bob.post('/.gateway/enroll', {
    code: totpCode(enrollmentSecret(enroll.body), gw.clock.now),
    csrf: field(enroll.body, 'csrf'),
  });
  t.equal(done.status, 303);
  t.equal((await bob.get('/app')).status, 200, 'bob reaches the app with his new method');
  t.match(await gw.store.accessPassOf('bob'), { usesLeft: 0 }, 'the one use is spent');

  const other = new Browser(gw.port, {}, OUTSIDE);
  await signInPassword(other, 'bob');
  const codePage = await other.get('/.gateway/second-factor');
  t.equal(
    (await other.post('/.gateway/second-factor', { code: pass, csrf: field(codePage.body, 'csrf') })).status,
    401,
    'the pass is no second factor',
  );
});
