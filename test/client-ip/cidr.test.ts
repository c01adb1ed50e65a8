// Guards address parsing (one meaning per address, legacy IPv4 spellings refused) and
// network sets (both families, mapped IPv6, bad entries named).
import t from 'tap';
import { createNetworkSet, parseAddress } from '../../src/client-ip/cidr.ts';

t.test('parseAddress accepts real addresses and normalizes them', async (t) => {
  const cases: [string, string, 'ipv4' | 'ipv6'][] = [
    ['192.0.2.1', '192.0.2.1', 'ipv4'],
    ['0.0.0.0', '0.0.0.0', 'ipv4'],
    ['255.255.255.255', '255.255.255.255', 'ipv4'],
    ['::ffff:10.0.0.1', '10.0.0.1', 'ipv4'],
    ['::FFFF:10.0.0.1', '10.0.0.1', 'ipv4'],
    ['::ffff:a00:1', '10.0.0.1', 'ipv4'],
    ['[::ffff:10.0.0.1]', '10.0.0.1', 'ipv4'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1', 'ipv4'],
    ['::1', '::1', 'ipv6'],
    ['::', '::', 'ipv6'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 'ipv6'],
    ['[2001:db8::1]', '2001:db8::1', 'ipv6'],
    ['fe80::1%eth0', 'fe80::1', 'ipv6'],
    ['[fe80::1%25eth0]', 'fe80::1', 'ipv6'],
    ['2001:db8::192.0.2.1', '2001:db8::c000:201', 'ipv6'],
  ];
  for (const [input, text, kind] of cases) {
    const addr = parseAddress(input);
    t.equal(addr?.toString(), text, input);
    t.equal(addr?.kind(), kind, `${input} is ${kind}`);
  }
});

t.test('parseAddress refuses everything else without throwing', async (t) => {
  const bad = [
    '',
    ' 192.0.2.1',
    '192.0.2.1 ',
    '192.0.2',
    '192.0.2.1.5',
    '192.0.2.256',
    '127.1',
    '0x7f.0.0.1',
    '010.0.0.1',
    '1.2.3.04',
    '4294967295',
    '::ffff:010.0.0.1',
    '::ffff:1.2.3',
    '1::2::3',
    '2001:db8::g',
    '[192.0.2.1]',
    '[::1',
    '::1]',
    'fe80::1%',
    'localhost',
    'unknown',
    '_hidden',
    '192.0.2.1:80',
    '[::1]:80',
    'a'.repeat(200),
  ];
  for (const input of bad) t.equal(parseAddress(input), null, JSON.stringify(input));
});

t.test('network sets match both families and never across them', async (t) => {
  const set = createNetworkSet(['10.0.0.0/8', '192.168.1.0/24', '203.0.113.7', '2001:db8::/32', '::1', 'fd00::/8']);
  t.equal(set.size, 6);
  const cases: [string, boolean][] = [
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.1.77', true],
    ['192.168.2.1', false],
    ['203.0.113.7', true],
    ['203.0.113.8', false],
    ['::ffff:10.1.2.3', true],
    ['2001:db8::1', true],
    ['2001:db8:ffff:ffff::1', true],
    ['2001:db9::1', false],
    ['::1', true],
    ['::2', false],
    ['fdff::1', true],
    ['fe00::1', false],
  ];
  for (const [input, expected] of cases) t.equal(set.has(parseAddress(input)!), expected, input);
});

t.test('prefix edges: /0, odd prefixes, host bits', async (t) => {
  const all4 = createNetworkSet(['0.0.0.0/0']);
  t.ok(all4.has(parseAddress('1.2.3.4')!));
  t.notOk(all4.has(parseAddress('::1')!), 'an IPv4 range never holds IPv6');
  const all6 = createNetworkSet(['::/0']);
  t.ok(all6.has(parseAddress('2001:db8::1')!));
  t.notOk(all6.has(parseAddress('1.2.3.4')!), 'an IPv6 range never holds IPv4');
  const odd = createNetworkSet(['172.16.0.0/12', '2001:db8:8000::/33']);
  t.ok(odd.has(parseAddress('172.31.255.255')!));
  t.notOk(odd.has(parseAddress('172.32.0.0')!));
  t.ok(odd.has(parseAddress('2001:db8:ffff::1')!));
  t.notOk(odd.has(parseAddress('2001:db8:7fff::1')!));
  const hostBits = createNetworkSet(['10.1.2.3/8']);
  t.ok(hostBits.has(parseAddress('10.200.0.1')!), 'host bits below the prefix are ignored');
  const empty = createNetworkSet([]);
  t.equal(empty.size, 0);
  t.notOk(empty.has(parseAddress('10.0.0.1')!));
  t.notOk(empty.has(parseAddress('::1')!));
});

t.test('IPv4-mapped ranges hold the IPv4 addresses they map', async (t) => {
  const set = createNetworkSet(['::ffff:192.168.0.0/112', '::ffff:203.0.113.9']);
  t.ok(set.has(parseAddress('192.168.4.5')!));
  t.ok(set.has(parseAddress('::ffff:192.168.4.5')!));
  t.notOk(set.has(parseAddress('192.169.0.1')!));
  t.ok(set.has(parseAddress('203.0.113.9')!));
  // A range wider than the mapped block is an IPv6 range, and IPv4 is IPv4: `::/0` is not "everything".
  const wide = createNetworkSet(['::ffff:0:0/80']);
  t.ok(wide.has(parseAddress('::1')!));
  t.notOk(wide.has(parseAddress('10.0.0.1')!));
});

t.test('a bad entry is named in the error', async (t) => {
  for (const entry of [
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '10.0.0/8',
    'example.com',
    '[::1]/128',
    'fe80::1%eth0',
    '',
  ]) {
    t.throws(
      () => createNetworkSet(['10.0.0.0/8', entry]),
      { message: `not an IP address or CIDR: ${JSON.stringify(entry)}` },
      JSON.stringify(entry),
    );
  }
});
