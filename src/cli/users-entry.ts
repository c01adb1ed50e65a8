/**
 * @module cli/users-entry
 * `mfa-gateway users ...`: finds the users file through `--config` and hands over to
 * the users command.
 */
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport, takeConfigOption } from './config-arg.ts';
import { usersCommand } from './users.ts';

export async function usersEntry(argv: string[], io: CommandIo): Promise<number> {
  const { file, rest } = takeConfigOption(argv);
  if (rest.length === 0 || rest.includes('--help') || rest.includes('-h')) return usersCommand(rest, io, { usersFile: '' });
  const config = await loadConfigOrReport(file ?? DEFAULT_CONFIG, io);
  if (!config) return 1;
  return usersCommand(rest, io, { usersFile: config.users.file, config });
}
