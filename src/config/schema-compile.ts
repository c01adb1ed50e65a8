/**
 * @module config/schema-compile
 * The validator of `config/schema.json`: compiling the schema with ajv takes about 150 ms, most
 * of a command's start, so it is compiled once into code and the code is imported. The package
 * ships that code (`dist/config/schema-validator.js`, written by `scripts/build.ts`); a checkout
 * writes it into its `node_modules/.cache` at the first start after the schema or ajv changed.
 * Either is used only for the schema it was built from (its digest); otherwise the schema is
 * compiled at start, as it is where nothing may be written.
 */

import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ValidateFunction } from 'ajv';
import schema from '../../config/schema.json' with { type: 'json' };

/** The options every validator of the schema is built with, compiled here or written as code. */
const AJV_OPTIONS = { allErrors: true, useDefaults: true, verbose: true, strictTypes: false } as const;

/** A digest of the schema, so a validator written as code is only used for the schema it was built from. */
export function schemaDigest(doc: unknown = schema): string {
  return createHash('sha256').update(JSON.stringify(doc)).digest('hex');
}

/** Compiles the schema with ajv; with `code`, ajv's code generation options (for {@link validatorModuleSource}). */
export async function compileSchema(code?: object): Promise<{ ajv: Ajv; validate: ValidateFunction }> {
  const [{ Ajv }, addFormatsModule] = await Promise.all([import('ajv'), import('ajv-formats')]);
  const ajv = new Ajv({ ...AJV_OPTIONS, ...(code ? { code } : {}) });
  addFormatsModule.default.default(ajv, ['email']);
  // Annotations the editor integration (yaml-language-server, VS Code) also understands.
  ajv.addKeyword('patternErrorMessage');
  ajv.addKeyword('errorMessage');
  // The smallest duration a key allows: read by `config/semantic` (see `durationMinimums`).
  ajv.addKeyword('minDuration');
  return { ajv, validate: ajv.compile(schema) };
}

/** The validator as an ES module's source (ajv's standalone output), exporting `digest` and `validate`. */
export async function validatorModuleSource(): Promise<string> {
  const [{ _ }, standaloneModule] = await Promise.all([import('ajv'), import('ajv/dist/standalone/index.js')]);
  const { ajv, validate } = await compileSchema({ source: true, esm: true, formats: _`{}` });
  let code = standaloneModule.default.default(ajv, validate);
  // ajv's ESM output still reaches its runtime helpers with require(); turn those into imports.
  const helpers: string[] = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)\.default/g, (_match, path: string) => {
    helpers.push(path);
    return `__helper${helpers.length - 1}`;
  });
  if (/\brequire\(/.test(code)) throw new Error('the standalone validator still calls require()');
  const imports = helpers.map((path, i) => `import __module${i} from "${path}.js";const __helper${i} = __module${i}.default;`).join('');
  const header = `// Generated from config/schema.json; do not edit.\n${imports}`;
  return `${header}export const digest = ${JSON.stringify(schemaDigest())};\n${code}\n`;
}

interface ValidatorModule {
  digest: string;
  validate: ValidateFunction;
}

/** The package's validator, a checkout's cached one, or the schema compiled now. */
export async function loadValidator(): Promise<ValidateFunction> {
  const digest = schemaDigest();
  const shipped = './schema-validator.js';
  try {
    const mod = (await import(shipped)) as ValidatorModule;
    if (mod.digest === digest) return mod.validate;
  } catch {
    // Not built (running from the TypeScript sources).
  }
  return (await cachedValidator(digest)) ?? (await compileSchema()).validate;
}

const MODULES = new URL('../../node_modules/', import.meta.url);

/**
 * The validator written into `node_modules/.cache/mfa-gateway`, named after the schema, ajv's
 * version and the code that writes it; written now if missing. Only where this process may write
 * `node_modules` (whoever can, can change the code anyway); undefined where not, or on any failure.
 */
async function cachedValidator(digest: string): Promise<ValidateFunction | undefined> {
  try {
    accessSync(MODULES, constants.W_OK);
    const ajvVersion = (createRequire(import.meta.url)('ajv/package.json') as { version: string }).version;
    const key = createHash('sha256')
      .update(`${digest}\n${ajvVersion}\n${compileSchema.toString()}\n${validatorModuleSource.toString()}`)
      .digest('hex')
      .slice(0, 16);
    const dir = new URL('.cache/mfa-gateway/', MODULES);
    const file = new URL(`schema-validator-${key}.js`, dir);
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true });
      // Written whole under another name, then renamed: a process starting meanwhile sees no half file.
      const tmp = `${fileURLToPath(file)}.${process.pid}.tmp`;
      writeFileSync(tmp, await validatorModuleSource());
      renameSync(tmp, file);
    }
    const mod = (await import(file.href)) as ValidatorModule;
    return mod.digest === digest ? mod.validate : undefined;
  } catch {
    return undefined;
  }
}
