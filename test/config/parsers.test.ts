// The small parsers shared with the rest of the gateway: durations, listen addresses, networks, keys.
import t from 'tap';
import ipaddr from 'ipaddr.js';
import { parseDuration } from '../../src/config/duration.ts';
import { parseListen } from '../../src/config/listen.ts';
import { parseNetwork } from '../../src/config/network.ts';
import { decodeEncryptionKey } from '../../src/config/keys.ts';
import { formatKeyPath } from '../../src/config/key-path.ts';

t.test('parseDuration', async (t) => {
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('30s'), 30_000);
  t.equal(parseDuration('15m'), 900_000);
  t.equal(parseDuration('12h'), 43_200_000);
  t.equal(parseDuration('14d'), 1_209_600_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('1m1ms'), 60_001);
  t.equal(parseDuration('0s'), 0);
  for (const bad of ['', '30', 's', '1.5h', '1 h', '-1s', '1w', '1h 30m', ' 1s', '99999999999999999d']) {
    t.throws(() => parseDuration(bad), Error, JSON.stringify(bad));
  }
});

t.test('parseListen', async (t) => {
  t.same(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  t.same(parseListen('[::1]:443'), { host: '::1', port: 443 });
  t.same(parseListen(':8080'), { host: '', port: 8080 });
  t.same(parseListen('gw.internal:65535'), { host: 'gw.internal', port: 65535 });
  t.throws(() => parseListen('127.0.0.1'), /must be host:port/);
  t.throws(() => parseListen('::1:80'), /must be host:port/);
  t.throws(() => parseListen('[127.0.0.1]:80'), /not an IPv6 address/);
  t.throws(() => parseListen('a b:80'), /not an IPv4 address or host name/);
  t.throws(() => parseListen('host:65536'), /out of range/);
  t.throws(() => parseListen('host:-1'), /must be host:port/);
});

t.test('parseNetwork', async (t) => {
  const show = (s: string) => {
    const [addr, prefix] = parseNetwork(s);
    return `${addr.kind()} ${addr.toString()}/${prefix}`;
  };
  t.equal(show('10.0.0.0/8'), 'ipv4 10.0.0.0/8');
  t.equal(show('192.168.1.7'), 'ipv4 192.168.1.7/32');
  t.equal(show('fd00::/8'), 'ipv6 fd00::/8');
  t.equal(show('::1'), 'ipv6 ::1/128');
  t.equal(show('0.0.0.0/0'), 'ipv4 0.0.0.0/0');
  t.equal(show('::ffff:10.0.0.0/104'), 'ipv4 10.0.0.0/8', 'IPv4-mapped CIDR becomes IPv4');
  t.equal(show('::ffff:10.1.2.3'), 'ipv4 10.1.2.3/32', 'IPv4-mapped address becomes IPv4');
  t.throws(() => parseNetwork('10.1'), /not an IP address or CIDR/);
  t.throws(() => parseNetwork('10.0.0.0/33'), /prefix length outside 0 to 32/);
  t.throws(() => parseNetwork('fd00::/129'), /prefix length outside 0 to 128/);
  t.throws(() => parseNetwork('10.0.0.0/'), /prefix length/);
  t.throws(() => parseNetwork('10.0.0.1/8'), /host bits set; did you mean 10\.0\.0\.0\/8\?/);
  t.throws(() => parseNetwork('example.com'), /not an IP address/);

  const [range, bits] = parseNetwork('::ffff:10.0.0.0/104');
  const client = ipaddr.process('::ffff:10.9.9.9');
  t.ok(client.kind() === range.kind() && client.match(range, bits), 'matches clients as ipaddr.process normalizes them');
});

t.test('decodeEncryptionKey', async (t) => {
  const key = Buffer.alloc(32, 0xa5);
  t.same(decodeEncryptionKey(key.toString('hex')), key);
  t.same(decodeEncryptionKey(key.toString('hex').toUpperCase()), key);
  t.same(decodeEncryptionKey(key.toString('base64')), key);
  t.same(decodeEncryptionKey(key.toString('base64url')), key);
  t.throws(() => decodeEncryptionKey('ab'.repeat(31)), /32 bytes/);
  t.throws(() => decodeEncryptionKey(Buffer.alloc(31).toString('base64')), /32 bytes/);
});

t.test('formatKeyPath', async (t) => {
  t.equal(formatKeyPath(['rules', 2, 'policy']), 'rules[2].policy');
  t.equal(formatKeyPath(['mfa', 'lockout', 'denials']), 'mfa.lockout.denials');
  t.equal(formatKeyPath(['messages', 'en', 'sign in.title']), 'messages.en["sign in.title"]');
  t.equal(formatKeyPath([]), '');
});
