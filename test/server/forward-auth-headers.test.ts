// issue 10 item 9: each forward-auth endpoint reads the original request only from the
// header family its proxy sets and overwrites, and refuses everything a client could add.
import t from 'tap';
import { originalRequest, type Integration } from '../../src/server/forward-auth.ts';

const flat = (h: Record<string, string | string[]>) =>
  Object.entries(h).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, v]));

const NGINX = { 'X-Original-URL': 'https://app.example.com/reports?q=1', 'X-Original-Method': 'GET' };
const FORWARDED = {
  'X-Forwarded-Method': 'GET',
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': 'app.example.com',
  'X-Forwarded-Uri': '/reports?q=1',
};
const WANT = { method: 'GET', proto: 'https', hostHeader: 'app.example.com', target: '/reports?q=1' };

t.test('each endpoint reads its own family', async (t) => {
  t.same(originalRequest('nginx', flat(NGINX)), WANT);
  t.same(originalRequest('traefik', flat(FORWARDED)), WANT);
  t.same(originalRequest('caddy', flat(FORWARDED)), WANT);
  t.same(
    originalRequest('nginx', flat({ ...NGINX, 'X-Original-URL': 'http://App.Example.com:8443/a,b/c?x=1,2', 'X-Original-Method': 'post' })),
    {
      method: 'POST',
      proto: 'http',
      hostHeader: 'App.Example.com:8443',
      target: '/a,b/c?x=1,2',
    },
    'port, case and commas inside the path are kept as sent',
  );
  t.same(originalRequest('caddy', flat({ ...FORWARDED, 'X-Forwarded-Proto': 'HTTP', 'X-Forwarded-Host': '[::1]:8080' })), {
    ...WANT,
    proto: 'http',
    hostHeader: '[::1]:8080',
  });
  // Headers of the request itself that are not about the original request do not matter.
  t.same(
    originalRequest(
      'nginx',
      flat({ ...NGINX, 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'lb.example.com' }),
    ),
    WANT,
  );
});

t.test('never falls back to the other family', async (t) => {
  t.match(originalRequest('nginx', flat(FORWARDED)), /x-forwarded-uri is not read by the nginx endpoint/);
  t.match(originalRequest('caddy', flat(NGINX)), /x-original-url is not read by the caddy endpoint/);
  t.match(originalRequest('traefik', flat({ 'X-Forwarded-Host': 'app.example.com' })), /x-forwarded-method is missing/);
  t.match(
    originalRequest('nginx', flat({ 'X-Original-URL': NGINX['X-Original-URL'] })),
    /x-original-method is missing/,
    'no default method',
  );
  for (const name of ['X-Forwarded-Method', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Forwarded-Uri']) {
    const partial: Record<string, string> = { ...FORWARDED };
    delete partial[name];
    t.match(originalRequest('traefik', flat(partial)), new RegExp(`${name.toLowerCase()} is missing`), `${name} missing: refused`);
  }
});

// The client adds one header of the other family (or an override some app reads) to what
// the proxy sends: refused on every endpoint, in every spelling.
const FOREIGN: Record<Integration, string[]> = {
  nginx: [
    'X-Forwarded-Uri',
    'X-Forwarded-Method',
    'X-Rewrite-URL',
    'X-Original-URI',
    'X-Forwarded-Prefix',
    'X-HTTP-Method-Override',
    'X-Method-Override',
    'X-HTTP-Method',
  ],
  traefik: [
    'X-Original-URL',
    'X-Original-Method',
    'X-Rewrite-URL',
    'X-Original-URI',
    'X-Forwarded-Prefix',
    'X-HTTP-Method-Override',
    'X-Method-Override',
    'X-HTTP-Method',
  ],
  caddy: [
    'X-Original-URL',
    'X-Original-Method',
    'X-Rewrite-URL',
    'X-Original-URI',
    'X-Forwarded-Prefix',
    'X-HTTP-Method-Override',
    'X-Method-Override',
    'X-HTTP-Method',
  ],
};
const spellings = (name: string) => [
  name,
  name.toLowerCase(),
  name.toUpperCase(),
  name.replaceAll('-', '_'),
  name.toLowerCase().replaceAll('-', '_'),
];

t.test('a request carrying both families or an override header is refused', async (t) => {
  for (const integration of ['nginx', 'traefik', 'caddy'] as const) {
    const own = integration === 'nginx' ? NGINX : FORWARDED;
    for (const name of FOREIGN[integration]) {
      for (const spelling of spellings(name)) {
        const value = /method/i.test(name) ? 'GET' : /url|uri/i.test(name) ? 'https://app.example.com/public/x' : '/public';
        const got = originalRequest(integration, flat({ ...own, [spelling]: value }));
        t.type(got, 'string', `${integration}: ${spelling} refused`);
      }
    }
  }
});

t.test('a header of the family sent twice is refused, never picked', async (t) => {
  const twice: [Integration, Record<string, string | string[]>][] = [
    ['nginx', { ...NGINX, 'X-Original-URL': ['https://app.example.com/public/x', NGINX['X-Original-URL']] }],
    ['nginx', { ...NGINX, 'X-Original-Method': ['GET', 'POST'] }],
    ['nginx', { ...NGINX, x_original_url: 'https://app.example.com/public/x' }],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': ['/public/x', '/admin/'] }],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Host': ['evil.example.com', 'app.example.com'] }],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Method': ['GET', 'DELETE'] }],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Proto': ['https', 'http'] }],
    ['traefik', { ...FORWARDED, x_forwarded_uri: '/public/x' }],
    ['caddy', { ...FORWARDED, X_Forwarded_Host: 'evil.example.com' }],
  ];
  for (const [integration, headers] of twice)
    t.match(originalRequest(integration, flat(headers)), /sent 2 times/, `${integration}: ${JSON.stringify(headers)}`);
});

