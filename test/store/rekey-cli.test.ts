// Rotating store.encryption_key with the command an operator runs: secrets sealed with the
// old key still open while it is listed as previous; after `store rekey` the old key can go.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';

t.test('mfa-gateway store rekey re-seals every secret so the old key can be dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-rekey-'));
  const oldKey = randomBytes(32).toString('hex');
  const newKey = randomBytes(32).toString('hex');
  const db = join(dir, 'gateway.db');
  const secret = randomBytes(20);

  const before = await openStore(
    { sqlite: { path: db }, encryption_key: oldKey, previous_encryption_keys: [] },
    { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  const added = await before.addMethod(
    { user: 'bob', kind: 'totp', label: 'Phone', secret, period: 30, digits: 6, algorithm: 'sha1', active: true },
    5,
  );
  await before.close();
  if (!added.ok) throw new Error('setup failed');

  const config = (current: string, previous: string[]) => {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `upstream: { url: http://127.0.0.1:3000 }
session: { secret: rekey-test-secret-rekey-test-secret-0123 }
store: { sqlite: { path: ${db} }, encryption_key: "${current}", previous_encryption_keys: [${previous.map((k) => `"${k}"`).join(', ')}] }
users: { file: ${join(dir, 'users.yaml')} }
rules: [ { paths: ["/**"], policy: deny } ]
`,
    );
    return file;
  };
  writeFileSync(join(dir, 'users.yaml'), 'users: {}\n');
  let out = '';
  const io = {
    stdin: process.stdin,
    stdout: new Writable({
      write: (c, _e, d) => {
        out += String(c);
        d();
      },
    }),
    stderr: new Writable({
      write: (c, _e, d) => {
        out += String(c);
        d();
      },
    }),
    env: {},
  };

  t.equal(await main(['store', 'rekey', '--config', config(newKey, [oldKey])], io), 0, out);
  t.match(out, /re-sealed 1 secret with the current key/);

  const after = await openStore(
    { sqlite: { path: db }, encryption_key: newKey, previous_encryption_keys: [] },
    { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(() => after.close());
  t.same(await after.secretOf(added.method.id), secret, 'the secret opens with the new key alone');

  out = '';
  t.equal(await main(['store', 'rekey', '--config', config(newKey, [])], io), 0, out);
  t.match(out, /re-sealed 0 secrets/, 'a second run has nothing left to do');
  t.equal(await main(['store', 'nonsense', '--config', config(newKey, [])], io), 2);
});
