/**
 * @module factors/password/argon2-thread
 * The body of one argon2 thread ({@link ../argon2-threads}): lowers its own CPU priority,
 * then hashes and verifies what it is sent, one job at a time, synchronously (this thread
 * has nothing else to do). On Linux `setpriority` with pid 0 applies to the calling thread
 * only, so the event loop keeps its priority; elsewhere it would lower the whole process,
 * so the thread leaves its priority alone there.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { hashSync, verifySync, type Options } from '@node-rs/argon2';

/** A job from the pool. */
export type Argon2Job =
  | { id: number; op: 'hash'; password: string; options: Options }
  | { id: number; op: 'verify'; phc: string; password: string };
/** Its answer: the PHC string or the verdict, or why argon2 refused. */
export type Argon2Answer = { id: number; ok: true; value: string | boolean } | { id: number; ok: false; message: string };

/** The nice value of argon2 threads: the lowest priority (see argon2-threads). */
export const ARGON2_NICE = 19;

if (parentPort) {
  const port = parentPort;
  if (process.platform === 'linux') {
    try {
      setPriority(ARGON2_NICE);
    } catch {
      // Not allowed here (a seccomp profile, say): hashing still works, at normal priority.
    }
  }
  port.on('message', (job: Argon2Job) => {
    let answer: Argon2Answer;
    try {
      const value = job.op === 'hash' ? hashSync(job.password, job.options) : verifySync(job.phc, job.password);
      answer = { id: job.id, ok: true, value };
    } catch (err) {
      answer = { id: job.id, ok: false, message: (err as Error).message };
    }
    port.postMessage(answer);
  });
}
