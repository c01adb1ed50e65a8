/**
 * `mfa-gateway serve` runs with the young generation the README's sizing chose (a 16 MB
 * semi-space): V8 reads heap sizes only at start, so the command replaces itself once with the
 * flag, keeping its pid (a supervisor's signals still reach it). A semi-space named by the
 * operator, on the node command line or in NODE_OPTIONS, is kept as it is. Read from the
 * process's own command line in /proc (Linux).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { serveSample } from '../helpers/serve.ts';

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
    const { child, stop } = await serveSample(t, { nodeArgs: c.nodeArgs, env: { NODE_OPTIONS: '', ...c.env } });
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    t.same(semiSpaces(argv), c.expected, `the serving process (the pid that was started) runs with ${JSON.stringify(c.expected)}`);
    t.ok(argv.includes('serve'), 'and it is the serve command');
    t.equal(await stop(), 0, 'SIGTERM to that pid stops it cleanly');
  });
}
