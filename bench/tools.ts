/**
 * @module bench/tools
 * The outside programs the bench drives: wrk (load), nginx and Caddy (peers). CI machines
 * start without them, so a run first looks them up and installs only the missing ones from
 * Debian's packages; a machine that has them pays one `command -v` each. Also reports their
 * versions for the results file.
 */

import { spawnSync } from 'node:child_process';

interface Tool {
  command: string;
  /** Debian packages to try in order (nginx-light is the small build; plain nginx where it is gone). */
  packages: string[];
  version: string[];
}

const TOOLS: Tool[] = [
  { command: 'wrk', packages: ['wrk'], version: ['-v'] },
  { command: 'nginx', packages: ['nginx-light', 'nginx'], version: ['-v'] },
  { command: 'caddy', packages: ['caddy'], version: ['version'] },
];

function present(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function apt(args: string[]): boolean {
  // RUNLEVEL=1 keeps the packages' install scripts from starting system services (nginx on :80).
  const result = spawnSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' },
  });
  return result.status === 0;
}

/**
 * Installs whatever is missing (once, with apt-get) and returns, per command, its version
 * line or null when it is still not available.
 */
export function ensureTools(log: (line: string) => void): Record<string, string | null> {
  const missing = TOOLS.filter((tool) => !present(tool.command));
  if (missing.length > 0) {
    log(`installing missing tools: ${missing.map((t) => t.command).join(', ')}`);
    if (process.getuid?.() !== 0) log('  not root: cannot apt-get install; scenarios needing them are skipped');
    else if (!apt(['update', '-q'])) log('  apt-get update failed');
    else for (const tool of missing) tool.packages.some((pkg) => apt(['install', '-y', '-q', '--no-install-recommends', pkg]));
  }
  const versions: Record<string, string | null> = {};
  for (const tool of TOOLS) {
    if (!present(tool.command)) {
      versions[tool.command] = null;
      continue;
    }
    const out = spawnSync(tool.command, tool.version, { encoding: 'utf8' });
    versions[tool.command] = `${out.stdout}${out.stderr}`.trim().split('\n')[0] ?? '';
  }
  return versions;
}
