// config/schema.json is the single source of truth: it must describe and close every section,
// and agree with the secret and duration keys the loader reads off it.
import t from 'tap';
import { configSchema, durationKeys, fileBackedKeys } from '../../src/config/schema.ts';

type Node = Record<string, unknown>;

/** Every subschema under `properties`, with its dotted location. */
function* propertySchemas(node: Node, at: string): Generator<[string, Node]> {
  const props = (node.properties ?? {}) as Record<string, Node>;
  for (const [key, child] of Object.entries(props)) {
    yield [`${at}${key}`, child];
    yield* propertySchemas(child, `${at}${key}.`);
    if (child.items) yield* propertySchemas(child.items as Node, `${at}${key}[].`);
  }
  for (const [name, def] of Object.entries((node.definitions ?? {}) as Record<string, Node>)) {
    yield* propertySchemas(def, `#${name}.`);
  }
}

t.test('every property has a description', async (t) => {
  const missing = [...propertySchemas(configSchema as Node, '')].filter(([, s]) => typeof s.description !== 'string').map(([p]) => p);
  t.same(missing, []);
});

t.test('every object schema with fixed keys rejects unknown keys', async (t) => {
  const open: string[] = [];
  const visit = (node: Node, at: string): void => {
    if (node.properties && node.additionalProperties !== false) open.push(at);
    for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) visit(child, `${at}.${key}`);
    if (node.items) visit(node.items as Node, `${at}[]`);
    if (typeof node.additionalProperties === 'object') visit(node.additionalProperties as Node, `${at}.*`);
    for (const [name, def] of Object.entries((node.definitions ?? {}) as Record<string, Node>)) visit(def, `#${name}`);
  };
  visit(configSchema as Node, '');
  t.same(open, []);
});

t.test('the secrets that may come from files, and the duration keys', async (t) => {
  t.same(fileBackedKeys(), [
    ['session', 'secret'],
    ['store', 'encryption_key'],
    ['users', 'ldap', 'bind_password'],
    ['federation', 'oidc', 'client_secret'],
    ['notifications', 'smtp', 'password'],
  ]);
  t.same(
    durationKeys().map((p) => p.join('.')),
    [
      'server.timeouts.upstream_connect',
      'server.timeouts.upstream_response',
      'server.timeouts.request_headers',
      'server.timeouts.keep_alive',
      'session.idle_timeout',
      'session.absolute_timeout',
      'users.ldap.timeout',
      'users.ldap.cache_ttl',
      'users.ldap.outage_grace',
      'identity.jwt.ttl',
      'federation.oidc.revalidate_every',
      'mfa.webauthn.timeout',
      'log.sign_in_retention',
    ],
  );
});
