/**
 * `mfa-gateway serve` runs with the young generation the README's sizing chose (a 16 MB
 * semi-space): V8 reads heap sizes only at start, so the command replaces itself once with the
 * flag, keeping its pid (a supervisor's signals still reach it). A semi-space named by the
 * operator, on the node command line or in NODE_OPTIONS, is kept as it is. Read from the
 * process's own command line in /proc (Linux).
 */
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/net.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../config/', import.meta.url));

/** Starts `serve` on the sample config; resolves once health answers, with the process's command line then. */
async function serve(t: Test, nodeArgs: string[], env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-serve-heap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(CONFIG, join(dir, 'config'), { recursive: true });
  const port = await freePort();
  const file = join(dir, 'config', 'gateway.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^ {2}listen: .*$/m, `  listen: 127.0.0.1:${port}`));
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve'], {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: '', GATEWAY_SESSION_SECRET: 'serve-heap-test-secret-0123456789abcdef', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
    const status = await fetch(`http://127.0.0.1:${port}/.gateway/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (performance.now() > deadline) throw new Error(`serve did not answer health: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const stop = (): Promise<number | null> => {
    child.kill('SIGTERM');
    return exited;
  };
  return { argv, stop };
}

const semiSpaces = (argv: string[]) => argv.filter((a) => a.startsWith('--max-semi-space-size'));

const CASES: Array<{ name: string; nodeArgs: string[]; env: Record<string, string>; expected: string[] }> = [
  { name: 'nothing named: the shipped 16 MB', nodeArgs: [], env: {}, expected: ['--max-semi-space-size=16'] },
  { name: 'on the node command line: kept', nodeArgs: ['--max-semi-space-size=8'], env: {}, expected: ['--max-semi-space-size=8'] },
  // NODE_OPTIONS is not on the command line; the process must not add its own on top of it.
  { name: 'in NODE_OPTIONS: kept', nodeArgs: [], env: { NODE_OPTIONS: '--max-semi-space-size=32' }, expected: [] },
  { name: 'in NODE_OPTIONS with underscores: kept', nodeArgs: [], env: { NODE_OPTIONS: '--max_semi_space_size=32' }, expected: [] },
];

for (const c of CASES) {
  t.test(`serve's young generation, ${c.name}`, { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
    const { argv, stop } = await serve(t, c.nodeArgs, c.env);
    t.same(semiSpaces(argv), c.expected, `the serving process (the pid that was started) runs with ${JSON.stringify(c.expected)}`);
    t.ok(argv.includes('serve'), 'and it is the serve command');
    t.equal(await stop(), 0, 'SIGTERM to that pid stops it cleanly');
  });
}
