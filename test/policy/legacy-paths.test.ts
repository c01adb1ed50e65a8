// issue-10 item 5: legacy path semantics cannot carry a request past a rule. Every corpus
// target gets the answer its table row names, in both `legacy_paths` modes, and a target
// the gateway accepts meets the same rule on the gateway's reading and on the legacy one.
import t from 'tap';
import { normalizePath } from '../../src/policy/path.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { decide } from '../../src/policy/decide.ts';
import { parseAddress } from '../../src/client-ip/cidr.ts';
import { CORPUS, corpusRules, type Answer } from './legacy-paths.corpus.ts';

const addr = parseAddress('203.0.113.9')!;
const policy = compilePolicy(corpusRules());

function ruleOf(path: string): Answer {
  const name = decide(policy, { host: 'gateway.test', path, method: 'GET', addr }).rule?.name;
  if (name !== 'admin' && name !== 'public' && name !== 'rest') throw new Error(`no corpus rule for ${path}`);
  return name;
}

t.test('the corpus is big enough and every target is different', async (t) => {
  t.ok(CORPUS.length >= 40, `${CORPUS.length} targets`);
  t.equal(new Set(CORPUS.map((e) => e.target)).size, CORPUS.length);
});

for (const mode of ['refuse', 'rewrite'] as const) {
  t.test(`legacy_paths: ${mode}: each target gets its answer`, async (t) => {
    for (const entry of CORPUS) {
      const result = normalizePath(entry.target, { legacy: mode });
      const answer: Answer = result.ok ? ruleOf(result.path) : 400;
      t.equal(
        answer,
        entry[mode],
        `${JSON.stringify(entry.target)} (legacy: ${entry.legacy})${result.ok ? ` -> ${result.path}` : ` refused: ${result.reason}`}`,
      );
    }
  });

  t.test(`legacy_paths: ${mode}: an accepted target meets one rule on both readings`, async (t) => {
    for (const entry of CORPUS) {
      const result = normalizePath(entry.target, { legacy: mode });
      if (!result.ok) continue;
      // The legacy column is a plain path when the answer is a rule; its own normalization must agree.
      const legacy = normalizePath(entry.legacy.split(' ')[0]!);
      t.ok(legacy.ok, `legacy reading of ${JSON.stringify(entry.target)} is a path`);
      if (legacy.ok)
        t.equal(
          ruleOf(legacy.path),
          ruleOf(result.path),
          `${JSON.stringify(entry.target)}: same rule on ${result.path} and ${legacy.path}`,
        );
      // What is forwarded reads the same to every server: normalizing it again changes nothing.
      t.same(normalizePath(result.path), { ok: true, path: result.path, query: '' }, `${result.path} is a fixed point`);
    }
  });
}

t.test('a refusal names the legacy reading', async (t) => {
  const result = normalizePath('/admin;jsessionid=1/users');
  t.notOk(result.ok);
  if (!result.ok) t.match(result.reason, /read it as \/admin\/users$/);
});

t.test('the query never takes part: a ";" or a trailing dot there is fine in both modes', async (t) => {
  t.same(normalizePath('/admin/x?a=1;b=2.'), { ok: true, path: '/admin/x', query: '?a=1;b=2.' });
  t.same(normalizePath('/admin/x?a=1;b=2.', { legacy: 'rewrite' }), { ok: true, path: '/admin/x', query: '?a=1;b=2.' });
});
