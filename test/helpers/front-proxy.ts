/**
 * @module test/helpers/front-proxy
 * Real nginx and real Caddy in front of a test app, each configured with the README's
 * snippet (read from `docs/forward-auth/`, only addresses templated in), asking a test
 * gateway with forward-auth. Both run on loopback ports in a temp dir and write nothing
 * global; the test skips when a binary is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from './net.ts';
import { send } from './gateway.ts';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
export const CADDY = ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => existsSync(p));

const DOCS = new URL('../../docs/forward-auth/', import.meta.url);
export const snippet = (name: 'nginx.conf' | 'Caddyfile' | 'traefik.yml') => readFileSync(new URL(name, DOCS), 'utf8');

/** The README's addresses replaced by the test's: gateway 127.0.0.1:8080, app 127.0.0.1:3000. */
function template(text: string, gatewayPort: number, appPort: number): string {
  const out = text.replaceAll('127.0.0.1:8080', `127.0.0.1:${gatewayPort}`).replaceAll('127.0.0.1:3000', `127.0.0.1:${appPort}`);
  if (out === text) throw new Error('snippet addresses not found: the docs changed, update the template');
  return out;
}

export interface FrontProxy {
  port: number;
  /** Error lines the proxy logged. */
  errors(): string;
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await send(port, '/.gateway/health');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`front proxy did not listen on ${port}`);
}

export async function startNginx(t: Test, gatewayPort: number, appPort: number): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  const server = template(snippet('nginx.conf'), gatewayPort, appPort).replace('listen 80;', `listen 127.0.0.1:${port};`);
  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
${server}
}
`,
  );
  const check = spawnSync(NGINX!, ['-t', '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx refuses the README config: ${check.stderr}`);
  const nginx = spawn(NGINX!, ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  t.teardown(() => {
    nginx.kill('SIGQUIT');
  });
  await waitListening(port);
  const log = join(dir, 'error.log');
  return {
    port,
    errors: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => /\[(emerg|alert|crit|error)\]/.test(l))
            .join('\n')
        : '',
  };
}

export async function startCaddy(t: Test, gatewayPort: number, appPort: number): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-caddy-'));
  const port = await freePort();
  // Plain HTTP on a loopback port, no admin endpoint, nothing written outside the temp dir.
  const site = template(snippet('Caddyfile'), gatewayPort, appPort).replace(
    /^app\.example\.com \{/m,
    `http://app.example.com:${port}, http://127.0.0.1:${port} {`,
  );
  writeFileSync(join(dir, 'Caddyfile'), `{\n  admin off\n  auto_https off\n  storage file_system ${join(dir, 'data')}\n}\n${site}`);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  };
  const check = spawnSync(CADDY!, ['validate', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { encoding: 'utf8', env });
  if (check.status !== 0) throw new Error(`caddy refuses the README config: ${check.stderr}`);
  let stderr = '';
  const caddy = spawn(CADDY!, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  caddy.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  t.teardown(() => {
    caddy.kill('SIGTERM');
  });
  await waitListening(port);
  return {
    port,
    errors: () =>
      stderr
        .split('\n')
        .filter((l) => /"level":"(error|fatal|panic)"/.test(l))
        .join('\n'),
  };
}
