// `mfa-gateway serve` as ops run it: a real process, reloaded with SIGHUP. A bad config is
// refused with its problems on stderr and the running config stays; a good one takes effect
// without dropping the listener; SIGTERM stops the process.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, startUpstream } from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('SIGHUP applies a good config and refuses a bad one, keeping the running config', async (t) => {
  const upstream = await startUpstream(t);
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-reload-'));
  const port = await freePort();
  writeFileSync(join(dir, 'users.yaml'), 'users: {}\n');
  const config = (rules: string) => `
server: { listen: 127.0.0.1:${port}, public_url: http://gateway.test }
upstream: { url: ${upstream.url} }
session: { secret: "\${SECRET}" }
store: { sqlite: { path: ${join(dir, 'gateway.db')} } }
users: { file: ${join(dir, 'users.yaml')} }
log: { level: info }
rules:
${rules}
`;
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, config('  - { paths: ["/open/**"], policy: bypass }'));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file], {
    env: { ...process.env, SECRET: 'reload-test-secret-reload-test-secret-42' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await until('the gateway to listen', async () => ((await send(port, '/.gateway/health')).status === 200 ? true : undefined));
  t.equal((await send(port, '/open/x')).status, 200, 'the first config is in force');
  t.equal((await send(port, '/later/x')).status, 403, 'no rule: deny');

  writeFileSync(file, config('  - { paths: ["/open/**"], polcy: bypass }'));
  child.kill('SIGHUP');
  await until('the refusal on stderr', async () => (stderr.includes('config reload refused') ? true : undefined));
  t.match(stderr, /gateway\.yaml:\d+:\d+: rules\[0\]\.polcy: unknown key/, 'the problem is named with its place');
  t.equal((await send(port, '/open/x')).status, 200, 'the running config stays');

  writeFileSync(file, config('  - { paths: ["/open/**", "/later/**"], policy: bypass }'));
  child.kill('SIGHUP');
  await until('the new rule', async () => ((await send(port, '/later/x')).status === 200 ? true : undefined));
  // The log line is written as the new config takes effect, but reaches this process over a pipe: wait for it.
  await until('the reload logged', async () => (stdout.includes('configuration reloaded') ? true : undefined));
  t.match(stdout, /"msg":"configuration reloaded"/);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops the gateway cleanly');
});
