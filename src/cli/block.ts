/**
 * @module cli/block
 * `mfa-gateway block NAME --reason TEXT [--days N]` and `unblock NAME --reason TEXT`: the
 * block list from the command line. The change goes to the shared store; running gateways
 * refuse the user's sessions and close their WebSocket connections within a second.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { canonicalName, operator, withStore } from './admin-store.ts';
import { BlockInputError, blockUser, MAX_BLOCK_DAYS, unblockUser } from '../regulation/block.ts';
import { blockNoticeHook, createNotifications } from '../notify/index.ts';
import { pino } from 'pino';

/** A command waits this long at most for the block notice to be delivered, with short retries. */
const CLI_MAIL_WAIT_MS = 20_000;
const CLI_MAIL_RETRIES_MS = [1000, 3000, 5000];

const BLOCK_HELP = `Usage: mfa-gateway block NAME --reason TEXT [--days N] [--config FILE]

Blocks NAME: every sign-in attempt is denied, and running gateways refuse the
user's live sessions (and close their WebSocket connections) within a second.
The block also ends the user's sessions, so an unblock never revives one.
It lifts by itself after N days (default mfa.block.days, 90) or with unblock.
The reason and the OS user running this command are recorded.

Options:
  --reason TEXT   why (required; shown in the block history and the sign-in log)
  --days N        how long, 1 to ${MAX_BLOCK_DAYS} days
  --config FILE   the gateway config (default ${DEFAULT_CONFIG})
  -h, --help      show this help
`;

const UNBLOCK_HELP = `Usage: mfa-gateway unblock NAME --reason TEXT [--config FILE]

Lifts NAME's block before it ends by itself. The user signs in again as usual;
sessions from before the block stay ended. The reason and the OS user running
this command are recorded.

Options:
  --reason TEXT   why (required)
  --config FILE   the gateway config (default ${DEFAULT_CONFIG})
  -h, --help      show this help
`;

function parse(argv: string[], withDays: boolean) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG },
      reason: { type: 'string' },
      ...(withDays ? { days: { type: 'string' as const } } : {}),
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function run(name: 'block' | 'unblock', argv: string[], io: CommandIo): Promise<number> {
  const help = name === 'block' ? BLOCK_HELP : UNBLOCK_HELP;
  let parsed;
  try {
    parsed = parse(argv, name === 'block');
  } catch (err) {
    io.stderr.write(`mfa-gateway ${name}: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(help);
    return 0;
  }
  const usage = (text: string) => {
    io.stderr.write(`mfa-gateway ${name}: ${text}\n\n${help}`);
    return 2;
  };
  if (positionals.length !== 1) return usage('give exactly one user NAME');
  if (values.reason === undefined || values.reason.trim() === '') return usage('--reason TEXT is required');
  const days = (values as { days?: string }).days;
  if (days !== undefined && !/^[0-9]+$/.test(days)) return usage(`--days ${JSON.stringify(days)} is not a whole number of days`);

  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;
  const user = await canonicalName(config, positionals[0]!, io);
  const actor = operator(io.env);
  try {
    return await withStore(config, async (store) => {
      if (name === 'block') {
        // The admins' e-mail goes out from this process: every running gateway would otherwise send one.
        const { mailer, notifier } = createNotifications(config, pino({ level: 'warn' }, pino.destination(2)), {
          retryDelaysMs: CLI_MAIL_RETRIES_MS,
        });
        const block = await blockUser(store, user, {
          reason: values.reason!,
          days: days === undefined ? config.mfa.block.days : Number(days),
          actor,
          onBlock: blockNoticeHook(notifier),
        });
        io.stdout.write(
          `blocked ${user} until ${new Date(block.until).toISOString()}; running gateways refuse their sessions within a second\n`,
        );
        await Promise.race([mailer.idle(), new Promise((resolve) => setTimeout(resolve, CLI_MAIL_WAIT_MS).unref())]);
        await mailer.close();
        return 0;
      }
      if (!(await unblockUser(store, user, { reason: values.reason!, actor }))) {
        io.stderr.write(`${user} is not blocked; nothing changed\n`);
        return 1;
      }
      io.stdout.write(`unblocked ${user}\n`);
      return 0;
    });
  } catch (err) {
    if (err instanceof BlockInputError) return usage(err.message);
    io.stderr.write(`mfa-gateway ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

export const blockCommand = (argv: string[], io: CommandIo): Promise<number> => run('block', argv, io);
export const unblockCommand = (argv: string[], io: CommandIo): Promise<number> => run('unblock', argv, io);
