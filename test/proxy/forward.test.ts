/**
 * @module test/proxy/forward
 * Plain HTTP forwarding against a real upstream on loopback: header hygiene end to end,
 * streaming both ways, keep-alive reuse, and every way an upstream can fail.
 */

import t from 'tap';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { createForwarder } from '../../src/proxy/forward.ts';
import { deadPort, listen, rawRequest, shut, signal, startFront, within } from './servers.ts';

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** One upstream app for the whole file; each test installs the handler it needs. */
const routes = new Map<string, Route>();
const upstream = http.createServer((req, res) => {
  const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/legacy/, ''));
  if (route) route(req, res);
  else res.writeHead(404).end();
});
const upstreamPort = await listen(upstream);
const origin = new URL(`http://127.0.0.1:${upstreamPort}`);
const front = await startFront(origin);
const frontUrl = `http://127.0.0.1:${front.port}`;
t.teardown(async () => {
  await front.close();
  await shut(upstream);
});

routes.set('/echo', (req, res) => {
  res.setHeader('Connection', 'keep-alive, X-Upstream-Private');
  res.setHeader('X-Upstream-Private', 'internal');
  res.setHeader('X-Public', 'yes');
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ url: req.url, rawHeaders: req.rawHeaders }));
});

/** All values of one received field, comparing names in lower case with `_` as `-`. */
function received(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase().replaceAll('_', '-') === name) out.push(rawHeaders[i + 1] as string);
  }
  return out;
}

async function get(
  url: string,
  init: http.RequestOptions = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, init, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('header hygiene end to end: spoofed, hop-by-hop and Connection-named fields never reach the app', async (t) => {
  front.target = origin;
  front.identity = { user: 'jdoe', groups: ['dev'] };
  t.teardown(() => {
    front.identity = null;
  });
  const { head, body } = await rawRequest(
    front.port,
    [
      'GET /echo?x=1 HTTP/1.1',
      'Host: app.example:8443',
      'Connection: close, X-Forwarded-For, Remote-User, X-Forwarded-Proto, X-Drop-Me',
      'X-Drop-Me: 1',
      'Keep-Alive: timeout=99',
      'TE: trailers',
      'Proxy-Authorization: Basic eDp5',
      'remote-user: admin',
      'REMOTE-USER: admin',
      'Remote_User: admin',
      'remote_groups: admins',
      'X-Forwarded-For: 6.6.6.6',
      'X-Real-IP: 6.6.6.6',
      'Forwarded: for=6.6.6.6',
      'Cookie: gw_session=sealed; app=1',
      '',
      '',
    ].join('\r\n'),
  );
  t.match(head, /^HTTP\/1\.1 200 /);
  t.match(head, /\r\nX-Public: yes/i, 'end-to-end response fields pass');
  t.notMatch(head, /X-Upstream-Private/i, "fields the upstream's Connection names are dropped from the response");

  const seen = JSON.parse(body.toString()) as { url: string; rawHeaders: string[] };
  t.equal(seen.url, '/echo?x=1');
  t.same(received(seen.rawHeaders, 'host'), ['app.example:8443'], "the client's Host, as sent");
  t.same(received(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1'], "the gateway's own, despite Connection naming it");
  t.same(received(seen.rawHeaders, 'x-forwarded-proto'), ['http']);
  t.same(received(seen.rawHeaders, 'x-forwarded-host'), ['app.example:8443']);
  t.same(received(seen.rawHeaders, 'remote-user'), ['jdoe'], "only the gateway's Remote-User, in any spelling");
  t.same(received(seen.rawHeaders, 'remote-groups'), ['dev']);
  t.same(received(seen.rawHeaders, 'x-real-ip'), []);
  t.same(received(seen.rawHeaders, 'forwarded'), []);
  t.same(received(seen.rawHeaders, 'x-drop-me'), []);
  t.same(received(seen.rawHeaders, 'keep-alive'), []);
  t.same(received(seen.rawHeaders, 'te'), []);
  t.same(received(seen.rawHeaders, 'proxy-authorization'), []);
  t.same(received(seen.rawHeaders, 'cookie'), ['app=1'], "the session cookie is stripped, the app's kept");
});

t.test('a target with a path prefix', async (t) => {
  front.target = new URL(`http://127.0.0.1:${upstreamPort}/legacy`);
  t.teardown(() => {
    front.target = origin;
  });
  const r = await get(`${frontUrl}/echo?a=%2F&b`);
  t.equal((JSON.parse(r.body.toString()) as { url: string }).url, '/legacy/echo?a=%2F&b');
});

t.test('keep-alive connections to the upstream are reused', async (t) => {
  let connections = 0;
  const app = http.createServer((_req, res) => res.end('ok'));
  app.on('connection', () => connections++);
  const appFront = await startFront(new URL(`http://127.0.0.1:${await listen(app)}`));
  t.teardown(async () => {
    await appFront.close();
    await shut(app);
  });
  for (let i = 0; i < 20; i++) {
    const r = await get(`http://127.0.0.1:${appFront.port}/`, { agent: false });
    t.equal(r.body.toString(), 'ok');
  }
  t.equal(connections, 1, '20 requests (each on a new client connection), one upstream connection');
});

t.test('a 5 MB request body streams to the upstream while the client is still sending', async (t) => {
  const size = 5 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (const framing of ['content-length', 'chunked'] as const) {
    const firstBytes = signal();
    routes.set('/upload', (req, res) => {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        if (n === 0) firstBytes.resolve();
        n += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ n, sha: hash.digest('hex') })));
    });
    const answer = signal<{ n: number; sha: string }>();
    const req = http.request(
      `${frontUrl}/upload`,
      {
        method: 'POST',
        agent: false,
        headers: framing === 'content-length' ? { 'content-length': String(size) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => answer.resolve(JSON.parse(text) as { n: number; sha: string }));
      },
    );
    const sent = createHash('sha256');
    req.write(chunk);
    sent.update(chunk);
    await within(5000, `${framing}: the upstream sees the first bytes before the client finished`, firstBytes.promise);
    for (let written = chunk.length; written < size; written += chunk.length) {
      sent.update(chunk);
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    req.end();
    const got = await within(10000, 'upload answer', answer.promise);
    t.same(got, { n: size, sha: sent.digest('hex') }, `${framing}: every byte arrived in order`);
  }
});

