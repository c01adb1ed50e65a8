// The bound on argon2 work at once: signed-in traffic keeps a core during a burst of wrong
// passwords, and a burst beyond the queue is refused at once with 429.
import t from 'tap';
import { createHashSlots } from '../../../src/factors/password/hash-slots.ts';
import { GatewayError } from '../../../src/errors/errors.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

t.test('no more than `concurrency` hashes run at once; the rest wait their turn in order', async (t) => {
  const slots = createHashSlots(2, 10);
  const gates = Array.from({ length: 5 }, gate);
  const started: number[] = [];
  const runs = gates.map((g, i) =>
    slots.run(async () => {
      started.push(i);
      await g.opened;
      return i;
    }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  t.same(started, [0, 1], 'two run');
  t.equal(slots.running, 2);
  t.equal(slots.waiting, 3);
  gates[1]!.open();
  await runs[1];
  await new Promise((resolve) => setImmediate(resolve));
  t.same(started, [0, 1, 2], 'a finished hash lets the next waiting one start');
  for (const g of gates) g.open();
  t.same(await Promise.all(runs), [0, 1, 2, 3, 4]);
  t.equal(slots.running, 0);
  t.equal(slots.waiting, 0);
});

t.test('beyond the queue bound a password check is refused at once with 429', async (t) => {
  const slots = createHashSlots(1, 2);
  const g = gate();
  const held = [slots.run(() => g.opened), slots.run(() => g.opened), slots.run(() => g.opened)];
  const refused = await slots.run(async () => 'never').catch((err: unknown) => err);
  t.ok(refused instanceof GatewayError);
  t.match(refused, { status: 429, code: 'GW_TOO_MANY_SIGN_INS' });
  g.open();
  await Promise.all(held);
  t.equal(await slots.run(async () => 'again'), 'again', 'slots are usable again once the burst has drained');
});

t.test('a failing hash frees its slot', async (t) => {
  const slots = createHashSlots(1, 1);
  await t.rejects(
    slots.run(async () => {
      throw new Error('argon2 failed');
    }),
    /argon2 failed/,
  );
  t.equal(slots.running, 0);
  t.equal(await slots.run(async () => 42), 42);
});

/** Starts `n` jobs from `source` that each wait for `g` and record their start. */
function jobs(slots: ReturnType<typeof createHashSlots>, source: string, n: number, g: { opened: Promise<void> }, started: string[]) {
  return Array.from({ length: n }, (_, i) =>
    slots.run(async () => {
      started.push(`${source}${i}`);
      await g.opened;
    }, source),
  );
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('fair queue: a noisy source does not delay another source beyond one slot', async (t) => {
  for (const concurrency of [1, 2, 3]) {
    const slots = createHashSlots(concurrency, 100, 50);
    const started: string[] = [];
    const gates = Array.from({ length: 40 }, gate);
    // The noisy source takes every slot and queues 20 more before the quiet user arrives.
    const noisy = Array.from({ length: concurrency + 20 }, (_, i) =>
      slots.run(async () => {
        started.push(`noisy${i}`);
        await gates[i]!.opened;
      }, '198.51.100.66'),
    );
    const quiet = slots.run(async () => void started.push('quiet'), '192.0.2.10');
    await tick();
    // One slot frees: the quiet source is next in the rotation, ahead of 20 older noisy jobs.
    gates[0]!.open();
    await noisy[0];
    await quiet;
    t.equal(started.indexOf('quiet'), concurrency, `concurrency ${concurrency}: the quiet job runs in the first slot that frees`);
    for (const g of gates) g.open();
    await Promise.all(noisy);
  }
});

t.test('fair queue: sources take turns, each in its own order', async (t) => {
  const slots = createHashSlots(1, 100);
  const hold = gate();
  const started: string[] = [];
  const first = slots.run(() => hold.opened, 'x');
  const open = gate();
  open.open();
  const all = [...jobs(slots, 'a', 3, open, started), ...jobs(slots, 'b', 2, open, started), ...jobs(slots, 'c', 1, open, started)];
  hold.open();
  await Promise.all([first, ...all]);
  t.same(started, ['a0', 'b0', 'c0', 'a1', 'b1', 'a2'], 'round-robin over the sources');
});

t.test('fair queue: one source cannot fill the queue; others still wait their turn', async (t) => {
  const slots = createHashSlots(1, 10, 3);
  const g = gate();
  const started: string[] = [];
  const held = [slots.run(() => g.opened, 'noisy'), ...jobs(slots, 'noisy', 3, g, started)];
  const refused = await slots.run(async () => 'never', 'noisy').catch((err: unknown) => err);
  t.match(refused, { status: 429, code: 'GW_TOO_MANY_SIGN_INS' }, 'the fourth waiting job of one source is refused');
  const other = slots.run(async () => 'in', 'quiet');
  t.equal(slots.waiting, 4);
  g.open();
  t.equal(await other, 'in', 'another source is still queued and served');
  await Promise.all(held);
});
