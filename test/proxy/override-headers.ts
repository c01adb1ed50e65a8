/**
 * @module test/proxy/override-headers
 * The request fields that override the path, method, host, scheme or client address an
 * app sees, and the spellings a server may map onto the same name (issue 10, item 6).
 */

/** Every spelling a server may map onto the same variable: case, and `_` for `-` (CGI, WSGI, nginx `underscores_in_headers`). */
export function spellings(name: string): string[] {
  const title = name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
  return [name, name.toUpperCase(), title, name.replaceAll('-', '_'), title.replaceAll('-', '_'), name.toUpperCase().replaceAll('-', '_')];
}

export const OVERRIDES = [
  // the path an app or framework may route on instead of the request line
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-envoy-original-path',
  // the method
  'x-original-method',
  'x-forwarded-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // host, scheme and port an app may build URLs or security decisions on
  'x-original-host',
  'x-host',
  'x-forwarded-server',
  'x-forwarded-port',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-url-scheme',
  'front-end-https',
  // client addresses beside X-Forwarded-For
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  // Next.js treats it as an internal subrequest and skips its middleware (CVE-2025-29927)
  'x-middleware-subrequest',
];
