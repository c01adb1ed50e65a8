// Prometheus metrics on their own listener: what the chain did with requests, upstream
// failures and sign-in log events; with server.workers the supervisor serves the sum.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser, send, signInPassword, startTestGateway, startUpstream } from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';

const BIN = fileURLToPath(new URL('../../bin/mfa-gateway.js', import.meta.url));

/** The value of one sample line, e.g. `mfa_gateway_requests_total{result="forwarded"}`; 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

t.test('a gateway counts requests, upstream errors and sign-in events', async (t) => {
  const upstream = await startUpstream(t);
  const metricsPort = await freePort();
  const gw = await startTestGateway(t, upstream, {
    server: { metrics: { listen: `127.0.0.1:${metricsPort}` } },
    rules: [
      { paths: ['/public/**'], policy: 'bypass' },
      { paths: ['/closed/**'], policy: 'deny' },
      { paths: ['/**'], policy: 'two_factor' },
    ],
  });
  const scrape = async () => (await send(metricsPort, '/metrics')).body;
  const before = await scrape();
  const count = (text: string, result: string) => sample(text, 'mfa_gateway_requests_total', `result="${result}"`);

  for (let i = 0; i < 3; i++) await send(gw.port, '/public/x');
  await send(gw.port, '/app');
  await send(gw.port, '/closed/x');
  await send(gw.port, '/a%2fb');
  await signInPassword(new Browser(gw.port), 'bob', 'not-the-password');

  const after = await scrape();
  t.equal(count(after, 'forwarded') - count(before, 'forwarded'), 3);
  t.equal(count(after, 'sign_in') - count(before, 'sign_in'), 1);
  t.equal(count(after, 'forbidden') - count(before, 'forbidden'), 1);
  t.equal(count(after, 'rejected') - count(before, 'rejected'), 1);
  const denied = (text: string) => sample(text, 'mfa_gateway_sign_in_events_total', 'kind="password",outcome="denied"');
  t.equal(denied(after) - denied(before), 1, 'the wrong password is counted');
  t.match(after, /mfa_gateway_process_cpu_seconds_total/, 'process figures too');
  t.equal((await send(metricsPort, '/other')).status, 404);
  t.equal((await send(gw.port, '/metrics')).status, 302, 'metrics are not on the public listener');
});

t.test('an unreachable upstream is counted as a 502', async (t) => {
  const port = await freePort();
  const metricsPort = await freePort();
  const gw = await startTestGateway(
    t,
    { url: `http://127.0.0.1:${port}`, server: null as never, requests: [] },
    { server: { metrics: { listen: `127.0.0.1:${metricsPort}` } } },
  );
  const before = sample((await send(metricsPort, '/metrics')).body, 'mfa_gateway_upstream_errors_total', 'status="502"');
  t.equal((await send(gw.port, '/public/x')).status, 502);
  const after = sample((await send(metricsPort, '/metrics')).body, 'mfa_gateway_upstream_errors_total', 'status="502"');
  t.equal(after - before, 1);
});

t.test('with two workers the supervisor serves the sum over both', async (t) => {
  const upstream = await startUpstream(t);
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-metrics-'));
  const port = await freePort();
  const metricsPort = await freePort();
  writeFileSync(join(dir, 'users.yaml'), 'users: {}\n');
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `server: { listen: 127.0.0.1:${port}, public_url: http://gateway.test, workers: 2, metrics: { listen: 127.0.0.1:${metricsPort} } }
upstream: { url: ${upstream.url} }
session: { secret: metrics-test-secret-metrics-test-secret-1 }
store: { sqlite: { path: ${join(dir, 'gateway.db')} } }
users: { file: ${join(dir, 'users.yaml')} }
log: { level: warn }
rules: [ { paths: ["/**"], policy: bypass } ]
`,
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'gateway.yaml')], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  // Both workers must be up: wait until requests have been served and both report.
  // Generous: two workers each load the gateway, and CI machines are busy.
  const deadline = performance.now() + 90_000;
  for (;;) {
    const up = await send(port, '/.gateway/health').then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (performance.now() > deadline) throw new Error('the workers did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const scrape = async () => (await send(metricsPort, '/metrics')).body;
  const forwarded = (text: string) => sample(text, 'mfa_gateway_requests_total', 'result="forwarded"');
  const before = forwarded(await scrape());
  // Separate connections, so the cluster's round robin spreads them over both workers.
  for (let i = 0; i < 40; i++) await send(port, `/page/${i}`);
  const after = forwarded(await scrape());
  t.equal(after - before, 40, 'every forwarded request is counted once, whichever worker served it');
  t.equal(upstream.requests.length, 40);
});
