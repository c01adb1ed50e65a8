/**
 * @module bench/gateway
 * Starts the gateway under test the way an ops team runs it (`node bin/mfa-gateway.js
 * serve --config FILE`), with a config written for one scenario into the run's temp dir:
 * a `/**` rule with the scenario's policy, one worker (so it is pinned like the other
 * servers under test), logging at `warn` (nginx and Caddy run with access logs off too),
 * its own SQLite store and (empty) users file, the session secret from
 * `GATEWAY_SESSION_SECRET` as in the sample config, first enrollment allowed from loopback
 * (so `mintSessions` can enroll users through the pages), and for the trusted-network
 * scenario the loopback ranges in `mfa.trusted_ips`.
 */

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { GatewayConfig, PolicyName, RuleConfig } from '../src/config/types.ts';
import { start, stop, waitForPort } from './procs.ts';
import type { Running } from './procs.ts';

/** The repository root (bench/..). */
const ROOT = resolve(import.meta.dirname, '..');
const GATEWAY_BIN = join(ROOT, 'bin', 'mfa-gateway.js');

export interface GatewaySetup {
  /** Directory name inside the run's temp dir. */
  name: string;
  policy: PolicyName;
  /** Trust 127.0.0.0/8 and ::1 so the second factor is skipped. */
  trustLoopback: boolean;
  /** `server.workers` (default 1). */
  workers?: number;
  /** Run the gateway under `node --cpu-prof --cpu-prof-dir DIR`. */
  profileDir?: string;
  /** `users.ldap`, for the directory sign-in bench. */
  ldap?: Record<string, unknown>;
  /** `mfa.source_throttle`, when the scenario needs another than the default. */
  sourceThrottle?: { failures: number; window_minutes: number };
  /** `identity.jwt` on, with a fresh Ed25519 key: every forwarded request carries the signed assertion. */
  jwt?: boolean;
  /** Node options before the gateway's script (the `-node-heap` scenarios pass {@link NODE_HEAP}). */
  nodeOptions?: readonly string[];
  /** Another checkout's `bin/mfa-gateway.js` (the `@base` scenarios of `--baseline-ref`); default this one's. */
  bin?: string;
  /** `session.idle_timeout` (default the gateway's): bench/instructions.ts makes it long, so no cookie is renewed during a count. */
  idleTimeout?: string;
  /** A command that runs node (e.g. valgrind and its options, bench/instructions.ts), and how long start-up may then take. */
  wrap?: { command: readonly string[]; startTimeoutMs: number };
}

/**
 * V8's own semi-space on a machine with several GB (64 MB, a young generation of 128 MB), which
 * `serve` would run with if it did not pass `--max-semi-space-size=16` (bin/mfa-gateway.js): the
 * `-node-heap` scenarios measure the shipped setting against it in the same run. README "Sizing"
 * has the outcome.
 */
export const NODE_HEAP = ['--max-semi-space-size=64'] as const;

/** The semi-space `serve` ships with (bin/mfa-gateway.js), for a gateway whose bin may predate it (`--baseline-ref`). */
export const SHIPPED_HEAP = ['--max-semi-space-size=16'] as const;

/** The keys this bench sets; everything else keeps the gateway's defaults. */
type BenchConfig = {
  server: Pick<GatewayConfig['server'], 'listen' | 'public_url' | 'workers'>;
  upstream: Pick<GatewayConfig['upstream'], 'url'>;
  session: Pick<GatewayConfig['session'], 'secret'> & { idle_timeout?: string };
  store: { sqlite: { path: string } };
  users: Pick<GatewayConfig['users'], 'file'> & { ldap?: Record<string, unknown> };
  log: Pick<GatewayConfig['log'], 'level'>;
  identity?: { jwt: { enabled: true; audience: string; key_file: string } };
  mfa: Pick<GatewayConfig['mfa'], 'first_enrollment'> & {
    trusted_ips?: Pick<GatewayConfig['mfa']['trusted_ips'], 'ranges'>;
    source_throttle?: Pick<GatewayConfig['mfa']['source_throttle'], 'failures' | 'window_minutes'>;
  };
  rules: RuleConfig[];
};

export interface StartedGateway {
  proc: Running;
  url: string;
  configFile: string;
  /** The env the gateway got on top of ours (the session secret); `loadConfig` needs it too. */
  env: Record<string, string>;
}

/**
 * Writes the config and starts the gateway; resolves with the running gateway, or with
 * a plain-language reason why it cannot run (not built yet, refused its config, exited).
 */
export async function startGateway(
  runDir: string,
  setup: GatewaySetup,
  port: number,
  originPort: number,
  cores: string,
): Promise<StartedGateway | string> {
  const bin = setup.bin ?? GATEWAY_BIN;
  if (!existsSync(bin)) return `${bin} does not exist yet`;
  const dir = join(runDir, setup.name);
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  const usersFile = join(dir, 'users.yaml');
  writeFileSync(usersFile, 'users: {}\n');
  const config: BenchConfig = {
    server: { listen: `127.0.0.1:${port}`, public_url: `http://127.0.0.1:${port}/`, workers: setup.workers ?? 1 },
    upstream: { url: `http://127.0.0.1:${originPort}/` },
    session: { secret: '${GATEWAY_SESSION_SECRET}', ...(setup.idleTimeout ? { idle_timeout: setup.idleTimeout } : {}) },
    store: { sqlite: { path: join(dir, 'gateway.db') } },
    users: { file: usersFile, ...(setup.ldap ? { ldap: setup.ldap } : {}) },
    log: { level: 'warn' },
    mfa: {
      first_enrollment: 'anywhere',
      ...(setup.trustLoopback ? { trusted_ips: { ranges: ['127.0.0.0/8', '::1/128'] } } : {}),
      ...(setup.sourceThrottle ? { source_throttle: setup.sourceThrottle } : {}),
    },
    rules: [{ name: `bench ${setup.policy}`, paths: ['/**'], policy: setup.policy }],
  };
  if (setup.jwt) {
    const keyFile = join(dir, 'jwt.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    config.identity = { jwt: { enabled: true, audience: 'bench-app', key_file: keyFile } };
  }
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, `# Generated by bench/gateway.ts for one bench run.\n${stringify(config)}`);

  const env = { GATEWAY_SESSION_SECRET: secret, NODE_ENV: 'production' };
  const profile = setup.profileDir ? ['--cpu-prof', '--cpu-prof-dir', setup.profileDir] : [];
  const node = [process.execPath, ...(setup.nodeOptions ?? []), ...profile, bin, 'serve', '--config', configFile];
  const argv = [...(setup.wrap?.command ?? []), ...node];
  const proc = start(`gateway (${setup.name})`, cores, argv[0]!, argv.slice(1), env, ROOT);
  const problem = await waitForPort(proc, port, setup.wrap?.startTimeoutMs);
  if (problem) {
    await stop(proc);
    return problem;
  }
  return { proc, url: `http://127.0.0.1:${port}/`, configFile, env };
}
