/**
 * @module cli/store
 * `mfa-gateway store rekey`: finishes a rotation of `store.encryption_key`. Put the new key
 * in `encryption_key` and the old one in `previous_encryption_keys` (gateways then read
 * secrets sealed with either), run this once to re-seal every stored secret with the new
 * key, then drop the old key from the config.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { withStore } from './admin-store.ts';

const HELP = `Usage: mfa-gateway store rekey [--config FILE]

Re-seals every stored second-factor secret with store.encryption_key. To rotate the key:
  1. set the new key as encryption_key and list the old one in previous_encryption_keys;
  2. reload or restart the gateways, then run this command once;
  3. remove the old key from previous_encryption_keys.
`;

export async function storeCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', default: DEFAULT_CONFIG }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    io.stderr.write(`mfa-gateway store: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'rekey') {
    io.stderr.write(`mfa-gateway store: expected "rekey"\n\n${HELP}`);
    return 2;
  }
  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;
  try {
    const rewritten = await withStore(config, (store) => store.rekey());
    io.stdout.write(
      `re-sealed ${rewritten} secret${rewritten === 1 ? '' : 's'} with the current key; the previous keys can now be removed\n`,
    );
    return 0;
  } catch (err) {
    io.stderr.write(`mfa-gateway store rekey: ${(err as Error).message}\n`);
    return 1;
  }
}
