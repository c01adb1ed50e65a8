// issue-10 item 5 end to end: a real gateway in front of two real apps, one for the admin
// rule and one for everything else. Every corpus target is sent byte for byte; a target the
// gateway forwards reaches the app of the rule chosen on the same reading the app makes
// (a Tomcat/IIS reader in this file, written apart from the gateway's), and a refused one
// reaches no app at all.
import t, { type Test } from 'tap';
import { sendRaw, startTestGateway, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { CORPUS, corpusRules, type Answer } from '../policy/legacy-paths.corpus.ts';

/**
 * The path a Java servlet container or IIS serves for a request path: `;params` dropped,
 * decoded once, trailing dots and spaces trimmed, dot segments resolved, case folded.
 */
function legacyServerReading(url: string): string {
  const out: string[] = [];
  for (const raw of url.split('?')[0]!.split('/').slice(1)) {
    let segment = raw.split(';')[0]!;
    try {
      segment = decodeURIComponent(segment);
    } catch {
      // Left as sent, like a container that does not decode invalid escapes.
    }
    if (segment === '..') out.pop();
    else if (segment !== '.' && segment !== '') out.push(segment.replace(/[. ]+$/, ''));
  }
  return `/${out.join('/').toLowerCase()}`;
}

const underAdmin = (path: string) => /^\/admin(istration)?(\/|$)/.test(path);

async function corpusThrough(t: Test, mode: 'refuse' | 'rewrite') {
  const main = await startUpstream(t);
  const admin = await startUpstream(t);
  const gw = await startTestGateway(t, main, {
    upstream: { url: main.url, legacy_paths: mode },
    upstreams: { admin: { url: admin.url, legacy_paths: mode } },
    rules: corpusRules('admin'),
  });
  for (const entry of CORPUS) {
    const before = { main: main.requests.length, admin: admin.requests.length };
    const reply = await sendRaw(gw.port, `GET ${entry.target} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`);
    const reached = (u: Upstream, n: number) => u.requests.slice(n).map((r) => r.url);
    const atMain = reached(main, before.main);
    const atAdmin = reached(admin, before.admin);
    const expected: Answer = entry[mode];
    const label = `${JSON.stringify(entry.target)} (legacy: ${entry.legacy})`;
    if (expected === 400) {
      t.equal(reply.status, 400, `${label} refused`);
      t.same([...atMain, ...atAdmin], [], `${label} reached no app`);
      continue;
    }
    t.equal(reply.status, 200, `${label} forwarded`);
    t.same([atMain.length, atAdmin.length], expected === 'admin' ? [0, 1] : [1, 0], `${label} went to the ${expected} rule's app`);
    for (const url of atMain)
      t.notOk(underAdmin(legacyServerReading(url)), `${label}: the main app got ${url}, which it does not read as /admin`);
    for (const url of atAdmin) t.ok(underAdmin(legacyServerReading(url)), `${label}: the admin app got ${url}, which it reads as /admin`);
    // What the app received is its own legacy reading: no `;`, no trailing dot or space.
    for (const url of [...atMain, ...atAdmin])
      t.notMatch(url.split('?')[0]!, /;|\.(\/|$)|%20(\/|$)/, `${label}: ${url} reads alike everywhere`);
  }
}

t.test('legacy_paths: refuse (default): every corpus target reaches the app of its own rule or none', (t) => corpusThrough(t, 'refuse'));
t.test('legacy_paths: rewrite: every corpus target reaches the app of its own rule or none', (t) => corpusThrough(t, 'rewrite'));

t.test('the opt-in is per upstream: only paths whose rule picks a rewriting upstream are rewritten', async (t) => {
  const main = await startUpstream(t);
  const admin = await startUpstream(t);
  const gw = await startTestGateway(t, main, {
    upstreams: { admin: { url: admin.url, legacy_paths: 'rewrite' } },
    rules: corpusRules('admin'),
  });
  const toAdmin = await sendRaw(gw.port, 'GET /admin;jsessionid=1/users HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n');
  t.equal(toAdmin.status, 200);
  t.same(
    admin.requests.map((r) => r.url),
    ['/admin/users'],
    'the Java app gets its own reading',
  );
  const toMain = await sendRaw(gw.port, 'GET /public;x/report HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n');
  t.equal(toMain.status, 400, 'the default upstream did not opt in');
  t.equal(main.requests.length, 0);
  const portal = await sendRaw(gw.port, 'GET /.gateway;x/health HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n');
  t.equal(portal.status, 400, "the gateway's own prefix is never rewritten into");
});
