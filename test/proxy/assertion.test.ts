// Issue 13 item 4: the signed identity for the app (`identity.jwt`). The app's side is played
// by an independent verifier (jose, keys fetched from {prefix}jwks.json); rotation keeps the
// old key published for the ttl and no longer; a client can never bring its own assertion.
import t, { type Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { loadConfig } from '../../src/config/load.ts';
import {
  Browser,
  send,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../helpers/gateway.ts';

function writeKey(dir: string, name: string, kind: 'ed25519' | 'p256'): string {
  const { privateKey } = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const file = join(dir, name);
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return file;
}

async function start(t: Test, kind: 'ed25519' | 'p256' = 'ed25519') {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-jwt-'));
  const keyFile = writeKey(dir, 'key.pem', kind);
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    identity: { jwt: { enabled: true, audience: 'https://app.example.com', key_file: keyFile } },
  });
  return { upstream, gw, dir };
}

async function jwks(gw: TestGateway): Promise<JSONWebKeySet> {
  const reply = await send(gw.port, '/.gateway/jwks.json');
  t.equal(reply.status, 200);
  t.match(reply.headers['content-type'], /application\/jwk-set\+json/);
  return JSON.parse(reply.body) as JSONWebKeySet;
}

function lastAssertion(upstream: Upstream): string | string[] | undefined {
  return upstream.requests.at(-1)!.headers['x-gateway-assertion'];
}

async function verify(token: string, set: JSONWebKeySet, atMs: number) {
  return jwtVerify(token, createLocalJWKSet(set), {
    issuer: 'http://gateway.test',
    audience: 'https://app.example.com',
    currentDate: new Date(atMs),
  });
}

for (const kind of ['ed25519', 'p256'] as const) {
  t.test(`the forwarded JWT verifies with jose against jwks.json (${kind})`, async (t) => {
    const { upstream, gw } = await start(t, kind);
    const alice = new Browser(gw.port);
    await signInWithEnrollment(alice, gw, 'alice');
    const signedInAt = gw.clock.now;
    t.equal((await alice.get('/reports')).status, 200);
    const token = lastAssertion(upstream);
    t.type(token, 'string', 'the app gets one assertion');
    const { payload, protectedHeader } = await verify(token as string, await jwks(gw), gw.clock.now);
    t.equal(protectedHeader.alg, kind === 'ed25519' ? 'EdDSA' : 'ES256');
    t.equal(payload.sub, 'alice');
    t.equal(payload.email, 'alice@example.com');
    t.equal(payload.name, 'Alice Example');
    t.same(payload.groups, ['admins', 'users']);
    t.same(payload.amr, ['pwd', 'totp']);
    t.equal(payload.auth_time, Math.floor(signedInAt / 1000));
    t.equal(payload.exp! - payload.iat!, 60, 'ttl 60s by default');

    // Cached for most of its lifetime: the next request carries the same token, one after 45 s a new one.
    gw.clock.now += 30_000;
    await alice.get('/reports');
    t.equal(lastAssertion(upstream), token, 'reused within three quarters of the ttl');
    gw.clock.now += 16_000;
    await alice.get('/reports');
    const renewed = lastAssertion(upstream) as string;
    t.not(renewed, token, 'renewed before it expires');
    await t.resolves(verify(renewed, await jwks(gw), gw.clock.now));
    await t.rejects(verify(token as string, await jwks(gw), gw.clock.now + 60_000), 'an expired assertion is refused');

    t.notOk((await alice.get('/public/x')) && lastAssertion(upstream), 'bypass rules carry no assertion');
  });
}

