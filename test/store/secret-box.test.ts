// Secret box: AES-256-GCM sealing of second-factor secrets, tamper detection, key rotation and the key file.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createSecretBox, keyId, loadEncryptionKey, parseKey } from '../../src/store/secret-box.ts';

const keyA = Buffer.alloc(32, 1);
const keyB = Buffer.alloc(32, 2);

/** Replaces part `i` of a sealed string with a version whose first byte is flipped. */
function flip(sealed: string, i: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[i]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[i] = bytes.toString('base64url');
  return parts.join('.');
}

t.test('round trip, with a fresh IV every time', async (t) => {
  const box = createSecretBox(keyA, []);
  const secret = Buffer.from('12345678901234567890');
  const s1 = box.seal(secret, 'method:1');
  const s2 = box.seal(secret, 'method:1');
  t.match(s1, /^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
  t.not(s1, s2, 'random IV');
  t.same(box.open(s1, 'method:1'), secret);
  t.equal(box.keyIdOf(s1), keyId(keyA));
  t.equal(box.currentKeyId, keyId(keyA));
  t.equal(box.keyIdOf('plain'), null);
});

t.test('tampering is refused: ciphertext, tag, IV, row binding, key id, format', async (t) => {
  const box = createSecretBox(keyA, [keyB]);
  const sealed = box.seal(Buffer.from('secret'), 'method:1');
  t.throws(() => box.open(flip(sealed, 4), 'method:1'), /authentication failed/, 'ciphertext');
  t.throws(() => box.open(flip(sealed, 3), 'method:1'), /authentication failed/, 'tag');
  t.throws(() => box.open(flip(sealed, 2), 'method:1'), /authentication failed/, 'iv');
  t.throws(() => box.open(sealed, 'method:2'), /authentication failed/, 'copied to another row');
  const relabelled = sealed.replace(`.${keyId(keyA)}.`, `.${keyId(keyB)}.`);
  t.throws(() => box.open(relabelled, 'method:1'), /authentication failed/, 'key id swapped');
  t.throws(() => box.open('v2.x.y.z.w', 'method:1'), /not a sealed secret/);
  t.throws(() => box.open(sealed.split('.').slice(0, 4).join('.'), 'method:1'), /not a sealed secret/);
});

t.test('rotation: the current key seals, previous keys open', async (t) => {
  const old = createSecretBox(keyA, []);
  const sealedOld = old.seal(Buffer.from('s'), 'a');
  const rotated = createSecretBox(keyB, [keyA]);
  t.same(rotated.open(sealedOld, 'a'), Buffer.from('s'));
  t.equal(rotated.keyIdOf(rotated.seal(Buffer.from('s'), 'a')), keyId(keyB));
  t.throws(() => createSecretBox(keyB, []).open(sealedOld, 'a'), /neither the current key nor a previous key/);
  t.throws(() => createSecretBox(Buffer.alloc(16), []), /32 bytes/);
});

t.test('configured keys: 64 hex or base64 of 32 bytes', async (t) => {
  t.same(parseKey('01'.repeat(32), 'k'), Buffer.alloc(32, 1));
  t.same(parseKey(Buffer.alloc(32, 7).toString('base64'), 'k'), Buffer.alloc(32, 7));
  t.same(parseKey(Buffer.alloc(32, 0xff).toString('base64url'), 'k'), Buffer.alloc(32, 0xff));
  t.throws(() => parseKey('00'.repeat(16), 'store.encryption_key'), /store.encryption_key: must be 32 bytes/);
  t.throws(() => parseKey('not a key!', 'k'), /must be 32 bytes/);
  const keys = await loadEncryptionKey({
    sqlite: { path: '/nonexistent/x.db' },
    encryption_key: '02'.repeat(32),
    previous_encryption_keys: ['01'.repeat(32)],
  });
  t.same(keys, { current: keyB, previous: [keyA] });
  await t.rejects(loadEncryptionKey({ postgres: { url: 'postgres://x' }, previous_encryption_keys: [] }), /required with PostgreSQL/);
});

t.test('SQLite without a key: key file created 0600 on first start and reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-key-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'data', 'gateway.db');
  const config = { sqlite: { path }, previous_encryption_keys: [] };
  const [first, concurrent] = await Promise.all([loadEncryptionKey(config), loadEncryptionKey(config)]);
  t.same(first.current, concurrent.current, 'two starters at once agree on one key');
  t.equal(first.current.length, 32);
  const st = await stat(`${path}.key`);
  t.equal(st.mode & 0o777, 0o600);
  t.match(await readFile(`${path}.key`, 'utf8'), /^[0-9a-f]{64}\n$/);
  t.same((await loadEncryptionKey(config)).current, first.current, 'reused after');
  t.same(await readdir(join(dir, 'data')), ['gateway.db.key'], 'no temporary files left');
});