t.test('values a proxy appended to, or that hide a second reading, are refused', async (t) => {
  const bad: [Integration, Record<string, string>, RegExp][] = [
    // Appended lists: refuse rather than pick the first or the last.
    ['caddy', { ...FORWARDED, 'X-Forwarded-Host': 'evil.example.com, app.example.com' }, /several values/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Host': 'evil.example.com,app.example.com' }, /several values/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Proto': 'http, https' }, /neither http nor https/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Method': 'GET, POST' }, /not a method/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Uri': '/public/x, /admin/' }, /whitespace/],
    // Tricks inside X-Forwarded-Uri: absolute form, whitespace, control characters.
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': 'https://app.example.com/public/x' }, /not an origin-form path/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': 'public/x' }, /not an origin-form path/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': '*' }, /not an origin-form path/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': '/admin/ HTTP/1.1' }, /whitespace/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': '/admin/\tx' }, /whitespace/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': '/admin/\u0000x' }, /whitespace/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': '/admin/é' }, /whitespace/],
    ['caddy', { ...FORWARDED, 'X-Forwarded-Uri': '' }, /not an origin-form path/],
    // Hosts.
    ['traefik', { ...FORWARDED, 'X-Forwarded-Host': 'user@app.example.com' }, /userinfo/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Host': 'app.example.com/public' }, /not a host/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Host': 'app.example.com:80:80' }, /not a host/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Host': '' }, /not a host/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Proto': 'ftp' }, /neither http nor https/],
    ['traefik', { ...FORWARDED, 'X-Forwarded-Method': 'GE T' }, /not a method/],
    // X-Original-URL.
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://user@app.example.com/admin/' }, /userinfo/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://user:pw@app.example.com/admin/' }, /userinfo/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example.com@evil.example.com/admin/' }, /userinfo/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://evil.example.com\\@app.example.com/admin/' }, /userinfo/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example.com%2f@evil/' }, /userinfo|not a host/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example%2ecom/admin/' }, /not a host/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'ftp://app.example.com/admin/' }, /not an absolute http\(s\) URL/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'javascript://app.example.com/%0aalert(1)' }, /not an absolute http\(s\) URL/],
    ['nginx', { ...NGINX, 'X-Original-URL': '/admin/' }, /not an absolute http\(s\) URL/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https:/app.example.com/admin/' }, /not an absolute http\(s\) URL/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example.com' }, /not an origin-form path/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example.com?x=1' }, /not an origin-form path/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example.comhttp://evil/admin/' }, /not a host/],
    ['nginx', { ...NGINX, 'X-Original-URL': 'https://app.example.com/admin/ x' }, /whitespace/],
    ['nginx', { ...NGINX, 'X-Original-Method': 'GET,POST' }, /not a method/],
  ];
  for (const [integration, headers, reason] of bad)
    t.match(originalRequest(integration, flat(headers)), reason, `${integration}: ${JSON.stringify(headers)}`);
});
