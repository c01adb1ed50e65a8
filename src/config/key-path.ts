/**
 * @module config/key-path
 * Findings inside the loader carry the key path as segments; users read it dotted, as
 * `rules[2].policy` or `upstreams.billing.url`. Both forms live here.
 */

/** Map keys and list indexes from the top of the file down to one value. */
export type KeyPath = readonly (string | number)[];

/** Something wrong at one place in the config, before it is given a file position. */
export interface Finding {
  path: KeyPath;
  /**
   * Where to point: at the key itself (unknown keys), at the value (bad values), or at the
   * mapping that should hold the key (missing keys).
   */
  at: 'key' | 'value' | 'parent';
  message: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['rules', 2, 'policy']` → `rules[2].policy`; odd keys are quoted: `messages.en["a b"]`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Whether `prefix` is `path` or one of its ancestors. */
export function isPrefix(prefix: KeyPath, path: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => seg === path[i]);
}
