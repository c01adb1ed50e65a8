// The admin commands as real child processes (`node bin/mfa-gateway.js ...`) against the
// SQLite file of a running gateway: a block and a revoke end a live session within one
// second, and the commands' arguments, help and records.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';
import { Browser, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { startSmtp } from '../notify/smtp.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(gw: TestGateway, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--config', join(gw.dir, 'gateway.yaml')], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Polls `/app` every 50 ms for up to a second; returns the milliseconds until it was refused, or null. */
async function refusedWithin(browser: Browser): Promise<number | null> {
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    if ((await browser.get('/app')).status === 302) return elapsed;
    if (elapsed >= 1000) return null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A gateway whose frozen clock stands at real time: the CLI process stamps its changes with the real clock. */
async function liveGateway(t: Parameters<typeof startTestGateway>[0]): Promise<TestGateway> {
  const gw = await startTestGateway(t, await startUpstream(t));
  gw.clock.now = Date.now() - 60_000;
  return gw;
}

t.test('mfa-gateway block from another process ends a live session within one second', async (t) => {
  const gw = await liveGateway(t);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get('/app')).status, 200);

  const run = await cli(gw, 'block', 'BOB', '--reason', 'laptop stolen', '--days', '7');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^blocked bob until /);
  const ms = await refusedWithin(bob);
  t.ok(ms !== null, `refused within one second (after ${ms?.toFixed(0)} ms)`);

  const block = await gw.store.blockOf('bob');
  t.match(block, { reason: 'laptop stolen', actor: userInfo().username });
  t.ok(block && Math.abs(block.until - block.blockedAt - 7 * 86_400_000) === 0, '--days sets the length');
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 403, 'sign-in is denied as blocked');

  const unblock = await cli(gw, 'unblock', 'bob', '--reason', 'laptop found');
  t.equal(unblock.code, 0, unblock.stderr);
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 303, 'unblocked: the password step passes');
  const again = await cli(gw, 'unblock', 'bob', '--reason', 'twice');
  t.equal(again.code, 1);
  t.match(again.stderr, /not blocked/);
  t.same(
    (await gw.store.blockHistory('bob')).map((e) => [e.action, e.reason]),
    [
      ['unblock', 'laptop found'],
      ['block', 'laptop stolen'],
    ],
  );
});

t.test('mfa-gateway revoke from another process ends a live session within one second', async (t) => {
  const gw = await liveGateway(t);
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  t.equal((await alice.get('/app')).status, 200);

  const devicesOnly = await cli(gw, 'revoke', 'alice', '--devices');
  t.equal(devicesOnly.code, 0, devicesOnly.stderr);
  t.not(await gw.store.devicesRevokedAt('alice'), null);
  t.equal(await gw.store.sessionsRevokedAt('alice'), null, '--devices leaves sessions alone');
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.equal((await alice.get('/app')).status, 200, 'the session still works');

  const run = await cli(gw, 'revoke', 'alice', '--sessions');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /alice: sessions ended/);
  const ms = await refusedWithin(alice);
  t.ok(ms !== null, `refused within one second (after ${ms?.toFixed(0)} ms)`);
  const log = await gw.store.query({ user: 'alice', limit: 10 });
  t.match(log[0], { kind: 'revocation', outcome: 'success', detail: `sessions ended by ${userInfo().username}` });
});

t.test('revoke with neither flag ends sessions and forgets remembered browsers', async (t) => {
  const gw = await liveGateway(t);
  const run = await cli(gw, 'revoke', 'bob');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /sessions ended, remembered browsers forgotten/);
  t.not(await gw.store.sessionsRevokedAt('bob'), null);
  t.not(await gw.store.devicesRevokedAt('bob'), null);
});

/** Runs a command in-process (argument handling needs no second process). */
async function inProcess(gw: TestGateway, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        append(chunk.toString());
        done();
      },
    });
  const code = await main([...args, '--config', join(gw.dir, 'gateway.yaml')], {
    stdin: process.stdin,
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: process.env,
  });
  return { code, stdout, stderr };
}

t.test('block, unblock and revoke: help, usage errors, unknown names', async (t) => {
  const gw = await liveGateway(t);
  for (const name of ['block', 'unblock', 'revoke']) {
    const help = await inProcess(gw, name, '--help');
    t.equal(help.code, 0);
    t.match(help.stdout, new RegExp(`^Usage: mfa-gateway ${name} NAME`));
  }
  const noReason = await inProcess(gw, 'block', 'bob');
  t.equal(noReason.code, 2);
  t.match(noReason.stderr, /--reason TEXT is required/);
  const badDays = await inProcess(gw, 'block', 'bob', '--reason', 'r', '--days', '0');
  t.equal(badDays.code, 2);
  t.match(badDays.stderr, /days must be a whole number from 1 to 3650/);
  t.equal((await inProcess(gw, 'block', 'bob', '--reason', 'r', '--days', 'soon')).code, 2);
  t.equal((await inProcess(gw, 'revoke', 'bob', 'alice')).code, 2);
  t.equal((await inProcess(gw, 'unblock', 'bob', '--reason', '')).code, 2);
  t.equal(await gw.store.blockOf('bob'), null, 'nothing was changed by the refused commands');

  const unknown = await inProcess(gw, 'block', 'carol', '--reason', 'federated contractor');
  t.equal(unknown.code, 0);
  t.match(unknown.stderr, /"carol" is not in .*users\.yaml/, 'a name outside the users file is applied with a note');
  const block = await gw.store.blockOf('carol');
  t.equal(block && block.until - block.blockedAt, 90 * 86_400_000, 'the default is mfa.block.days (90)');
});

t.test('a block from the command line e-mails the admins from that process', async (t) => {
  const smtp = await startSmtp(t);
  const gw = await startTestGateway(t, await startUpstream(t), {
    notifications: { smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'MFA Gateway <gateway@example.com>' } },
    mfa: { methods: ['totp'], first_enrollment: 'anywhere', fraud_alert: { notify: ['security@example.com'] } },
  });
  const run = await cli(gw, 'block', 'bob', '--reason', 'phone reported stolen');
  t.equal(run.code, 0, run.stderr);
  const mail = await smtp.next(10_000);
  t.same(mail.to, ['security@example.com']);
  t.match(mail.text, /bob/);
  t.match(mail.text, /phone reported stolen/);
  // The running gateway learns of the block within a poll; it must not send a second notice.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(smtp.mails.length, 1, 'exactly one notice');
});
