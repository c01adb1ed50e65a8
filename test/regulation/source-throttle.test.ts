// The per-source throttle against password spraying, as a pure decision: which source an
// address counts under (IPv6 grouped by prefix), and the sliding window on a frozen clock.
import t from 'tap';
import { parseAddress } from '../../src/client-ip/cidr.ts';
import { forgive, sourceKey, throttle } from '../../src/regulation/source-throttle.ts';

const key = (a: string, v4 = 32, v6 = 64) => sourceKey(parseAddress(a)!, v4, v6);

t.test('source key: IPv6 hosts are grouped by their /64, IPv4 counted per address by default', async (t) => {
  const cases: Array<[string, string, number, number, string]> = [
    ['a plain IPv4 address is its own source', '192.0.2.7', 32, 64, '192.0.2.7'],
    ['IPv4-mapped IPv6 (a dual-stack socket) is the IPv4 address', '::ffff:192.0.2.7', 32, 64, '192.0.2.7'],
    ['IPv6: the interface part is dropped', '2001:db8:1:2:a:b:c:d', 32, 64, '2001:db8:1:2::/64'],
    ['IPv6: another address in the same /64 is the same source', '2001:db8:1:2:ffff:ffff:ffff:ffff', 32, 64, '2001:db8:1:2::/64'],
    ['IPv6: the neighbouring /64 is another source', '2001:db8:1:3::1', 32, 64, '2001:db8:1:3::/64'],
    ['IPv6 zone ids do not make a new source', '[2001:db8:1:2::5%eth0]', 32, 64, '2001:db8:1:2::/64'],
    ['IPv6 /56 grouping (configurable)', '2001:db8:1:2ff::1', 32, 56, '2001:db8:1:200::/56'],
    ['IPv6 /48 grouping, bits inside a byte', '2001:db8:abcd:ef01::1', 32, 48, '2001:db8:abcd::/48'],
    ['IPv6 at /128 is the address itself', '2001:db8::1', 32, 128, '2001:db8::1'],
    ['IPv4 /24 grouping (configurable)', '198.51.100.77', 24, 64, '198.51.100.0/24'],
    ['IPv4 /20 grouping, bits inside a byte', '198.51.111.77', 20, 64, '198.51.96.0/20'],
  ];
  for (const [name, addr, v4, v6, want] of cases) t.equal(key(addr, v4, v6), want, name);
});

t.test('throttle: sliding window on a frozen clock', async (t) => {
  const policy = { failures: 3, windowMs: 60_000 };
  const t0 = 1_800_000_000_000;
  t.same(throttle([], policy, t0), { allowed: true, next: [t0] }, 'the first attempt is counted');
  t.same(throttle([t0, t0 + 1], policy, t0 + 2), { allowed: true, next: [t0, t0 + 1, t0 + 2] }, 'the last allowed one is counted too');
  const full = [t0, t0 + 10_000, t0 + 20_000];
  t.same(throttle(full, policy, t0 + 30_000), { allowed: false, retryAt: t0 + 60_000 }, 'refused until the oldest failure leaves');
  t.same(throttle(full, policy, t0 + 59_999), { allowed: false, retryAt: t0 + 60_000 }, 'still refused 1 ms before');
  t.same(
    throttle(full, policy, t0 + 60_000),
    { allowed: true, next: [t0 + 10_000, t0 + 20_000, t0 + 60_000] },
    'the window slid by one failure',
  );
  t.same(
    throttle(full, { failures: 2, windowMs: 60_000 }, t0 + 30_000),
    { allowed: false, retryAt: t0 + 70_000 },
    'a lowered limit waits for enough failures to leave',
  );
  t.same(
    throttle(full, policy, t0 + 200_000),
    { allowed: true, next: [t0 + 200_000] },
    'old failures are dropped, so the stored list stays bounded',
  );
});

t.test('forgive takes back exactly one reservation', async (t) => {
  t.same(forgive([1, 2, 2, 3], 2), [1, 2, 3]);
  t.same(forgive([1, 3], 2), [1, 3], 'unknown time: nothing changes');
});
