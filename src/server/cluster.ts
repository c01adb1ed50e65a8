/**
 * @module server/cluster
 * `server.workers`: several gateway processes on one machine with node:cluster. The
 * primary only supervises: it forks the workers, which share the listening socket and
 * the store (SQLite in WAL mode, or PostgreSQL), passes SIGHUP on for a config reload,
 * restarts a worker that died, and stops them all on SIGTERM/SIGINT. Each worker keeps
 * its own in-memory revocation view, polled from the shared store, so an admin command
 * reaches every worker within a second.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/** The number of worker processes for a `server.workers` value. */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? Math.max(1, availableParallelism()) : setting;
}

export interface Supervisor {
  /** Resolves with the exit code once every worker has stopped after a signal. */
  done: Promise<number>;
}

/**
 * Forks `count` workers running this same command line and supervises them. A worker
 * that exits unexpectedly is replaced, at most once a second, so a crash loop (say, a
 * port already taken) does not spin.
 */
export function superviseWorkers(count: number, log: (msg: string) => void): Supervisor {
  let stopping = false;
  let lastRestart = 0;
  const fork = (): Worker => cluster.fork();
  for (let i = 0; i < count; i++) fork();

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log(`worker ${worker.process.pid} exited (${signal ?? code}); starting a new one`);
    const wait = Math.max(0, lastRestart + 1000 - Date.now());
    lastRestart = Date.now() + wait;
    setTimeout(fork, wait).unref();
  });
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  const done = new Promise<number>((resolve) => {
    const stop = () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      if (workers.length === 0) return resolve(0);
      let left = workers.length;
      for (const worker of workers) {
        worker.once('exit', () => {
          if (--left === 0) resolve(0);
        });
        worker.process.kill('SIGTERM');
      }
      setTimeout(() => resolve(0), 15_000).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return { done };
}

export const isPrimary = (): boolean => cluster.isPrimary;
