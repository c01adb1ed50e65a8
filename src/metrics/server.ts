/**
 * @module metrics/server
 * The metrics listener (`server.metrics.listen`): `GET /metrics` in the Prometheus text
 * format, on an address of its own so it stays off the public listener. A single process
 * serves its own figures; the supervisor of `server.workers` serves the sum over its
 * workers (prom-client's AggregatorRegistry asks each worker over the cluster channel).
 */
import { createServer, type Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import { METRICS_CONTENT_TYPE, processMetrics } from './metrics.ts';

export async function startMetricsServer(listen: { host: string; port: number }, source: 'process' | 'workers'): Promise<Server> {
  const aggregator = source === 'workers' ? new AggregatorRegistry() : undefined;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found; metrics are at /metrics\n');
      return;
    }
    (aggregator ? aggregator.clusterMetrics() : processMetrics()).then(
      (body) => {
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics unavailable: ${(err as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
