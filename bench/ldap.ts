/**
 * @module bench/ldap
 * Directory sign-ins per second next to the users file (issue 15), run by `npm run bench`
 * after the sign-in bench, or alone with `npm run bench -- --only ldap`. Two gateways with
 * the same rule and the same `--sign-in-clients` concurrent clients POSTing the real sign-in
 * form with correct passwords for `--duration` seconds: one signs its users in from the users
 * file (argon2id), the other from a real slapd (service-account search, bind as the user,
 * group search) on loopback. A directory sign-in also runs the file's dummy argon2 hash (the
 * equal-cost rule), so the difference is what the directory adds.
 */
import { Agent, request } from 'undici';
import type { Test } from 'tap';
import { startGateway } from './gateway.ts';
import { freePort, stop } from './procs.ts';
import { BENCH_PASSWORD, benchUser, loadBenchConfig, signInForm, writeUsers } from './sessions.ts';
import { BASE_DN, ldapConfig, slapdMissing, startSlapd, TEST_LDIF } from '../test/helpers/ldap.ts';

export interface LdapBenchOptions {
  runDir: string;
  originPort: number;
  serverCores: string;
  duration: number;
  warmup: number;
  clients: number;
  log: (line: string) => void;
}

export interface LdapBenchSide {
  signInsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

export interface LdapBenchResult {
  status: 'measured' | 'skipped' | 'failed';
  reason?: string;
  clients: number;
  file?: LdapBenchSide;
  ldap?: LdapBenchSide;
}

/** The test directory plus one inetOrgPerson per bench client, in groups like real users. */
function benchLdif(users: number): string {
  const people = [];
  for (let i = 1; i <= users; i++) {
    people.push(
      [
        `dn: uid=${benchUser(i)},ou=people,${BASE_DN}`,
        'objectClass: inetOrgPerson',
        `uid: ${benchUser(i)}`,
        `cn: ${benchUser(i)}`,
        `sn: bench`,
        `userPassword: ${BENCH_PASSWORD}`,
      ].join('\n'),
    );
  }
  const group = [
    `dn: cn=bench,ou=groups,${BASE_DN}`,
    'objectClass: groupOfNames',
    'cn: bench',
    ...Array.from({ length: users }, (_, i) => `member: uid=${benchUser(i + 1)},ou=people,${BASE_DN}`),
  ].join('\n');
  return `${TEST_LDIF}\n${people.join('\n\n')}\n\n${group}\n`;
}

async function measure(url: string, configFile: string, env: Record<string, string>, o: LdapBenchOptions): Promise<LdapBenchSide> {
  const prefix = (await loadBenchConfig(configFile, env)).server.path_prefix;
  const dispatcher = new Agent({ connections: o.clients * 2, keepAliveTimeout: 60_000 });
  try {
    const clients = await Promise.all(Array.from({ length: o.clients }, () => signInForm(url, prefix)));
    const target = new URL(`${prefix}sign-in`, url);
    const run = async (seconds: number) => {
      const latencies: number[] = [];
      const statuses: Record<string, number> = {};
      const deadline = Date.now() + seconds * 1000;
      const began = performance.now();
      await Promise.all(
        clients.map(async ({ browser, csrf }, i) => {
          while (Date.now() < deadline) {
            const t0 = performance.now();
            const res = await request(target, {
              method: 'POST',
              dispatcher,
              headers: { cookie: browser.header(), 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ username: benchUser(i + 1), password: BENCH_PASSWORD, csrf }).toString(),
            });
            await res.body.dump();
            latencies.push(performance.now() - t0);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
      return { signInsPerSecond: (statuses[303] ?? 0) / ((performance.now() - began) / 1000), p50Ms: at(0.5), p99Ms: at(0.99), statuses };
    };
    await run(o.warmup);
    return await run(o.duration);
  } finally {
    await dispatcher.close();
  }
}

export async function runLdapBench(o: LdapBenchOptions): Promise<LdapBenchResult> {
  const result: LdapBenchResult = { status: 'measured', clients: o.clients };
  if (slapdMissing) return { ...result, status: 'skipped', reason: slapdMissing };
  const cleanups: Array<() => unknown> = [];
  // The test helper's slapd wants a teardown hook; the bench runs them itself.
  const owner = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;
  try {
    const slapd = await startSlapd(owner, { ldif: benchLdif(o.clients) });
    for (const side of ['file', 'ldap'] as const) {
      const started = await startGateway(
        o.runDir,
        { name: `ldap-bench-${side}`, policy: 'two_factor', trustLoopback: false, ...(side === 'ldap' ? { ldap: ldapConfig(slapd) } : {}) },
        await freePort(),
        o.originPort,
        o.serverCores,
      );
      if (typeof started === 'string') return { ...result, status: 'skipped', reason: started };
      try {
        if (side === 'file') await writeUsers(started.configFile.replace(/gateway\.yaml$/, 'users.yaml'), o.clients + 1);
        // The file gateway picks up the new users file within its 2 s stat check.
        if (side === 'file') await new Promise((r) => setTimeout(r, 2500));
        result[side] = await measure(started.url, started.configFile, started.env, o);
        o.log(
          `  ${side}: ${result[side]!.signInsPerSecond.toFixed(1)} sign-ins/s, p50 ${result[side]!.p50Ms.toFixed(1)} ms, p99 ${result[side]!.p99Ms.toFixed(1)} ms ${JSON.stringify(result[side]!.statuses)}`,
        );
      } finally {
        await stop(started.proc);
      }
    }
    return result;
  } catch (err) {
    return { ...result, status: 'failed', reason: (err as Error).message };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

export function renderLdap(r: LdapBenchResult): string {
  if (r.status !== 'measured' || !r.file || !r.ldap) return `directory sign-in bench ${r.status}: ${r.reason ?? ''}`;
  const row = (name: string, s: LdapBenchSide) =>
    `${name.padEnd(28)}${s.signInsPerSecond.toFixed(1).padStart(12)}${s.p50Ms.toFixed(1).padStart(10)}${s.p99Ms.toFixed(1).padStart(10)}`;
  return [
    `directory sign-ins (${r.clients} clients, correct passwords, full sign-in step)`,
    `${'source'.padEnd(28)}${'sign-ins/s'.padStart(12)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}`,
    row('users file (argon2id)', r.file),
    row('slapd (search+bind+groups)', r.ldap),
    `ratio ldap/file: ${(r.ldap.signInsPerSecond / r.file.signInsPerSecond).toFixed(2)}×`,
  ].join('\n');
}
