/**
 * `mfa-gateway serve` with the sample config loads at start only what judging and answering
 * requests needs: the libraries of features the config leaves off, or that only a later
 * request uses, load on first use (each saved tens of milliseconds of every start). The
 * command runs as a process with a module hook that records every package it loads until
 * `/.gateway/health` has answered; a failure names the package and who loaded it.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { serveSample } from '../helpers/serve.ts';

/** Appends "package<TAB>importer" for every module resolved inside a node_modules folder. */
const HOOK = `
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    const at = resolved.url.lastIndexOf('/node_modules/');
    if (at >= 0) {
      const name = /^(@[^/]+\\/)?[^/]+/.exec(resolved.url.slice(at + 14))[0];
      appendFileSync(process.env.LOADS_FILE, name + '\\t' + (context.parentURL ?? '') + '\\n');
    }
    return resolved;
  },
});
`;

/** Loaded by their first use, never by a start with the sample config. */
const LATER = [
  '@simplewebauthn/server', // the first security-key ceremony
  'jose', // the first signed identity assertion or back-channel logout token
  'undici', // the first forwarded request
  'prom-client', // only with server.metrics
  'openid-client', // the first federated sign-in
  'pg', // only with store.postgres
  'nodemailer', // the first e-mail
  'qrcode', // the first TOTP enrollment page
  'ldapts', // only with users.ldap
  'http-proxy-3', // the first WebSocket
];

t.test('serve with the sample config answers health without loading the libraries of features used later or not at all', async (t) => {
  const loads = join(mkdtempSync(join(tmpdir(), 'mfa-startup-imports-')), 'loads.tsv');
  t.teardown(() => rmSync(dirname(loads), { recursive: true, force: true }));
  writeFileSync(loads, '');
  const serving = await serveSample(t, {
    nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(HOOK)}`],
    env: { LOADS_FILE: loads },
  });
  const loadedBy = new Map<string, string>();
  for (const line of readFileSync(loads, 'utf8').split('\n').filter(Boolean)) {
    const [name = '', parent = ''] = line.split('\t');
    if (!loadedBy.has(name)) loadedBy.set(name, parent);
  }
  await serving.stop();

  for (const name of ['better-sqlite3', 'pino', 'yaml']) t.ok(loadedBy.has(name), `${name} is loaded at start (the hook sees packages)`);
  for (const name of LATER)
    t.notOk(loadedBy.has(name), `${name} not loaded at start${loadedBy.has(name) ? ` (by ${loadedBy.get(name)})` : ''}`);
});
