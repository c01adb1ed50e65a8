// The bound on argon2 work at once: signed-in traffic keeps a core during a burst of wrong
// passwords, and a burst beyond the queue is refused at once with 429.
import t from 'tap';
import { createHashSlots } from '../../../src/factors/password/hash-slots.ts';
import { GatewayError } from '../../../src/server/errors.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

t.test('no more than `concurrency` hashes run at once; the rest wait their turn in order', async (t) => {
  const slots = createHashSlots(2, 10);
  const gates = Array.from({ length: 5 }, gate);
  const started: number[] = [];
  const runs = gates.map((g, i) => slots.run(async () => {
    started.push(i);
    await g.opened;
    return i;
  }));
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
  await t.rejects(slots.run(async () => {
    throw new Error('argon2 failed');
  }), /argon2 failed/);
  t.equal(slots.running, 0);
  t.equal(await slots.run(async () => 42), 42);
});
