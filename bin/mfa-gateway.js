#!/usr/bin/env node
// The `mfa-gateway` command. The sources are TypeScript that Node runs directly (type
// stripping, Node 22.19+), so this launcher only checks the version and hands over.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`mfa-gateway needs Node.js 22.19 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
// Exit explicitly once the command is done: a finished `serve` may still hold handles
// (a cluster worker's IPC channel, pooled upstream sockets) that would keep it alive.
process.exit(await main(process.argv.slice(2)));
