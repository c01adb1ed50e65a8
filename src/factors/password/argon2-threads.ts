/**
 * @module factors/password/argon2-threads
 * argon2 on threads of its own, at the lowest CPU priority. A hash holds a core for tens of
 * milliseconds; on libuv's pool it ran at the event loop's priority, so on a machine with
 * fewer free cores than hashes in flight (a container with one CPU, or two cores both busy
 * forwarding) every wrong password of a burst took its share of a core away from signed-in
 * traffic. At nice 19 the kernel gives a hash the CPU the forwarding leaves idle, and about
 * 1.5% of a core when the event loop wants all of it: sign-ins slow down under load instead
 * of the traffic of everyone already signed in (on Linux; elsewhere the threads keep the
 * normal priority, see argon2-thread).
 *
 * The pool holds as many threads as `hash-slots` lets hashes run at once; a thread starts on
 * the first job (nothing at start-up), keeps the process alive only while it has a job, and
 * one that dies fails its job and is replaced on the next.
 */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Options } from '@node-rs/argon2';
import type { Argon2Answer, Argon2Job } from './argon2-thread.ts';

export interface Argon2Threads {
  hash(password: string, options: Options): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
  /** Ends the threads (tests); jobs in flight fail. */
  close(): Promise<void>;
}

type Pending = { resolve: (value: string | boolean) => void; reject: (err: Error) => void };

interface Thread {
  worker: Worker;
  /** The job it runs, if any. */
  busy: number | null;
}

// The thread's file next to this one, as TypeScript in a checkout and JavaScript in dist/.
const THREAD_URL = new URL(`./argon2-thread${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

export function createArgon2Threads(size: number): Argon2Threads {
  const threads: Thread[] = [];
  const pending = new Map<number, Pending>();
  const queue: Argon2Job[] = [];
  let nextId = 1;

  const spawn = (): Thread => {
    const thread: Thread = { worker: new Worker(THREAD_URL), busy: null };
    thread.worker.on('message', (answer: Argon2Answer) => {
      const p = pending.get(answer.id);
      pending.delete(answer.id);
      thread.busy = null;
      thread.worker.unref();
      if (p) {
        if (answer.ok) p.resolve(answer.value);
        else p.reject(new Error(answer.message));
      }
      pump();
    });
    const fail = (err: Error) => {
      const at = threads.indexOf(thread);
      if (at !== -1) threads.splice(at, 1);
      if (thread.busy !== null) {
        pending.get(thread.busy)?.reject(err);
        pending.delete(thread.busy);
      }
      pump();
    };
    thread.worker.on('error', fail);
    thread.worker.on('exit', (code) => {
      if (threads.includes(thread)) fail(new Error(`argon2 thread exited with code ${code}`));
    });
    threads.push(thread);
    return thread;
  };

  function pump(): void {
    while (queue.length > 0) {
      const thread = threads.find((t) => t.busy === null) ?? (threads.length < size ? spawn() : undefined);
      if (thread === undefined) return;
      const job = queue.shift()!;
      thread.busy = job.id;
      // Busy, it keeps the process alive (a CLI command waits for its hash); idle, it does not.
      thread.worker.ref();
      thread.worker.postMessage(job);
    }
  }

  const submit = (job: Argon2Job) =>
    new Promise<string | boolean>((resolve, reject) => {
      pending.set(job.id, { resolve, reject });
      queue.push(job);
      pump();
    });

  return {
    async hash(password, options) {
      return (await submit({ id: nextId++, op: 'hash', password, options })) as string;
    },
    async verify(phc, password) {
      return (await submit({ id: nextId++, op: 'verify', phc, password })) as boolean;
    },
    async close() {
      const all = threads.splice(0);
      await Promise.all(all.map((t) => t.worker.terminate()));
      for (const p of pending.values()) p.reject(new Error('argon2 threads closed'));
      pending.clear();
      queue.length = 0;
    },
  };
}
