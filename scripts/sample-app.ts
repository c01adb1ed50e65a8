/**
 * @module scripts/sample-app
 * A small "legacy app" to put behind the gateway in the demo and the tests: it has no
 * sign-in of its own and shows who the gateway says the user is (the Remote-* headers).
 * Run alone with `node scripts/sample-app.ts [--port 3000]`.
 */
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Legacy Intranet</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f1ea;color:#222}header{background:#2d4059;color:#fff;padding:12px 24px}
main{max-width:720px;margin:24px auto;background:#fff;border:1px solid #ddd;border-radius:6px;padding:24px}table{border-collapse:collapse}
td,th{border-bottom:1px solid #eee;padding:4px 12px 4px 0;text-align:left}code{background:#f0f0f0;padding:1px 4px}</style></head>
<body><header><strong>Legacy Intranet</strong> · an app with no sign-in of its own</header><main><h1>${escapeHtml(title)}</h1>${body}
<p><a href="/">Home</a> · <a href="/public/">Public page</a> · <a href="/admin/">Admin area</a> · <a href="/.gateway/account">Account security</a> · <a href="/.gateway/sign-out">Sign out</a></p></main></body></html>`;
}

/** Starts the sample app; resolves once it listens. */
export function startSampleApp(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sample');
    const user = req.headers['remote-user'];
    const rows = ['remote-user', 'remote-groups', 'remote-email', 'remote-name', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']
      .map((h) => `<tr><th><code>${h}</code></th><td>${escapeHtml(String(req.headers[h] ?? '—'))}</td></tr>`)
      .join('');
    let title = 'Welcome';
    let body = '';
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    } else if (url.pathname.startsWith('/public')) {
      title = 'Public page';
      body = '<p>This page is on a <code>bypass</code> rule: anyone may see it without signing in.</p>';
    } else if (url.pathname.startsWith('/admin')) {
      title = 'Admin area';
      body = '<p>Only members of the <code>admins</code> group who passed the second factor reach this page.</p>';
    } else {
      body = `<p>${user ? `Signed in as <strong>${escapeHtml(String(user))}</strong>.` : 'No user: this request came without an identity.'}</p>`;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(title, `${body}<h2>What the gateway told this app</h2><table>${rows}</table>`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '3000' }, host: { type: 'string', default: '127.0.0.1' } } });
  const server = await startSampleApp(Number(values.port), values.host);
  const address = server.address();
  process.stdout.write(
    `sample app listening on ${typeof address === 'object' && address ? `${address.address}:${address.port}` : address}\n`,
  );
}
