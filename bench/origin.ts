/**
 * @module bench/origin
 * The app behind every forwarder in the bench: plain `node:http`, one fixed 1 KB HTML
 * page, keep-alive, and no other work, so that what a scenario measures is the forwarder
 * and not the app. Runs as its own process so it can be pinned to a core and its CPU
 * time read from /proc apart from the server under test.
 *
 *   node bench/origin.ts --port N      (0 picks a free port)
 *
 * Prints `listening PORT` on stdout once it accepts connections.
 */

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

function page(size: number): Buffer {
  const head = '<!doctype html><html><head><title>origin</title></head><body><p>';
  const tail = '</p></body></html>\n';
  return Buffer.from(head + 'x'.repeat(size - head.length - tail.length) + tail, 'latin1');
}

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const body = page(1024);
const headers = { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  // Drain any request body so the connection stays reusable; GET has none.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
// Forwarders keep pooled connections idle between repetitions; do not close them early.
server.keepAliveTimeout = 120_000;

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
