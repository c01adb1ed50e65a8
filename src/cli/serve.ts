/**
 * @module cli/serve
 * `mfa-gateway serve`: runs the gateway. SIGHUP reloads the config (a bad config is
 * refused and the running one stays); SIGTERM and SIGINT stop accepting connections and
 * finish the requests in flight.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { startGateway } from '../server/gateway.ts';
import { isPrimary, superviseWorkers, workerCount } from '../server/cluster.ts';
import { parseListen } from '../config/listen.ts';

const HELP = `Usage: mfa-gateway serve [--config FILE]

Runs the gateway with the given config (default ${DEFAULT_CONFIG}). With
server.workers above 1 (or auto), a supervisor process runs that many workers.
Signals: SIGHUP reloads the config; SIGTERM or SIGINT shut down gracefully.
`;

export async function serveCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', default: DEFAULT_CONFIG }, help: { type: 'boolean' } } });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const file = values.config;
  const config = await loadConfigOrReport(file, io);
  if (!config) return 1;
  const workers = workerCount(config.server.workers);
  if (workers > 1 && isPrimary()) {
    io.stdout.write(`mfa-gateway: starting ${workers} workers\n`);
    const metricsServer = config.server.metrics
      ? await (await import('../metrics/server.ts')).startMetricsServer(parseListen(config.server.metrics.listen), 'workers')
      : undefined;
    const code = await superviseWorkers(workers, (msg) => io.stderr.write(`mfa-gateway: ${msg}\n`)).done;
    metricsServer?.close();
    return code;
  }
  const gateway = await startGateway({ config, metricsListener: workers === 1 });

  process.on('SIGHUP', () => {
    void loadConfigOrReport(file, io).then((next) => {
      if (next) gateway.reload(next);
      else io.stderr.write('config reload refused; the running config stays\n');
    });
  });
  return new Promise<number>((resolve) => {
    const stop = () => {
      void gateway.close().then(() => resolve(0));
      // A second signal, or connections that will not finish, end the process anyway.
      setTimeout(() => resolve(0), 10_000).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
