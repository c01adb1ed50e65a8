// Issue 17 item 7: the gateway's pages and stylesheet go out compressed (brotli, else gzip)
// when the browser accepts it, with Vary: Accept-Encoding; small pages and clients that accept
// neither get them as they are; the stylesheet is compressed once and revalidates per coding;
// what an app sends through the gateway is never touched.
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import t from 'tap';
import { encodePage, MIN_COMPRESSED_BYTES, pickCoding } from '../../src/portal/compress.ts';
import { loadStaticAssets } from '../../src/portal/static.ts';
import { send, startTestGateway, startUpstream } from '../helpers/gateway.ts';

/** Sends and keeps the raw bytes (the helper's text body would garble a compressed one). */
function raw(port: number, target: string, headers: Record<string, string>, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: target, method, headers: { host: 'gateway.test', ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

t.test('the coding: brotli first, q-values and * respected, nothing without the header', async (t) => {
  t.equal(pickCoding('gzip, deflate, br, zstd'), 'br');
  t.equal(pickCoding('gzip, deflate'), 'gzip');
  t.equal(pickCoding('br;q=0.5, gzip'), 'gzip', 'the higher q wins');
  t.equal(pickCoding('br;q=0, gzip;q=0.1'), 'gzip', 'q=0 refuses');
  t.equal(pickCoding('*'), 'br');
  t.equal(pickCoding('*;q=0.5, br;q=0'), 'gzip', '* rates what is not named');
  t.equal(pickCoding('identity'), null);
  t.equal(pickCoding(''), null);
  t.equal(pickCoding(undefined), null, 'no header: the identity only (RFC 9110 §12.5.3)');
  t.equal(pickCoding('x-gzip'), 'gzip');
  t.equal(pickCoding('BR'), 'br', 'case-insensitive');
  t.equal(pickCoding('br;q=2'), null, 'a malformed q refuses');
});

t.test('a page body: compressed from 1 KB on, always with Vary', async (t) => {
  const small = encodePage('x'.repeat(MIN_COMPRESSED_BYTES - 1), 'br');
  t.same(small.headers, { vary: 'accept-encoding', 'content-length': MIN_COMPRESSED_BYTES - 1 });
  const html = `<!doctype html>${'<p>Hallo Welt</p>'.repeat(200)}`;
  const br = encodePage(html, 'br, gzip');
  t.equal(br.headers['content-encoding'], 'br');
  t.equal(br.headers['content-length'], br.payload.length);
  t.ok(br.payload.length < html.length / 5);
  t.equal(brotliDecompressSync(br.payload).toString('utf8'), html);
  t.equal(gunzipSync(encodePage(html, 'gzip').payload).toString('utf8'), html);
});

t.test('pages and error pages of a real gateway go out compressed when accepted', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const plain = await raw(gw.port, '/.gateway/sign-in', {});
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: as it is');
  t.equal(plain.headers.vary, 'accept-encoding');
  t.match(plain.body.toString('utf8'), '<html lang="en">');

  const br = await raw(gw.port, '/.gateway/sign-in', { 'accept-encoding': 'gzip, deflate, br' });
  t.equal(br.status, 200);
  t.equal(br.headers['content-encoding'], 'br');
  t.equal(br.headers.vary, 'accept-encoding');
  t.equal(Number(br.headers['content-length']), br.body.length);
  const page = brotliDecompressSync(br.body).toString('utf8');
  t.match(page, /^<!doctype html>[\s\S]*<\/html>\n?$/, 'the whole page');
  t.ok(br.body.length < page.length / 2, `${br.body.length} bytes for ${page.length}`);
  t.match(br.headers['content-security-policy'], "default-src 'none'", 'the security headers stay');

  const gz = await raw(gw.port, '/.gateway/sign-in', { 'accept-encoding': 'gzip' });
  t.equal(gz.headers['content-encoding'], 'gzip');
  t.match(gunzipSync(gz.body).toString('utf8'), '<form class="form" method="post"');

  const missing = await raw(gw.port, '/.gateway/no-such-page', { 'accept-encoding': 'br', 'accept-language': 'de' });
  t.equal(missing.status, 404);
  t.equal(missing.headers['content-encoding'], 'br');
  t.match(brotliDecompressSync(missing.body).toString('utf8'), 'Seite nicht gefunden');

  const head = await raw(gw.port, '/.gateway/sign-in', { 'accept-encoding': 'br' }, 'HEAD');
  t.equal(head.headers['content-encoding'], 'br');
  t.equal(head.body.length, 0, 'HEAD: headers only');
});

t.test('the stylesheet: compressed once, an ETag per coding, 304 per coding', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const css = (await loadStaticAssets('views/static')).get('gateway.css')!;
  t.ok(css.encoded.br && css.encoded.gzip, 'both codings made at load');
  t.ok(css.encoded.br!.body.length < css.body.length / 2);

  const path = '/.gateway/static/gateway.css';
  const br = await raw(gw.port, path, { 'accept-encoding': 'br' });
  t.equal(br.headers['content-encoding'], 'br');
  t.equal(br.headers.vary, 'accept-encoding');
  t.same(brotliDecompressSync(br.body), css.body);
  t.equal(br.headers.etag, css.encoded.br!.etag);
  t.not(br.headers.etag, css.etag, 'another representation, another ETag');

  const gz = await raw(gw.port, path, { 'accept-encoding': 'gzip' });
  t.same(gunzipSync(gz.body), css.body);
  const identity = await raw(gw.port, path, {});
  t.equal(identity.headers['content-encoding'], undefined);
  t.same(identity.body, css.body);
  t.equal(identity.headers.etag, css.etag);

  t.equal((await raw(gw.port, path, { 'accept-encoding': 'br', 'if-none-match': br.headers.etag as string })).status, 304);
  t.equal(
    (await raw(gw.port, path, { 'if-none-match': br.headers.etag as string })).status,
    200,
    'the br ETag does not validate the plain file',
  );
  t.equal((await raw(gw.port, path, { 'if-none-match': `"x", ${css.etag}` })).status, 304, 'a list of ETags');
});

t.test('what the app sends through the gateway is never compressed by it', async (t) => {
  const bodyText = 'app text '.repeat(1000);
  const up = await startUpstream(t, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(bodyText);
  });
  const gw = await startTestGateway(t, up);
  const r = await raw(gw.port, '/public/page', { 'accept-encoding': 'br, gzip' });
  t.equal(r.status, 200);
  t.equal(r.headers['content-encoding'], undefined, 'the app chose not to compress; the gateway leaves it so');
  t.equal(r.body.toString('utf8'), bodyText);
  t.equal(up.requests.at(-1)!.headers['accept-encoding'], 'br, gzip', 'the app sees what the browser accepts');
  t.equal((await send(gw.port, '/public/page')).body, bodyText);
});
