/**
 * @module bench/startup
 * Start-up times of the `mfa-gateway` command, repeated: `--help`, `check-config` on the
 * sample config, `serve` until `/.gateway/health` answers 200 (SQLite, fresh data
 * directory each run), and `serve` until a first request on a bypass rule came back from
 * the app (an origin in this process), which also counts what loads on the first forward.
 * Prints min, median and max of each, for the command as given, so a checkout (TypeScript
 * sources) and an installed package (compiled dist/) can be put side by side:
 *
 *   node bench/startup.ts [--runs 10] [--bin PATH ...] [--only serve|check-config|--help]
 *
 * Each `--bin` is one command to measure (default: this checkout's bin/mfa-gateway.js).
 * Runs alternate between the commands given, so a before/after pair shares the machine's load.
 * It asserts nothing; the figures are whole-process wall times on a shared machine.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, bin: { type: 'string', multiple: true }, only: { type: 'string' } },
});
const runs = Number(values.runs);
const bins = values.bin?.length
  ? values.bin.map((bin) => resolvePath(bin))
  : [fileURLToPath(new URL('../bin/mfa-gateway.js', import.meta.url))];
const repoConfig = fileURLToPath(new URL('../config/', import.meta.url));
const env = { ...process.env, GATEWAY_SESSION_SECRET: 'startup-bench-session-secret-0123456789abcdef' };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The app behind the gateway; the sample config's `/public/**` rule bypasses sign-in. */
const origin = createHttpServer((_req, res) => res.end('origin')).listen(0, '127.0.0.1');
await new Promise((resolve) => origin.once('listening', resolve));
const originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;

function site(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-startup-'));
  cpSync(repoConfig, join(dir, 'config'), { recursive: true });
  const file = join(dir, 'config', 'gateway.yaml');
  const text = readFileSync(file, 'utf8')
    .replace(/^ {2}listen: .*$/m, `  listen: 127.0.0.1:${port}`)
    .replace(/^ {2}url: http:\/\/127\.0\.0\.1:3000$/m, `  url: ${originUrl}`);
  writeFileSync(file, text);
  return dir;
}

function runToExit(bin: string, args: string[], cwd: string): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/** Time from starting `serve` until `path` answers 200. */
async function serveUntil(bin: string, path: string): Promise<number> {
  const port = await freePort();
  const cwd = site(port);
  const start = performance.now();
  const child = spawn(process.execPath, [bin, 'serve'], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
      if (performance.now() - start > 60_000) throw new Error(`${path} did not answer 200 within 60 s: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}${path}`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return performance.now() - start;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(cwd, { recursive: true, force: true });
  }
}

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor((s.length - 1) / 2)]!, max: s.at(-1)! };
};

const cwd = site(await freePort());
const cases = (
  [
    ['--help', (bin) => runToExit(bin, ['--help'], cwd)],
    ['check-config', (bin) => runToExit(bin, ['check-config'], cwd)],
    ['serve until health 200', (bin) => serveUntil(bin, '/.gateway/health')],
    ['serve until a first forwarded 200', (bin) => serveUntil(bin, '/public/startup')],
  ] as Array<[string, (bin: string) => Promise<number>]>
).filter(([name]) => values.only === undefined || name.startsWith(values.only));
// Runs alternate between the commands, so load from other work on the machine falls on each alike.
const times = new Map<string, number[]>();
for (const [name, once] of cases) {
  for (const bin of bins) await once(bin); // warm-up: file system cache
  for (let i = 0; i < runs; i++) {
    for (const bin of bins) {
      const key = `\`${bin}\` ${name}`;
      times.set(key, [...(times.get(key) ?? []), await once(bin)]);
    }
  }
}
process.stdout.write(`| command | runs | min ms | median ms | max ms |\n|---|---|---|---|---|\n`);
for (const bin of bins) {
  for (const [name] of cases) {
    const { min, median, max } = stats(times.get(`\`${bin}\` ${name}`) ?? []);
    process.stdout.write(`| \`${bin}\` ${name} | ${runs} | ${min.toFixed(0)} | ${median.toFixed(0)} | ${max.toFixed(0)} |\n`);
  }
}
rmSync(cwd, { recursive: true, force: true });
origin.close();
