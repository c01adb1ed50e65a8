/**
 * @module scripts/test
 * `npm test`: runs the whole tap suite and ends with the plain line `N passed, N failed`
 * taken from tap's own summary, exiting with tap's exit code.
 *
 * Before that line it names each failed assertion with the file it is in, so the end of a long
 * log says what failed.
 *
 * `tap build` runs first: after an install or a plugin change tap rebuilds its loader,
 * and without this step the same run would start its tests with the stale one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tapBin = fileURLToPath(new URL('../node_modules/.bin/tap', import.meta.url));

const build = spawnSync(tapBin, ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  process.stdout.write('tap build failed\n0 passed, 1 failed\n');
  process.exit(build.status ?? 1);
}

const child = spawn(tapBin, ['--reporter=tap', ...process.argv.slice(2)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
let partial = '';
// A chunk may end inside a character (the suite's names have ÷, µ and umlauts).
const decoder = new StringDecoder('utf8');
let file = '';
const failures: string[] = [];
/** Remembers the top-level file and every `not ok` line under it (a failed subtest fails its parents too). */
function scan(line: string): void {
  const subtest = /^# Subtest: (.*)$/.exec(line);
  if (subtest) file = subtest[1] ?? '';
  const notOk = /^(\s*)not ok \d+ - (.*)$/.exec(line);
  if (notOk && !/# (TODO|SKIP)\b/.test(line) && failures.length < 200) {
    const depth = (notOk[1] ?? '').length / 4;
    const name = (notOk[2] ?? '').replace(/ # time=[\d.]+m?s$/, '');
    failures.push(`${'  '.repeat(depth)}${depth === 0 ? '' : `${file}: `}${name}`);
  }
}
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  const text = decoder.write(chunk);
  tail = (tail + text).slice(-65536);
  const lines = (partial + text).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) scan(line);
});
child.on('close', (code, signal) => {
  // tap closes with a line such as `# { total: 120, pass: 118, fail: 2, skip: 1 }`.
  const summaries = [...tail.matchAll(/^# \{ (total: .*) \}$/gm)];
  const last = summaries.at(-1)?.[1] ?? '';
  const counts: Record<string, number> = Object.fromEntries(
    last
      .split(', ')
      .map((kv) => kv.split(': '))
      .map(([k, v]) => [k, Number(v)]),
  );
  const passed = counts.pass ?? 0;
  let failed = counts.fail ?? 0;
  // A run that exits non-zero without counting a failure (a crashed file) must not read as green.
  if (!last || ((code ?? 1) !== 0 && failed === 0)) failed = Math.max(failed, 1);
  const skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
  if (failures.length > 0) process.stdout.write(`\nFailed:\n${failures.join('\n')}\n`);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
