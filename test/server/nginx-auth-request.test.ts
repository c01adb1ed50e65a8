// A real nginx in front of the app, asking the gateway with auth_request: the setup the
// README documents. nginx connects from 127.0.0.2, one of the test gateway's trusted proxies.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, send, signInWithEnrollment, startTestGateway, startUpstream } from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

function nginxConfig(dir: string, port: number, gatewayPort: number, appPort: number): string {
  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  return `
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  server {
    listen 127.0.0.1:${port};
    location = /_gateway_auth {
      internal;
      proxy_pass http://127.0.0.1:${gatewayPort}/.gateway/auth;
      proxy_bind 127.0.0.2;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      auth_request /_gateway_auth;
      auth_request_set $gw_user $upstream_http_remote_user;
      auth_request_set $gw_groups $upstream_http_remote_groups;
      auth_request_set $gw_location $upstream_http_location;
      proxy_set_header Remote-User $gw_user;
      proxy_set_header Remote-Groups $gw_groups;
      error_page 401 = @sign_in;
      proxy_pass http://127.0.0.1:${appPort};
    }
    location @sign_in { return 302 $gw_location; }
  }
}`;
}

t.test('nginx auth_request with the gateway as its authentication server', { skip: NGINX ? false : 'nginx is not installed (.ci/run installs nginx-light)' }, async (t) => {
  const app = await startUpstream(t);
  const gw = await startTestGateway(t, app);
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, gw.port, Number(new URL(app.url).port)));
  const check = spawnSync(NGINX!, ['-t', '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
  t.equal(check.status, 0, `nginx accepts the config: ${check.stderr}`);
  const nginx = spawn(NGINX!, ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  t.teardown(() => {
    nginx.kill('SIGQUIT');
  });
  // Wait for nginx to listen (bounded).
  for (let i = 0; i < 100; i++) {
    try {
      await send(port, '/');
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const anonymous = await send(port, '/reports?q=1', { headers: { host: 'app.example.com', 'remote-user': 'alice' } });
  t.equal(anonymous.status, 302, 'nginx sends the user to sign in');
  t.match(anonymous.headers.location, /\/\.gateway\/sign-in\?rd=http%3A%2F%2Fapp\.example\.com%2Freports%3Fq%3D1$/);
  t.equal(app.requests.length, 0, 'a forged Remote-User got nothing through');

  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const allowed = await send(port, '/reports', { headers: { host: 'app.example.com', cookie: alice.cookieHeader(), 'remote-user': 'mallory' } });
  t.equal(allowed.status, 200, 'allowed through nginx with the gateway session');
  t.equal(app.requests.at(-1)?.headers['remote-user'], 'alice', 'the app gets the identity the gateway answered, not the forged one');
  t.equal(app.requests.at(-1)?.headers['remote-groups'], 'admins,users');

  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await send(port, '/admin/x', { headers: { host: 'app.example.com', cookie: bob.cookieHeader() } })).status, 403, 'the group rule holds behind nginx');
  t.equal((await send(port, '/public/../admin/x', { headers: { host: 'app.example.com', cookie: bob.cookieHeader() } })).status, 403, 'and so does path normalization');
  const errors = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
  t.notMatch(errors, /\[(emerg|alert|crit)\]/, 'nginx logged no serious error');
});
