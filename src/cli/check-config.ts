/**
 * @module cli/check-config
 * `mfa-gateway check-config`: validates the config file the way `serve` would load it and
 * prints every problem, so a bad config is caught before a deploy or a reload.
 */

import { parseArgs } from 'node:util';
import { formatProblem, loadConfig } from '../config/load.ts';

const USAGE = `Usage: mfa-gateway check-config [--config FILE]

Validates the config file: the schema (unknown keys, types, limits), environment
variables and secret files it names, and what must fit together (addresses,
networks, upstream URLs, rule upstreams). Prints "config OK: FILE" and exits 0,
or prints every problem as FILE:LINE:COLUMN: KEY: MESSAGE and exits 1.

Options:
  --config FILE   config file (default config/gateway.yaml)
  --help          show this help
`;

/**
 * Runs the command. Returns the exit code: 0 when the config is valid (or for `--help`),
 * 1 when it has problems (one per line on stderr), 2 for bad arguments.
 */
export async function checkConfigCommand(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env?: NodeJS.ProcessEnv },
): Promise<number> {
  let values: { config: string; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', default: 'config/gateway.yaml' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    io.stderr.write(`check-config: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const result = await loadConfig(values.config, io.env ?? process.env);
  if (result.ok) {
    io.stdout.write(`config OK: ${values.config}\n`);
    return 0;
  }
  for (const problem of result.problems) io.stderr.write(`${formatProblem(problem)}\n`);
  return 1;
}
