/**
 * Dependencies between the folders of `src/` only point down: no two folders import each
 * other, directly or through others (docs/ARCHITECTURE.md draws the layers). Every import
 * counts, type-only ones too: a type import is a dependency of the design, even when
 * type stripping erases it at run time. A failure names each cycle and the imports that
 * close it.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder of `src/` a file belongs to (`src/main.ts` belongs to the root, ''). */
const folderOf = (file: string): string => {
  const rel = relative(SRC, file).split(sep);
  return rel.length > 1 ? rel[0]! : '';
};

/** Relative module specifiers of static imports, re-exports and literal dynamic imports. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gms,
    /^\s*import\s+'(\.[^']+)'/gm,
    /\bimport\(\s*'(\.[^']+)'\s*[,)]/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

const edges = new Map<string, Map<string, string[]>>(); // from folder -> to folder -> example imports
for (const file of sources(SRC)) {
  const from = folderOf(file);
  for (const spec of importsOf(readFileSync(file, 'utf8'))) {
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(SRC)) continue;
    const to = folderOf(target);
    if (to === from) continue;
    const byTarget = edges.get(from) ?? new Map<string, string[]>();
    edges.set(from, byTarget);
    const examples = byTarget.get(to) ?? [];
    byTarget.set(to, examples);
    examples.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
  }
}

/** Strongly connected components with more than one folder (Tarjan). */
function cycles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const nodes = new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]);
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return found;
}

t.test('the import scanner sees every form of import', async (t) => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/b.ts';",
    "import {\n  c,\n  d,\n} from './c.ts';",
    "export { e } from './e.ts';",
    "export type * from './f.ts';",
    "import './g.ts';",
    "const h = await import('./h.ts');",
    "import x from 'node:fs';",
  ].join('\n');
  t.same(importsOf(text).sort(), ['../b/b.ts', './a.ts', './c.ts', './e.ts', './f.ts', './g.ts', './h.ts']);
});

t.test('no import cycle between the folders of src/', async (t) => {
  t.ok(edges.size > 5, 'the scan found imports between folders');
  const found = cycles();
  const explain = found.map((component) => {
    const inside = new Set(component);
    const lines = component.flatMap((from) =>
      [...(edges.get(from) ?? new Map<string, string[]>()).entries()]
        .filter(([to]) => inside.has(to))
        .map(
          ([to, examples]) =>
            `  ${from || '(src root)'} -> ${to}: ${examples.slice(0, 3).join(', ')}${examples.length > 3 ? ` (+${examples.length - 3} more)` : ''}`,
        ),
    );
    return `cycle between ${component.map((c) => c || '(src root)').join(', ')}:\n${lines.join('\n')}`;
  });
  t.same(explain, [], 'folders that import each other');
});
