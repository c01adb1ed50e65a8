/**
 * @module scripts/build
 * `npm run build` (and `npm pack`, through prepack): compiles `src/` to `dist/` with tsc,
 * then writes the config schema's validator as code (`dist/config/schema-validator.js`),
 * so an installed command does not compile the schema at every start.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validatorModuleSource } from '../src/config/schema-compile.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = spawnSync(fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)), ['-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
writeFileSync(new URL('../dist/config/schema-validator.js', import.meta.url), await validatorModuleSource());
