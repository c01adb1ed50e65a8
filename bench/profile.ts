/**
 * @module bench/profile
 * Reads the `.cpuprofile` files `node --cpu-prof` writes (V8's CPU profile JSON: a tree of
 * nodes, each with its call frame and how many samples hit it) and sums self time per
 * function: `hitCount × sampling interval` per call frame (function name, script, line),
 * where the interval is the profile's duration divided by its samples. Used by
 * `npm run bench -- --profile SCENARIO`.
 */

import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileEntry {
  function: string;
  /** Script relative to the repository (or node:..., node_modules/...), with the 1-based line. */
  location: string;
  selfMs: number;
  /** Share of all sampled time, in %. */
  pct: number;
  /** Share of the time the process was not idle (without `(idle)` and `(program)`), in %. */
  busyPct: number;
}

function where(frame: CallFrame, root: string): string {
  if (!frame.url) return '';
  let path = frame.url;
  if (path.startsWith('file://')) {
    try {
      path = relative(root, fileURLToPath(path));
    } catch {
      // keep the URL
    }
  }
  return frame.lineNumber >= 0 ? `${path}:${frame.lineNumber + 1}` : path;
}

/** The `limit` call frames with the most self time over all `profiles` (one per process). */
/** Where a frame's code comes from: a node_modules package, a file of this repo, node's own JS, or native. */
function group(fn: string, location: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  if (location === '') return '(native: syscalls, V8 builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(location);
  if (pkg) return `npm ${pkg[1]}`;
  if (location.startsWith('node:')) return 'node: internals';
  if (location.startsWith('wasm://')) return 'wasm (llhttp parser)';
  return location.replace(/:\d+$/, '');
}

export function topSelfTime(
  profiles: CpuProfile[],
  root: string,
  limit = 15,
): { total: ProfileEntry[]; groups: Array<{ group: string; selfMs: number; busyPct: number }>; totalMs: number; busyMs: number } {
  const byKey = new Map<string, { fn: string; location: string; us: number }>();
  const byGroup = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const profile of profiles) {
    const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
    if (hits === 0) continue;
    const interval = (profile.endTime - profile.startTime) / hits;
    for (const node of profile.nodes) {
      const us = (node.hitCount ?? 0) * interval;
      if (us === 0) continue;
      const fn = node.callFrame.functionName || '(anonymous)';
      const location = where(node.callFrame, root);
      const key = `${fn}\u0000${location}`;
      const entry = byKey.get(key) ?? { fn, location, us: 0 };
      entry.us += us;
      byKey.set(key, entry);
      const g = group(fn, location);
      byGroup.set(g, (byGroup.get(g) ?? 0) + us);
      totalUs += us;
      if (fn === '(idle)' || fn === '(program)') idleUs += us;
    }
  }
  const busyUs = totalUs - idleUs;
  const total = [...byKey.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({
      function: e.fn,
      location: e.location,
      selfMs: e.us / 1000,
      pct: (e.us / totalUs) * 100,
      busyPct: e.fn === '(idle)' || e.fn === '(program)' ? 0 : (e.us / busyUs) * 100,
    }));
  const groups = [...byGroup.entries()]
    .filter(([g]) => g !== '(idle)' && g !== '(program)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([g, us]) => ({ group: g, selfMs: us / 1000, busyPct: (us / busyUs) * 100 }));
  return { total, groups, totalMs: totalUs / 1000, busyMs: busyUs / 1000 };
}

export function renderProfile(top: ReturnType<typeof topSelfTime>): string {
  const rows = top.total.map((e, i) => [
    String(i + 1).padStart(2),
    e.selfMs.toFixed(0).padStart(8),
    e.pct.toFixed(1).padStart(6),
    e.busyPct ? e.busyPct.toFixed(1).padStart(7) : '      -',
    `  ${e.function}  ${e.location}`,
  ]);
  return [
    `sampled ${(top.totalMs / 1000).toFixed(1)} s, of which ${(top.busyMs / 1000).toFixed(1)} s not (idle)/(program)`,
    ' #   self ms  total%  busy%   function  location',
    ...rows.map((r) => r.join(' ')),
    '',
    'self time by origin of the code (busy% = share of the non-idle time)',
    ...top.groups.map((g) => `${g.selfMs.toFixed(0).padStart(8)} ms ${g.busyPct.toFixed(1).padStart(5)}%  ${g.group}`),
  ].join('\n');
}
