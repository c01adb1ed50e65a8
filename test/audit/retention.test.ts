// Sign-in log retention with a frozen clock and a fake interval: pruned at start and on every
// pass, by the retention that is current at that pass; failures are logged, not thrown.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { startHousekeeping, HOUSEKEEPING_INTERVAL_MS } from '../../src/audit/retention.ts';
import { fakeClock } from '../store/conformance.ts';

const DAY = 86_400_000;

t.test('entries older than the retention are pruned at start and then every interval', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-retention-'));
  const clock = fakeClock();
  const store = await openStore(
    { sqlite: { path: join(dir, 'gateway.db') }, previous_encryption_keys: [] },
    { clock: clock.clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const record = (detail: string) =>
    store.record({ kind: 'password', user: 'alice', clientIp: '192.0.2.1', userAgent: 'ua', rule: null, outcome: 'success', detail });
  // Report-only rules' minutes are sign-in log entries too (`audit/report-only`), pruned alike.
  const reportOnly = (detail: string) =>
    store.recordAll([{ kind: 'report_only', user: '', clientIp: '192.0.2.9', userAgent: '', rule: 'r', outcome: 'would_deny', detail }]);
  await record('day 0');
  await reportOnly('report-only day 0');
  const hit = { rule: 'r', outcome: 'would_deny', user: 'alice', address: '192.0.2.1', path: '/x', count: 1 } as const;
  await store.addReportOnlyHits([
    { ...hit, minute: clock.now - 60_000 },
    { ...hit, minute: clock.now + DAY },
  ]);
  clock.advance(DAY);
  await record('day 1');
  await reportOnly('report-only day 1');
  clock.advance(DAY);
  await record('day 2');
  await store.createFraudReport({
    id: 'r',
    user: 'alice',
    createdAt: clock.now,
    expiresAt: clock.now + DAY,
    clientIp: '192.0.2.1',
    userAgent: 'ua',
  });

  let retention = 2 * DAY;
  const intervals: { fn: () => void; ms: number }[] = [];
  const housekeeping = startHousekeeping({
    store,
    retentionMs: () => retention,
    clock: clock.clock,
    log: pino({ level: 'silent' }),
    scheduler: { setInterval: (fn, ms) => intervals.push({ fn, ms }), clearInterval: () => intervals.splice(0) },
  });
  t.same(
    intervals.map((i) => i.ms),
    [HOUSEKEEPING_INTERVAL_MS],
    'hourly',
  );
  t.equal(await housekeeping.run(), 0, 'day 0 is exactly at the cutoff and kept');
  clock.advance(1);
  t.equal(await housekeeping.run(), 2);
  t.same(
    (await store.query({ limit: 10 })).map((e) => e.detail),
    ['day 2', 'report-only day 1', 'day 1'],
    'the report-only entry of day 0 went with its day',
  );
  t.same(
    (await store.reportOnlyHits({ since: 0 })).map((h) => h.count),
    [1],
    'report-only hits past the retention go with the log',
  );

  retention = DAY / 2; // a config reload
  clock.advance(DAY);
  intervals[0]!.fn();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(
    (await store.query({ limit: 10 })).map((e) => e.detail),
    [],
    'the next pass uses the new retention',
  );
  t.equal(await store.getFraudReport('r'), null, 'expired report links go too');
  housekeeping.stop();
  t.equal(intervals.length, 0);
});

t.test('a failing store is logged and the pass returns 0', async (t) => {
  const lines: string[] = [];
  const log = pino({ level: 'error' }, { write: (s: string) => void lines.push(s) });
  const housekeeping = startHousekeeping({
    store: {
      pruneAudit: () => Promise.reject(new Error('disk I/O error')),
      pruneFraud: () => Promise.resolve(),
      pruneRevokedSessions: () => Promise.resolve(0),
      pruneSessionIndex: () => Promise.resolve(0),
      pruneReportOnly: () => Promise.resolve(0),
      pruneDecisionTraces: () => Promise.resolve(0),
    },
    retentionMs: () => DAY,
    clock: () => 0,
    log,
    scheduler: { setInterval: () => 1, clearInterval: () => {} },
  });
  t.equal(await housekeeping.run(), 0);
  t.match(lines[0], /sign-in log pruning failed/);
});