t.test('a large response streams back before the upstream finished writing it', async (t) => {
  const clientGotFirst = signal();
  const chunk = Buffer.alloc(64 * 1024, 'y');
  const total = 8 * 1024 * 1024;
  routes.set('/download', async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(chunk);
    await within(5000, 'the client sees the first bytes while the upstream still writes', clientGotFirst.promise).catch(() =>
      res.destroy(),
    );
    for (let written = chunk.length; written < total; written += chunk.length) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  const n = await new Promise<number>((resolve, reject) => {
    http
      .get(`${frontUrl}/download`, { agent: false }, (res) => {
        let count = 0;
        t.equal(res.headers['transfer-encoding'], 'chunked', 'Node frames the unknown length for the client itself');
        res.on('data', (c: Buffer) => {
          if (count === 0) clientGotFirst.resolve();
          count += c.length;
        });
        res.on('end', () => resolve(count));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  t.equal(n, total);
});

t.test('HEAD, 204 and 304 responses carry no body and keep the client connection usable', async (t) => {
  routes.set('/head', (_req, res) => res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' }).end());
  routes.set('/204', (_req, res) => res.writeHead(204).end());
  routes.set('/304', (_req, res) => res.writeHead(304, { etag: '"v1"' }).end());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const head = await get(`${frontUrl}/head`, { method: 'HEAD', agent });
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], '1234', 'HEAD keeps the length of the body it does not send');
  t.equal(head.body.length, 0);
  const noContent = await get(`${frontUrl}/204`, { agent });
  t.equal(noContent.status, 204);
  t.equal(noContent.body.length, 0);
  const notModified = await get(`${frontUrl}/304`, { agent });
  t.equal(notModified.status, 304);
  t.equal(notModified.headers.etag, '"v1"');
  const after = await get(`${frontUrl}/echo`, { agent });
  t.equal(after.status, 200, 'the next response on the same connection parses');
});

t.test('the client leaving aborts the upstream request', async (t) => {
  const arrived = signal();
  const upstreamClosed = signal<boolean>();
  routes.set('/hang', (_req, res) => {
    res.on('close', () => upstreamClosed.resolve(res.writableFinished));
    arrived.resolve();
  });
  const req = http.get(`${frontUrl}/hang`, { agent: false });
  req.on('error', () => {});
  await within(5000, 'request reaches the upstream', arrived.promise);
  req.destroy();
  t.equal(await within(5000, 'upstream connection closed', upstreamClosed.promise), false, 'closed before any answer');
  t.same(front.failures, [], 'no error page for a client that left');
});

t.test('a dead upstream answers 502 through onError', async (t) => {
  front.target = new URL(`http://127.0.0.1:${await deadPort()}`);
  t.teardown(() => {
    front.target = origin;
    front.failures.length = 0;
  });
  const r = await get(`${frontUrl}/anything`, { agent: false });
  t.equal(r.status, 502);
  t.equal(r.body.toString(), 'GW_UPSTREAM_UNREACHABLE');
  t.equal(front.failures.length, 1);
  t.match(front.failures[0], { code: 'GW_UPSTREAM_UNREACHABLE', status: 502, expose: true, detail: /ECONNREFUSED/ });
});

t.test('an upstream that dies mid-body destroys the client connection', async (t) => {
  routes.set('/dies', (_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write(Buffer.alloc(1000, 'z'), () => setImmediate(() => res.socket?.destroy()));
  });
  const outcome = await within(
    5000,
    'client connection ends',
    new Promise<string>((resolve) => {
      http
        .get(`${frontUrl}/dies`, { agent: false }, (res) => {
          res.on('error', (e: Error) => resolve(`error: ${e.message}`));
          res.on('end', () => resolve('end'));
          res.resume();
        })
        .on('error', (e) => resolve(`request error: ${e.message}`));
    }),
  );
  t.match(outcome, /^error: aborted/, 'the client sees a cut connection, not a complete response');
  t.same(front.failures, [], 'no second response');
});

t.test('timeouts: no headers in time gives 504, a stalled body cuts the connection', async (t) => {
  const slow = await startFront(origin, { connectTimeoutMs: 1000, responseTimeoutMs: 300 });
  const pending = new Set<NodeJS.Timeout>();
  t.teardown(async () => {
    for (const timer of pending) clearTimeout(timer);
    await slow.close();
  });
  routes.set('/slow', (_req, res) => {
    // undici checks these timeouts on a coarse clock (about 1 s), so "late" must be later than that.
    pending.add(setTimeout(() => res.end('too late'), 3000));
  });
  routes.set('/stall', (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('0123456789');
  });

  const r = await get(`http://127.0.0.1:${slow.port}/slow`, { agent: false });
  t.equal(r.status, 504);
  t.match(slow.failures, [{ code: 'GW_UPSTREAM_TIMEOUT', status: 504 }]);

  const outcome = await within(
    5000,
    'stalled response ends',
    new Promise<string>((resolve) => {
      http
        .get(`http://127.0.0.1:${slow.port}/stall`, { agent: false }, (res) => {
          res.on('error', (e: Error) => resolve(`error: ${e.message}`));
          res.on('end', () => resolve('end'));
          res.resume();
        })
        .on('error', (e) => resolve(`request error: ${e.message}`));
    }),
  );
  t.match(outcome, /^error: aborted/);
  t.equal(slow.failures.length, 1, 'the stall after the headers is not a second response');
});

t.test("close() waits for a request still waiting for its origin's first pool, which is answered", async (t) => {
  // A new forwarder has no pool yet: its first request waits for one (and for undici's first load).
  const forwarder = createForwarder({ connectTimeoutMs: 1000, responseTimeoutMs: 2000, onError: () => {} });
  const answered = signal<http.ServerResponse>();
  let closing: Promise<void> | undefined;
  const server = http.createServer((req, res) => {
    forwarder.web(req, res, origin, '/echo', ['host', 'app.example'], []);
    closing = forwarder.close();
    answered.resolve(res);
  });
  const port = await listen(server);
  t.teardown(() => shut(server));
  const reply = get(`http://127.0.0.1:${port}/`, { agent: false });
  const res = await within(5000, 'the request reaches the front', answered.promise);
  await within(5000, 'close() returns', closing!);
  t.ok(res.writableFinished, 'the response was complete before close() returned');
  t.equal((await reply).status, 200);
});
