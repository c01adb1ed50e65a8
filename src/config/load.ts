/**
 * @module config/load
 * Reads `gateway.yaml` into a validated, defaulted, frozen `GatewayConfig`, or returns every
 * problem in it at once, each with file:line:column, the key's path and a plain-language
 * message. Steps: parse YAML (keeping source ranges) → `${ENV}` and `<key>_file` secrets →
 * JSON Schema with defaults → semantic checks → absolute paths → deep freeze.
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { checkSemantics } from './semantic.ts';
import { validateAgainstSchema } from './schema.ts';
import { readFileBackedSecrets, substituteEnv } from './substitute.ts';
import { locate } from './locate.ts';
import { formatKeyPath, isPrefix, type Finding, type KeyPath } from './key-path.ts';
import type { ConfigProblem, GatewayConfig } from './types.ts';

export type LoadResult = { ok: true; config: Readonly<GatewayConfig> } | { ok: false; problems: ConfigProblem[] };

/**
 * Loads and checks a config file.
 *
 * `env` supplies `${NAME}` values (default `process.env`). Relative paths in the file
 * (`store.sqlite.path`, `users.file`, `<key>_file`) are resolved against the process's
 * working directory, and the returned paths are absolute. `federation.oidc.display_name`
 * defaults to the issuer's host name; `mfa.totp.issuer` and `mfa.webauthn.rp_name` to
 * `portal.organization`, else `MFA Gateway`.
 *
 * Never throws for a bad file: a missing or unreadable file is one problem at line 0; YAML
 * syntax errors are returned alone (nothing further can be trusted); otherwise environment,
 * file, schema and semantic problems are all returned together, sorted by position.
 *
 * @example
 * const r = await loadConfig('config/gateway.yaml');
 * if (!r.ok) for (const p of r.problems) console.error(formatProblem(p));
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? (err as Error).message})`;
    return { ok: false, problems: [{ file, line: 0, column: 0, path: '', message: why }] };
  }

  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    const problems = sortProblems(
      syntax.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message}` };
      }),
    );
    // One syntax error usually makes the parser stumble over everything after it; those
    // follow-on errors only bury the one that needs fixing.
    const [first] = problems as [ConfigProblem, ...ConfigProblem[]];
    const more = problems.length - 1;
    const hint = more > 0 ? ` (${more} more syntax error${more === 1 ? '' : 's'} after this one may follow from it)` : '';
    return { ok: false, problems: [{ ...first, message: `${first.message}${hint}` }] };
  }

  const data: unknown = doc.toJS() ?? {};
  const cwd = process.cwd();
  const findings: Finding[] = substituteEnv(data, env);
  const secrets = await readFileBackedSecrets(data, cwd);
  findings.push(...secrets.findings);
  // A value already found wrong needs no second complaint from a later step
  // (an unset ${VAR} is not also "too short", a rejected network not also unparsable).
  const notYetFound = (earlier: Finding[]) => (f: Finding) => !earlier.some((known) => isPrefix(known.path, f.path));
  findings.push(...validateAgainstSchema(data).filter(notYetFound([...findings])));
  findings.push(...checkSemantics(data).filter(notYetFound([...findings])));

  if (findings.length > 0) {
    const problems = findings.map((f): ConfigProblem => {
      const source = movedFrom(f.path, secrets.moved);
      const pos = locate(doc, lines, source ? { path: source.path, at: f.at === 'key' ? 'key' : 'value' } : f);
      const note = source ? ` (value read from ${formatKeyPath(source.path)})` : '';
      return { file, line: pos.line, column: pos.column, path: formatKeyPath(f.path), message: f.message + note };
    });
    return { ok: false, problems: sortProblems(problems) };
  }

  const config = data as GatewayConfig;
  finish(config, cwd);
  return { ok: true, config: deepFreeze(config) };
}

/**
 * One problem as a line for a terminal: `file:line:column: path: message`. Problems without
 * a place in the file leave out line and column, and those about the whole file the path.
 *
 * @example formatProblem(p) // 'config/gateway.yaml:12:5: rules[0].policy: must be one of: bypass, ...'
 */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`;
}

/** The issuer and relying party name when `portal.organization` is not set. */
const DEFAULT_ORGANIZATION = 'MFA Gateway';

/** Fills what the schema cannot default and makes file paths absolute. */
function finish(config: GatewayConfig, cwd: string): void {
  const oidc = config.federation.oidc;
  if (oidc && oidc.display_name === undefined) oidc.display_name = new URL(oidc.issuer).hostname;
  // What people read in their authenticator app and passkey dialog: a name, not a slug.
  const organization = config.portal.organization ?? DEFAULT_ORGANIZATION;
  config.mfa.totp.issuer ??= organization;
  config.mfa.webauthn.rp_name ??= organization;
  if (config.store.sqlite) config.store.sqlite.path = resolve(cwd, config.store.sqlite.path);
  config.users.file = resolve(cwd, config.users.file);
}

/** A finding about a value that came from `<key>_file` belongs at that `_file` key. */
function movedFrom(path: KeyPath, moved: Map<string, KeyPath>): { path: KeyPath } | undefined {
  const from = moved.get(formatKeyPath(path));
  return from ? { path: from } : undefined;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
