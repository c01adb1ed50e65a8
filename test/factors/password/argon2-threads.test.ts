// argon2 on threads of its own at the lowest CPU priority (issue 16, item 4): real hashes and
// verdicts, the thread's nice value read from /proc (Linux), the event loop's left alone.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { createArgon2Threads } from '../../../src/factors/password/argon2-threads.ts';
import { ARGON2_NICE } from '../../../src/factors/password/argon2-thread.ts';
import { PASSWORD_HASH_OPTIONS, hashPassword, argon2Verify } from '../../../src/factors/password/password.ts';

/** Nice value of each thread of this process, by thread name. */
function niceByThread(): Array<{ name: string; nice: number; tid: number }> {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(tid), name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), nice: Number(fields[16]) };
  });
}

t.test('hash and verify on the threads: the right password verifies, a wrong one does not, a broken hash is an error', async (t) => {
  const threads = createArgon2Threads(1);
  t.teardown(() => threads.close());
  const phc = await threads.hash('correct horse', PASSWORD_HASH_OPTIONS);
  t.match(phc, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  // Three at once through one thread: they queue, none is lost.
  t.same(await Promise.all([threads.verify(phc, 'correct horse'), threads.verify(phc, 'wrong'), threads.verify(phc, 'correct horse')]), [
    true,
    false,
    true,
  ]);
  await t.rejects(threads.verify('$argon2id$not-a-hash', 'x'), 'a broken hash fails its job');
  t.equal(await threads.verify(phc, 'correct horse'), true, 'and the thread goes on');
});

t.test('the gateway hashes and verifies through them', async (t) => {
  const phc = await hashPassword('s3cret');
  t.equal(await argon2Verify(phc, 's3cret'), true);
  t.equal(await argon2Verify(phc, 'guess', '203.0.113.0/24'), false);
});

t.test(
  'on Linux an argon2 thread runs at nice 19 and the event loop keeps its priority',
  { skip: process.platform !== 'linux' },
  async (t) => {
    const threadsBefore = niceByThread();
    const before = new Set(threadsBefore.map((x) => x.tid));
    // Whatever nice the test runner started this process at (CI may run it lowered), the event loop keeps it.
    const mainBefore = threadsBefore.find((x) => x.tid === process.pid)!.nice;
    const threads = createArgon2Threads(2);
    t.teardown(() => threads.close());
    const phc = await threads.hash('a', PASSWORD_HASH_OPTIONS);
    await Promise.all([threads.verify(phc, 'a'), threads.verify(phc, 'b')]);
    const added = niceByThread().filter((x) => !before.has(x.tid));
    const niced = added.filter((x) => x.nice === ARGON2_NICE);
    t.equal(niced.length, 2, `two new threads at nice ${ARGON2_NICE}: ${JSON.stringify(added)}`);
    const main = niceByThread().find((x) => x.tid === process.pid)!;
    t.equal(main.nice, mainBefore, 'the main thread (the event loop) is not lowered');
  },
);

t.test('closing fails the jobs in flight; the pool starts a thread again for the next', async (t) => {
  const threads = createArgon2Threads(1);
  const phc = await threads.hash('x', PASSWORD_HASH_OPTIONS);
  const inFlight = threads.verify(phc, 'x');
  await threads.close();
  await t.rejects(inFlight, /closed|exited|terminated/);
  t.equal(await threads.verify(phc, 'x'), true, 'a new thread answers');
  await threads.close();
});
