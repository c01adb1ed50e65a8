// The Node.js this package needs, checked before anything that needs it is loaded: by the
// command (bin/mfa-gateway.js imports this first) and, run as a script, by `npm start` and
// `npm test` of a checkout (package.json prestart, pretest). Plain JavaScript, so an old Node
// can run it and say what to install instead of failing on a .ts file.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when `version` (as in process.versions.node) is older than 22.19. */
export function nodeTooOld(version) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 22 || (major === 22 && minor < 19);
}

/** Stops the process with the message when this Node is too old. */
export function requireNode() {
  if (!nodeTooOld(process.versions.node)) return;
  process.stderr.write(`mfa-gateway needs Node.js 22.19 or newer; this is ${process.version}.\n`);
  process.exit(1);
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) requireNode();
