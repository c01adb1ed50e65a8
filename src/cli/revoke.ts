/**
 * @module cli/revoke
 * `mfa-gateway revoke NAME [--sessions] [--devices]`: ends every session of a user and/or
 * forgets every browser they told to skip the second factor (both when neither flag is
 * given). Running gateways refuse the old cookies within a second.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { canonicalName, operator, withStore } from './admin-store.ts';
import { COMMAND_LINE } from '../regulation/block.ts';

const HELP = `Usage: mfa-gateway revoke NAME [--sessions] [--devices] [--config FILE]

Ends NAME's sessions and/or forgets their remembered browsers ("don't ask
again"); both when neither flag is given. Running gateways refuse the old
cookies within a second and close the user's WebSocket connections.

Options:
  --sessions      end every session (the user signs in again)
  --devices       forget every remembered browser (the second factor is asked again)
  --config FILE   the gateway config (default ${DEFAULT_CONFIG})
  -h, --help      show this help
`;

export async function revokeCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', default: DEFAULT_CONFIG },
        sessions: { type: 'boolean', default: false },
        devices: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr.write(`mfa-gateway revoke: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(`mfa-gateway revoke: give exactly one user NAME\n\n${HELP}`);
    return 2;
  }
  const both = !values.sessions && !values.devices;
  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;
  const user = await canonicalName(config, positionals[0]!, io);
  const actor = operator(io.env);
  try {
    await withStore(config, async (store) => {
      const done: string[] = [];
      if (both || values.sessions) {
        await store.revokeSessions(user);
        done.push('sessions ended');
      }
      if (both || values.devices) {
        await store.revokeDevices(user);
        done.push('remembered browsers forgotten');
      }
      const what = done.join(', ');
      await store.record({ kind: 'revocation', user, ...COMMAND_LINE, rule: null, outcome: 'success', detail: `${what} by ${actor}` });
      io.stdout.write(`${user}: ${what}; running gateways apply it within a second\n`);
    });
    return 0;
  } catch (err) {
    io.stderr.write(`mfa-gateway revoke: ${(err as Error).message}\n`);
    return 1;
  }
}
