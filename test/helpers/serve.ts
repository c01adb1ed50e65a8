/**
 * @module test/helpers/serve
 * `mfa-gateway serve` as a real process on a copy of the sample config (its own folder, a free
 * loopback port, the session secret from the environment), resolved once health answers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { freePort } from './net.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../config/', import.meta.url));

export interface ServingSample {
  child: ChildProcess;
  /** The folder the sample config was copied into (the process's working directory). */
  dir: string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Node options go before the command's script; `env` is added to this process's own. */
export async function serveSample(t: Test, opts: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<ServingSample> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-serve-sample-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(CONFIG, join(dir, 'config'), { recursive: true });
  const port = await freePort();
  const file = join(dir, 'config', 'gateway.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^ {2}listen: .*$/m, `  listen: 127.0.0.1:${port}`));
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, 'serve'], {
    cwd: dir,
    env: { ...process.env, GATEWAY_SESSION_SECRET: 'serve-sample-test-secret-0123456789abcdef', ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
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
  return {
    child,
    dir,
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
