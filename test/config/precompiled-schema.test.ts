/**
 * The precompiled schema validator that the package ships (scripts/build.ts) must judge a
 * config exactly as the validator compiled at run time: the same findings, and the same
 * defaults filled in. A corpus of valid and broken configs is run through both.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { compileSchema, schemaDigest, validatorModuleSource } from '../../src/config/schema-compile.ts';

const minimal = {
  server: { listen: '127.0.0.1:8080', public_url: 'https://gw.example.com' },
  upstream: { url: 'http://127.0.0.1:3000' },
  session: { secret: 'x'.repeat(40) },
  rules: [{ paths: ['/**'], policy: 'two_factor' }],
};

const corpus: Array<[string, unknown]> = [
  ['empty document', {}],
  ['minimal valid config', minimal],
  ['unknown top-level key', { ...minimal, sever: {} }],
  ['unknown nested key', { ...minimal, rules: [{ paths: ['/**'], polcy: 'bypass' }] }],
  ['wrong type', { ...minimal, server: { ...minimal.server, workers: 'two' } }],
  ['bad enum', { ...minimal, rules: [{ paths: ['/**'], policy: 'maybe' }] }],
  ['bad e-mail format', { ...minimal, mfa: { fraud_alert: { notify: ['not-an-email'] } } }],
  ['string too short', { ...minimal, session: { secret: 'short' } }],
  ['bad pattern', { ...minimal, server: { ...minimal.server, public_url: 'ftp://x' } }],
  ['array where a map belongs', { ...minimal, mfa: [] }],
  ['null section', { ...minimal, mfa: null }],
];

const dir = join(process.cwd(), 'test-artifacts', 'precompiled-schema');
mkdirSync(dir, { recursive: true });
const file = join(dir, `schema-validator-${process.pid}.mjs`);
writeFileSync(file, await validatorModuleSource());
const precompiled = (await import(pathToFileURL(file).href)) as {
  digest: string;
  validate: (d: unknown) => boolean & { errors?: unknown };
};
const { validate: compiled } = await compileSchema();

t.equal(precompiled.digest, schemaDigest(), 'the module carries the digest of the schema it was built from');
t.not(
  schemaDigest({ ...(await import('../../config/schema.json', { with: { type: 'json' } })).default, title: 'changed' }),
  schemaDigest(),
  'a changed schema has another digest, so a stale validator is not used',
);

for (const [name, doc] of corpus) {
  t.test(`precompiled and compiled validators agree: ${name}`, async (t) => {
    const a = structuredClone(doc);
    const b = structuredClone(doc);
    const okA = precompiled.validate(a);
    const okB = compiled(b);
    t.equal(okA, okB, 'same verdict');
    t.same((precompiled.validate as unknown as { errors: unknown }).errors ?? null, compiled.errors ?? null, 'same errors');
    t.same(a, b, 'same defaults filled in');
  });
}
