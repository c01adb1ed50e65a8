// A newcomer whose Node.js is too old (the system Node of many machines is 20) must be told which
// Node to install by every entry point of the quick start, not meet ERR_UNKNOWN_FILE_EXTENSION
// from a .ts file: `npm start` and `npm test` of a checkout (their pre-scripts) and the command.
// Run with a real old Node when the machine has one (Debian's /usr/bin/node is 20), else skipped.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { nodeTooOld } from '../../bin/node-version.js';

const ROOT = join(import.meta.dirname, '..', '..');

t.test('which versions are too old', async (t) => {
  const cases: [string, boolean][] = [
    ['18.20.4', true],
    ['20.20.2', true],
    ['21.7.3', true],
    ['22.0.0', true],
    ['22.18.9', true],
    ['22.19.0', false],
    ['22.23.1', false],
    ['23.0.0', false],
    ['24.22.3', false],
    ['30.1.0', false],
  ];
  for (const [version, old] of cases) t.equal(nodeTooOld(version), old, version);
});

t.test('npm start and npm test check the Node version before anything else', async (t) => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(scripts.prestart, 'node bin/node-version.js');
  t.equal(scripts.pretest, 'node bin/node-version.js');
});

/** A node binary older than 22.19 on this machine, if there is one. */
function oldNode(): string | null {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (nodeTooOld(version)) return candidate;
  }
  return null;
}

const old = oldNode();
t.test(
  'an old Node is told which Node is needed',
  { skip: old === null ? 'no Node older than 22.19 on this machine' : false },
  async (t) => {
    const node = old!;
    const version = execFileSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    const expected = `mfa-gateway needs Node.js 22.19 or newer; this is ${version}.`;
    // The old Node's own npm, found next to it, runs the scripts with that Node.
    const env = { ...process.env, PATH: `${dirname(node)}:/bin`, npm_config_update_notifier: 'false' };
    const runs: [string, string, string[]][] = [
      ['the command', node, [join(ROOT, 'bin', 'mfa-gateway.js'), '--help']],
      ...(existsSync(join(dirname(node), 'npm'))
        ? ([
            ['npm start', join(dirname(node), 'npm'), ['start']],
            ['npm test', join(dirname(node), 'npm'), ['test']],
          ] as [string, string, string[]][])
        : []),
    ];
    for (const [what, command, args] of runs) {
      const run = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
      t.not(run.status, 0, `${what} fails`);
      t.match(run.stderr, expected, `${what} says which Node it needs`);
      t.notMatch(run.stderr, 'ERR_UNKNOWN_FILE_EXTENSION', `${what} never gets as far as a .ts file`);
    }
  },
);
