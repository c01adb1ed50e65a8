/**
 * No line of `src/` is longer than the formatter's width (`biome.jsonc`: 140). The formatter
 * wraps code but cannot wrap a long string or comment, so this check does.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const WIDTH = (
  JSON.parse(readFileSync(new URL('../../biome.jsonc', import.meta.url), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as {
    formatter: { lineWidth: number };
  }
).formatter.lineWidth;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

t.test(`no line of src/ is longer than ${WIDTH} characters`, async (t) => {
  t.equal(WIDTH, 140, 'the width is read from biome.jsonc');
  const long = sources(SRC).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => ([...line].length > WIDTH ? [`${relative(SRC, file)}:${i + 1} (${[...line].length})`] : [])),
  );
  t.same(long, [], 'lines over the width');
});
