/**
 * @module scripts/demo
 * `npm start`: the gateway on its embedded defaults, for a first look. Starts the sample
 * legacy app on 127.0.0.1:3000 and the gateway on http://localhost:8080 in front of it,
 * with config/gateway.yaml, the SQLite store in data/ and the sample users in
 * config/users.yaml. The session secret comes from GATEWAY_SESSION_SECRET, or is made
 * once and kept in data/demo-session-secret so sessions survive a restart.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startSampleApp } from './sample-app.ts';
import { main } from '../src/cli/main.ts';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));

if (!process.env.GATEWAY_SESSION_SECRET) {
  const file = 'data/demo-session-secret';
  mkdirSync('data', { recursive: true });
  if (!existsSync(file)) writeFileSync(file, randomBytes(36).toString('base64url'), { mode: 0o600 });
  process.env.GATEWAY_SESSION_SECRET = readFileSync(file, 'utf8').trim();
}

await startSampleApp(3000);
process.stdout.write(`
  mfa-gateway demo
  ----------------
  sample app (no sign-in of its own)  http://127.0.0.1:3000
  gateway in front of it              http://localhost:8080

  Sign in as alice / alice-demo-password (group admins) or bob / bob-demo-password.
  The first sign-in enrolls an authenticator app: scan the QR code, or type the key.
  /public/ needs no sign-in; /admin/ needs the admins group. Ctrl-C stops both.

`);
process.exitCode = await main(['serve', '--config', 'config/gateway.yaml']);
process.exit();
