/**
 * @module cli/config-arg
 * Loading the config for a command: `--config FILE` (default `config/gateway.yaml`), every
 * problem printed with file:line:column, and a non-zero exit rather than a half-loaded config.
 */
import type { GatewayConfig } from '../config/types.ts';
import type { CommandIo } from './io.ts';
import { formatProblem, loadConfig } from '../config/load.ts';

export const DEFAULT_CONFIG = 'config/gateway.yaml';

export async function loadConfigOrReport(file: string, io: CommandIo): Promise<Readonly<GatewayConfig> | null> {
  const result = await loadConfig(file, io.env);
  if (result.ok) return result.config;
  for (const problem of result.problems) io.stderr.write(`${formatProblem(problem)}\n`);
  io.stderr.write(`${file}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}; nothing was started or changed\n`);
  return null;
}

/** Splits `--config FILE` / `--config=FILE` out of a command's arguments, wherever it stands. */
export function takeConfigOption(argv: readonly string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--config') file = argv[++i];
    else if (arg.startsWith('--config=')) file = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { file, rest };
}
