// The method commands as real child processes (`node bin/mfa-gateway.js ...`) against a
// running gateway's SQLite file and users file: users reset-mfa ends a live session and the
// next sign-in enrolls again; users make-admin keeps the file's comments; tokens import
// (with its error CSV and exit code), activate and list.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { base32Encode, generateTotp } from '../../src/factors/totp/totp.ts';
import {
  Browser,
  field,
  pathOf,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  type TestGateway,
} from '../helpers/gateway.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));

function cli(gw: TestGateway, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--config', join(gw.dir, 'gateway.yaml')], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The CLI stamps with the real clock; the gateway's frozen clock stands just before it. */
async function liveGateway(t: Parameters<typeof startTestGateway>[0]): Promise<TestGateway> {
  const gw = await startTestGateway(t, await startUpstream(t));
  gw.clock.now = Date.now() - 60_000;
  return gw;
}

t.test('users reset-mfa: methods gone (logged), live session ends, next sign-in enrolls', async (t) => {
  const gw = await liveGateway(t);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get('/app')).status, 200);
  const run = await cli(gw, 'users', 'reset-mfa', 'BOB');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^bob: 1 method removed, sessions ended and remembered browsers forgotten/);
  let refused = false;
  for (let i = 0; i < 30 && !refused; i++) {
    refused = (await bob.get('/app')).status === 302;
    if (!refused) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(refused, 'the live session stops working within about a second');
  t.equal(await gw.store.countMethods('bob'), 0);
  const log = await gw.store.query({ user: 'bob', limit: 10 });
  t.match(log.find((e) => e.kind === 'method_removed')?.detail, /^MFA reset by .+: totp method .+ removed \(Authenticator app; added /);
  t.ok(log.some((e) => e.kind === 'revocation' && /MFA reset/.test(e.detail)));
  gw.clock.now = Date.now() + 1000;
  const again = new Browser(gw.port);
  await signInPassword(again, 'bob');
  t.equal(pathOf((await again.get('/.gateway/second-factor')).headers.location), '/.gateway/enroll', 'enrolls again');
  t.match((await cli(gw, 'users', 'reset-mfa', '--help')).stdout, /lost or replaced phone/);
});

t.test('users make-admin adds the admin group and keeps comments', async (t) => {
  const gw = await liveGateway(t);
  const file = join(gw.dir, 'users.yaml');
  writeFileSync(file, `# our users\n${readFileSync(file, 'utf8')}`);
  const run = await cli(gw, 'users', 'make-admin', 'Bob');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /bob added to the admin group "admins"/i);
  const text = readFileSync(file, 'utf8');
  t.match(text, /^# our users/);
  t.match(text, /groups: \[\s*users,\s*admins\s*\]|- admins/);
  t.match((await cli(gw, 'users', 'make-admin', 'bob')).stdout, /already in the admin group/);
  const unknown = await cli(gw, 'users', 'make-admin', 'nobody');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no user "nobody"/);
});

t.test('tokens import, list, activate as commands', async (t) => {
  const gw = await liveGateway(t);
  const secret = Buffer.from('0123456789');
  const csv = join(gw.dir, 'tokens.csv');
  const errorsCsv = join(gw.dir, 'errors.csv');
  writeFileSync(
    csv,
    `upn,serial number,secret key,time interval,manufacturer,model\nalice,TK-1,${base32Encode(secret)},60,Contoso,Key60\nzoe,TK-2,${base32Encode(secret)},30,Contoso,Key\n`,
  );
  const run = await cli(gw, 'tokens', 'import', csv, '--errors', errorsCsv);
  t.equal(run.code, 1, 'a refused row makes the exit code 1');
  t.match(run.stdout, /1 imported, 0 unchanged, 1 refused/);
  t.match(run.stderr, /tokens.csv:3: zoe TK-2: unknown user/);
  t.equal(
    readFileSync(errorsCsv, 'utf8'),
    'line,upn,serial number,error\r\n3,zoe,TK-2,unknown user: no user with this name or e-mail address\r\n',
  );
  const list = await cli(gw, 'tokens', 'list');
  t.match(
    list.stdout,
    /USER\s+SERIAL\s+MANUFACTURER\/MODEL\s+INTERVAL\s+ACTIVE\s+ADDED\s+LAST USED\nalice\s+TK-1\s+Contoso Key60\s+60s\s+no/,
  );
  t.equal((await cli(gw, 'tokens', 'activate', 'alice', 'TK-1', '000000')).code, 1);
  const code = generateTotp({ secret, now: Date.now(), period: 60, digits: 6 });
  const act = await cli(gw, 'tokens', 'activate', 'alice', 'TK-1', code);
  t.equal(act.code, 0, act.stderr);
  t.match((await cli(gw, 'tokens', 'list')).stdout, /TK-1\s+Contoso Key60\s+60s\s+yes/);
  t.match((await cli(gw, 'tokens', 'import', '--help')).stdout, /upn,serial number,secret key,time interval,manufacturer,model/);
  t.equal((await cli(gw, 'tokens', 'activate', 'alice')).code, 2);
  // The token signs in on the running gateway from the next step on.
  gw.clock.now = Date.now() + 60_000;
  const alice = new Browser(gw.port);
  await signInPassword(alice, 'alice');
  const page = await alice.get('/.gateway/second-factor');
  t.equal(page.status, 200);
  const r = await alice.post('/.gateway/second-factor', {
    code: generateTotp({ secret, now: gw.clock.now, period: 60, digits: 6 }),
    csrf: field(page.body, 'csrf'),
  });
  t.equal(r.status, 303);
});
