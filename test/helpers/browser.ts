/**
 * @module test/helpers/browser
 * Real Chromium for page tests: Debian's build with the flags this closed network needs, and
 * the step that gives a test gateway a host name (Chromium keeps cookies only for names).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { chromium, type Browser } from 'playwright-core';
import { formatProblem, loadConfig } from '../../src/config/load.ts';
import type { Server } from 'node:http';
import type { Test } from 'tap';
import { startSampleApp } from '../../scripts/sample-app.ts';
import type { TestGateway } from './gateway.ts';

const CHROMIUM = '/usr/bin/chromium';

/** Headless, sandbox off (root in CI), and no background traffic to hosts this network cannot reach. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `skip` for tap: false when Chromium is installed, else why not. */
export const skipWithoutChromium: false | string = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not installed (.ci/run installs Debian's chromium)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Reloads the gateway (as on SIGHUP) with `http://localhost:<port>` as its public URL, after
 * applying `patch` to the config. The port is known only once the gateway listens on port 0,
 * so this avoids guessing a free port. Returns the base URL to browse.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests patch the parsed YAML config freely
type AnyConfig = Record<string, any>;

export async function publicOnLocalhost(gw: TestGateway, patch?: (config: AnyConfig) => void): Promise<string> {
  const base = `http://localhost:${gw.port}`;
  const config = YAML.parse(readFileSync(join(gw.dir, 'gateway.yaml'), 'utf8')) as AnyConfig;
  config.server.public_url = base;
  patch?.(config);
  const file = join(gw.dir, 'gateway-localhost.yaml');
  writeFileSync(file, YAML.stringify(config));
  const loaded = await loadConfig(file, {});
  if (!loaded.ok) throw new Error(`config invalid:\n${loaded.problems.map(formatProblem).join('\n')}`);
  gw.reload(loaded.config);
  return base;
}

/**
 * The sample legacy app (scripts/sample-app.ts) on port 0, in the shape `startTestGateway`
 * takes as its upstream. It shows the Remote-* headers it received, so browser tests read the
 * identity off the page.
 */
export async function startSampleUpstream(t: Test): Promise<{ url: string; server: Server; requests: [] }> {
  const server = await startSampleApp(0);
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, requests: [] };
}
