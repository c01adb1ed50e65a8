// Issue 12: `mfa-gateway sessions list|end` as a real child process against the SQLite file
// of a running gateway: the list shows each session with its browser and address, ending one
// by id (or a prefix) refuses that browser's cookie within a second while the other goes
// on, --all ends the rest, each end is in the sign-in log with who ran it, and bad
// arguments change nothing.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  Browser,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
  field,
  type TestGateway,
} from '../helpers/gateway.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

function cli(gw: TestGateway, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--config', join(gw.dir, 'gateway.yaml')], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function refusedWithin(browser: Browser): Promise<number | null> {
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    if ((await browser.get('/app')).status === 302) return elapsed;
    if (elapsed >= 1000) return null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A second browser of bob's, signed in with the code from his enrolled authenticator. */
async function secondBrowser(gw: TestGateway, secret: string, ua: string): Promise<Browser> {
  const b = new Browser(gw.port, { 'user-agent': ua });
  await signInPassword(b, 'bob');
  const sf = await b.get('/.gateway/second-factor');
  gw.clock.now += 30_000;
  await b.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(sf.body, 'csrf') });
  return b;
}

t.test('sessions list and end from another process', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  gw.clock.now = Date.now() - 60_000;
  const first = new Browser(gw.port, { 'user-agent': FIREFOX });
  const secret = await signInWithEnrollment(first, gw, 'bob');
  const second = await secondBrowser(gw, secret, SAFARI);
  t.equal((await first.get('/app')).status, 200);
  t.equal((await second.get('/app')).status, 200);
  const index = await gw.store.listSessions('bob');
  const one = index.find((s) => s.createdUserAgent === FIREFOX);
  const two = index.find((s) => s.createdUserAgent === SAFARI);

  const listed = await cli(gw, 'sessions', 'list', 'BOB');
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /^ID\s+STARTED\s+LAST SEEN\s+ADDRESS\s+BROWSER\s+SIGNED IN WITH\n/);
  t.match(listed.stdout, new RegExp(`${one!.sid.slice(0, 16)} .*127\\.0\\.0\\.1\\s+Firefox on Windows\\s+pwd,otp,mfa`));
  t.match(listed.stdout, new RegExp(`${two!.sid.slice(0, 16)} .*Safari on macOS`));
  const json = await cli(gw, 'sessions', 'list', 'bob', '--json');
  const parsed = JSON.parse(json.stdout) as Array<{ id: string; startedFrom: { userAgent: string }; amr: string[] }>;
  t.same(parsed.map((s) => s.id).sort(), [one!.sid, two!.sid].sort());
  t.equal(parsed.find((s) => s.id === two!.sid)?.startedFrom.userAgent, SAFARI);

  for (const [name, args] of [
    ['no action', []],
    ['unknown action', ['kill', 'bob']],
    ['end without id or --all', ['end', 'bob']],
    ['end with both', ['end', 'bob', one!.sid, '--all']],
    ['a prefix too short', ['end', 'bob', one!.sid.slice(0, 4)]],
    ['list with an id', ['list', 'bob', one!.sid]],
  ] as const) {
    const run = await cli(gw, 'sessions', ...args);
    t.equal(run.code, 2, `${name}: usage error`);
  }
  const unknown = await cli(gw, 'sessions', 'end', 'bob', 'zzzzzzzzzz');
  t.equal(unknown.code, 1, 'no such session: exit 1');
  t.match(unknown.stderr, /no live session of bob starts with "zzzzzzzzzz"/);
  // An id may start with "-" (base64url): it is taken as an id, not an option.
  const dash = await cli(gw, 'sessions', 'end', 'bob', '-S-mTZLGsq');
  t.equal(dash.code, 1);
  t.match(dash.stderr, /no live session of bob starts with "-S-mTZLGsq"/);
  const otherUser = await cli(gw, 'sessions', 'end', 'alice', one!.sid);
  t.equal(otherUser.code, 1, "another user's name does not reach bob's session");
  t.equal((await gw.store.listSessions('bob')).length, 2, 'nothing ended by a bad command');

  const ended = await cli(gw, 'sessions', 'end', 'bob', two!.sid.slice(0, 10));
  t.equal(ended.code, 0, ended.stderr);
  t.match(ended.stdout, /^bob: 1 session ended; running gateways apply it within a second/);
  const ms = await refusedWithin(second);
  t.ok(ms !== null, `the ended browser is refused within a second (after ${ms?.toFixed(0)} ms)`);
  t.equal((await first.get('/app')).status, 200, 'the other session goes on');
  const [entry] = (await gw.store.query({ limit: 5 })).filter((e) => e.kind === 'revocation');
  t.equal(entry?.detail, `session ${two!.sid.slice(0, 8)} (Safari on macOS, 127.0.0.1) ended by ${userInfo().username}`);

  const all = await cli(gw, 'sessions', 'end', 'bob', '--all');
  t.match(all.stdout, /^bob: 1 session ended/);
  t.ok((await refusedWithin(first)) !== null, '--all ends the rest within a second');
  t.match((await cli(gw, 'sessions', 'list', 'bob')).stdout, /^bob has no live sessions\n$/);
});

t.test('sessions --help and the command list', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const help = await cli(gw, 'sessions', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /mfa-gateway sessions end NAME SESSION-ID\|--all/);
  t.match((await cli(gw, '--help')).stdout, /\n {2}sessions +list a user's sessions/);
});