t.test('issue-13: a client cannot inject its own assertion header', async (t) => {
  const { upstream, gw } = await start(t);
  const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
  for (const name of ['X-Gateway-Assertion', 'x-gateway-assertion', 'X_Gateway_Assertion', 'X-GATEWAY-ASSERTION']) {
    await send(gw.port, '/public/x', { headers: { [name]: forged } });
    t.equal(lastAssertion(upstream), undefined, `${name} from an anonymous client is removed`);
  }
  await send(gw.port, '/public/x', { headers: { connection: 'keep-alive', 'x-gateway-assertion': [forged, forged] } });
  t.equal(lastAssertion(upstream), undefined, 'repeated lines are all removed');
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  await alice.get('/reports', { 'X-Gateway-Assertion': forged });
  const got = lastAssertion(upstream);
  t.type(got, 'string', 'exactly one assertion reaches the app');
  t.not(got, forged, 'and it is the gateway’s');
  t.equal(decodeProtectedHeader(got as string).typ, 'JWT');

  // A custom header name is removed the same way, and the default name stays removed.
  const custom = await startTestGateway(t, upstream, {
    identity: {
      jwt: { enabled: true, audience: 'a', header: 'X-Identity', key_file: writeKey(gw.dir, 'k2.pem', 'ed25519') },
    },
  });
  await send(custom.port, '/public/x', { headers: { 'x-identity': forged, 'x-gateway-assertion': forged, x_identity: forged } });
  t.equal(upstream.requests.at(-1)!.headers['x-identity'], undefined);
  t.equal(lastAssertion(upstream), undefined);
  // And with the feature off, the default header is still never passed on.
  const off = await startTestGateway(t, upstream);
  await send(off.port, '/public/x', { headers: { 'x-gateway-assertion': forged } });
  t.equal(lastAssertion(upstream), undefined);
  t.equal((await send(off.port, '/.gateway/jwks.json')).status, 404, 'no key set when the feature is off');
});

t.test('rotation: the old key stays published for the ttl, then tokens it signed are refused', async (t) => {
  const { upstream, gw, dir } = await start(t);
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  await alice.get('/reports');
  const oldToken = lastAssertion(upstream) as string;
  const signedAt = gw.clock.now;
  const before = await jwks(gw);
  t.equal(before.keys.length, 1);

  const file = join(gw.dir, 'gateway.yaml');
  const raw = YAML.parse(readFileSync(file, 'utf8')) as { identity: { jwt: { key_file: string } } };
  raw.identity.jwt.key_file = writeKey(dir, 'next.pem', 'ed25519');
  writeFileSync(file, YAML.stringify(raw));
  const loaded = await loadConfig(file, {});
  if (!loaded.ok) throw new Error('config');
  gw.reload(loaded.config);

  const during = await jwks(gw);
  t.equal(during.keys.length, 2, 'both keys are published right after the rotation');
  await t.resolves(verify(oldToken, during, signedAt + 10_000), 'a token of the old key still verifies within the ttl');
  await alice.get('/reports');
  const newToken = lastAssertion(upstream) as string;
  t.not(decodeProtectedHeader(newToken).kid, decodeProtectedHeader(oldToken).kid, 'new assertions use the new key');

  gw.clock.now += 61_000;
  const after = await jwks(gw);
  t.equal(after.keys.length, 1, 'past the ttl only the new key is published');
  await t.rejects(verify(oldToken, after, signedAt + 10_000), 'the old key’s token is refused (no matching key)');
  await t.resolves(verify(newToken, after, gw.clock.now - 50_000));
});

t.test('check-config: enabled needs audience and key_file; a wrong key kind is refused at start', async (t) => {
  const upstream = await startUpstream(t);
  await t.rejects(
    startTestGateway(t, upstream, { identity: { jwt: { enabled: true } } }),
    /identity\.jwt: needs audience[\s\S]*needs key_file/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-jwt-'));
  const rsa = join(dir, 'rsa.pem');
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await t.rejects(
    startTestGateway(t, upstream, { identity: { jwt: { enabled: true, audience: 'a', key_file: rsa } } }),
    /holds a rsa key; use Ed25519 \(EdDSA\) or P-256 \(ES256\)/,
  );
});
