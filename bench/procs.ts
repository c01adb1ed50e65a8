/**
 * @module bench/procs
 * Starting, pinning, measuring and stopping the processes of a bench run. Every server
 * under test is a child process started through `taskset`, so it is pinned from its first
 * instruction, and its cost is read from /proc rather than from inside it: CPU time is
 * utime+stime summed over the process and all its descendants (nginx's workers, the
 * gateway's cluster workers), peak memory is VmHWM summed the same way.
 */

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second of /proc/PID/stat's utime and stime. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A started child process with the tail of its output kept for error messages. */
export interface Running {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last lines of stdout+stderr, for "exited: why" reasons. */
  output(): string;
  exited(): boolean;
}

const running = new Set<Running>();

/**
 * Starts `command args` pinned to `cores` (a taskset list such as "0"; empty = unpinned).
 * taskset execs the command, so the child's pid is the server's pid.
 */
export function start(name: string, cores: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Running {
  const argv = cores ? ['taskset', '-c', cores, command, ...args] : [command, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  child.on('exit', () => {
    done = true;
  });
  child.on('error', (err) => {
    done = true;
    tail += `\n${err.message}`;
  });
  const proc: Running = {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => tail.trim(),
    exited: () => done,
  };
  running.add(proc);
  return proc;
}

/** Stops a process (SIGTERM, then SIGKILL after a grace period) and waits for it. */
export async function stop(proc: Running, graceMs = 3000): Promise<void> {
  running.delete(proc);
  if (proc.exited()) return;
  const gone = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Stops everything still running; used at the end and on interrupt. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((proc) => stop(proc)));
}

/** Synchronous last resort for `process.on('exit')`. */
export function killAllNow(): void {
  for (const proc of running) if (!proc.exited()) proc.child.kill('SIGKILL');
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until `port` accepts connections. Returns null when it does, or the reason it
 * never did (the process exited, with its last output, or the time ran out).
 */
export async function waitForPort(proc: Running, port: number, timeoutMs = 20_000): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) return exitMessage(proc);
    if (await accepts(port)) return null;
    await sleep(50);
  }
  return `${proc.name} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`;
}

/** "NAME exited: " and the first error message in its output (not its stack), else its last lines. */
export function exitMessage(proc: Running): string {
  const lines = proc
    .output()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at ') && l !== '^' && l !== '}');
  const error = lines.find((l) => /\b\w*Error\b|\berror\b/i.test(l));
  return `${proc.name} exited: ${error ?? (lines.slice(-3).join(' | ') || '(no output)')}`;
}

/** Pins every thread of a running process to `cores` (used to move the origin). */
export function pin(pid: number, cores: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

function readStat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** A `VmXxx:  N kB` line of /proc/PID/status in kB (0 when the process is gone). */
function readStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds per pid of a process tree at one moment. */
export type CpuSnapshot = Map<number, number>;

export function cpuSnapshot(root: number): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const pid of descendants(root)) {
    const stat = readStat(pid);
    if (stat) snapshot.set(pid, stat.ticks / CLK_TCK);
  }
  return snapshot;
}

/** CPU seconds the tree used between two snapshots; processes born in between count whole. */
export function cpuSeconds(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** Peak resident set of a process tree in bytes: VmHWM summed over its processes. */
export function peakRssBytes(root: number): number {
  return descendants(root).reduce((sum, pid) => sum + readStatusKb(pid, 'VmHWM') * 1024, 0);
}

/**
 * Resident set of a process tree now, in bytes (VmRSS summed). Next to the peak it tells a
 * lasting footprint from a passing burst (such as the priming of thousands of sessions).
 */
export function currentRssBytes(root: number): number {
  return descendants(root).reduce((sum, pid) => sum + readStatusKb(pid, 'VmRSS') * 1024, 0);
}

/**
 * CPU seconds the whole machine spent busy so far (all cores; user, nice, system, irq,
 * softirq and steal from /proc/stat), and this process's own CPU plus that of its reaped
 * children (wrk, once it exited). The difference over a run, minus the servers measured,
 * is the CPU other processes took: the noise a shared machine adds to that run.
 */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLK_TCK;
}

export function selfAndReapedSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // utime 14, stime 15, cutime 16, cstime 17 (1-based), i.e. fields[11..14] here.
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}
