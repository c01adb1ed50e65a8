#!/usr/bin/env node
// The `mfa-gateway` command. An installed package runs the compiled JavaScript in dist/
// (built by `npm run build`, which `npm pack` runs as prepack): Node refuses to strip
// types from files under node_modules, and compiled code also starts faster. A checkout
// runs the TypeScript sources directly (type stripping), so a stale dist/ never shadows
// the code being edited.
import { accessSync, constants, existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { requireNode } from './node-version.js';

/** The young generation's semi-space `serve` runs with (see below). */
const SEMI_SPACE = '--max-semi-space-size=16';

requireNode();
// `serve` runs with a 16 MB semi-space (V8's young generation; its default on a machine with
// several GB is 64 MB): measured by `npm run bench` (README "Sizing"), peak RSS at 100,000
// sessions was 218 to 233 MB against 305 to 319, at 0.97 to 1.06x the requests per second. V8 reads heap sizes
// only when the process starts, so `serve` replaces itself once with the flag (the same process:
// pid, stdio and signals stay), unless the node command line or NODE_OPTIONS names a semi-space
// size already: that is how to choose another, e.g. NODE_OPTIONS=--max-semi-space-size=64.
if (process.argv[2] === 'serve' && typeof process.execve === 'function' && !namesSemiSpace()) {
  process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const inCheckout = existsSync(fileURLToPath(source)) && !fileURLToPath(source).includes('/node_modules/');
if (!inCheckout && !existsSync(fileURLToPath(compiled))) {
  process.stderr.write('mfa-gateway: dist/ is missing; run `npm run build` in the package folder.\n');
  process.exit(1);
}
// V8's compile cache (on Node 24 also the type-stripped sources of a checkout) is kept next to
// the code, in the package's own node_modules/.cache, and only where this process may write
// that folder (a checkout, a user's own install): whoever can change the cache can change the
// code anyway. Never a shared temporary folder, and nothing where the code is read-only to the
// gateway's user (a root-owned install, the Docker image).
const modules = fileURLToPath(new URL('../node_modules/', import.meta.url));
if (writable(modules)) module.enableCompileCache?.(`${modules}.cache/mfa-gateway`);
const { main } = await import(inCheckout ? source.href : compiled.href);
// Exit explicitly once the command is done: a finished `serve` may still hold handles
// (a cluster worker's IPC channel, pooled upstream sockets) that would keep it alive.
process.exit(await main(process.argv.slice(2)));

function namesSemiSpace() {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => /--max[-_]semi[-_]space[-_]size\b/.test(arg));
}

function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
