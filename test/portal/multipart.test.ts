// The token upload's multipart reader on a real request: text and file parts by name, the
// first part of a name wins, and a body that is too large, not multipart or malformed is a
// clear 400 (a GatewayError) before anything is used.
import t from 'tap';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readMultipart } from '../../src/portal/multipart.ts';
import { GatewayError } from '../../src/errors/errors.ts';

type Outcome = { fields: Record<string, string> } | { status: number; detail: string };

const server = createServer((req: IncomingMessage, res) => {
  readMultipart(req, 1024).then(
    (fields) => res.end(JSON.stringify({ fields: Object.fromEntries(fields) })),
    (err: unknown) => {
      if (!(err instanceof GatewayError)) throw err;
      res.end(JSON.stringify({ status: err.status, detail: err.detail ?? err.message }));
    },
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => server.close());
const port = (server.address() as AddressInfo).port;

function post(type: string, body: string | Buffer): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': type } }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (text += c))
        .on('end', () => resolve(JSON.parse(text) as Outcome));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const B = 'b0undary-42';
const TYPE = `multipart/form-data; boundary=${B}`;
const part = (name: string, value: string, filename?: string) =>
  `--${B}\r\ncontent-disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\ncontent-type: text/csv` : ''}\r\n\r\n${value}\r\n`;

t.test('text and file parts come back as text by name; the first of a name wins', async (t) => {
  const body = `${part('csrf', 'tok')}${part('file', 'upn,serial\r\nälice,1', 'tokens.csv')}${part('csrf', 'second')}--${B}--\r\n`;
  t.same(await post(TYPE, body), { fields: { csrf: 'tok', file: 'upn,serial\r\nälice,1' } });
  t.same(
    await post(`multipart/form-data; boundary="${B}"`, body),
    { fields: { csrf: 'tok', file: 'upn,serial\r\nälice,1' } },
    'a quoted boundary',
  );
});

t.test('bad bodies are a 400 with a reason', async (t) => {
  const cases: [string, string, string | Buffer, RegExp][] = [
    ['too large', TYPE, `${part('file', 'x'.repeat(2000), 'big.csv')}--${B}--\r\n`, /larger than 1024 bytes/],
    ['url-encoded, not multipart', 'application/x-www-form-urlencoded', 'csrf=x', /not a multipart form/],
    ['no boundary parameter', 'multipart/form-data', 'x', /not a multipart form/],
    ['no boundary in the body', TYPE, 'just some text', /malformed multipart body/],
    ['ends inside a part', TYPE, `--${B}\r\ncontent-disposition: form-data; name="csrf"\r\n\r\ntok`, /malformed multipart body/],
    ['a part without headers', TYPE, `--${B}\r\nno headers here--${B}--\r\n`, /malformed multipart body/],
  ];
  for (const [name, type, body, detail] of cases) {
    const got = await post(type, body);
    t.ok('status' in got && got.status === 400 && detail.test(got.detail), `${name}: ${JSON.stringify(got)}`);
  }
});
