/**
 * @module test/helpers/ldap
 * A real OpenLDAP server for the directory tests: Debian's slapd with a slapd.conf and an mdb
 * database in a temporary directory, loaded by slapadd from a test LDIF, listening on a
 * loopback port (slapd cannot take port 0, so a free one is picked). Optionally with TLS from
 * a throwaway CA made by openssl at test time. Stopped at teardown; `stop()`/`start()` take it
 * down and bring it back on the same port for outage tests.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from './net.ts';

const SLAPD = '/usr/sbin/slapd';
/** Why the directory tests cannot run here, or false. */
export const slapdMissing: string | false =
  existsSync(SLAPD) && existsSync('/usr/sbin/slapadd')
    ? false
    : `${SLAPD} is not installed (apt-get install slapd ldap-utils; .ci/run does)`;

export const BASE_DN = 'dc=example,dc=com';
const SERVICE_DN = `cn=gateway,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service-account-password';
/** The directory's root, for tests that change entries while the gateway runs. */
export const ROOT_DN = `cn=root,${BASE_DN}`;
export const ROOT_PASSWORD = 'root-password';

/** The directory's users: name as the directory spells it -> password. */
export const LDAP_PASSWORDS: Readonly<Record<string, string>> = {
  'Alice.Smith': 'alice-directory-password',
  bob: 'bob-directory-password',
  carol: 'carol-directory-password',
  admin: 'admin-directory-password',
  'weird)(uid=*': 'weird-directory-password',
  Zoë: 'zoe-directory-password',
  dave: 'dave-directory-password',
};

const people = `ou=people,${BASE_DN}`;
const groups = `ou=groups,${BASE_DN}`;

function person(rdn: string, uid: string, extra: string[] = []): string {
  return [
    `dn: ${rdn},${people}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `mail: ${uid.toLowerCase().replace(/[^a-z.]/g, '')}@example.com`,
    `userPassword: ${LDAP_PASSWORDS[uid]}`,
    ...extra,
  ].join('\n');
}

function group(cn: string, members: string[]): string {
  return [`dn: cn=${cn},${groups}`, 'objectClass: groupOfNames', `cn: ${cn}`, ...members.map((m) => `member: ${m}`)].join('\n');
}

/**
 * Users: Alice.Smith (canonical spelling with capitals; in engineering, which is nested in
 * platform), bob (staff, admins), carol (locked by ppolicy's pwdAccountLockedTime: disabled),
 * admin, a user literally named `weird)(uid=*`, Zoë (non-ASCII), dave (pwdReset: must change).
 * The service account may read everything; nobody else may read anything but themselves.
 */
export const TEST_LDIF = `${[
  [`dn: ${BASE_DN}`, 'objectClass: dcObject', 'objectClass: organization', 'o: Example', 'dc: example'].join('\n'),
  [
    `dn: ${SERVICE_DN}`,
    'objectClass: organizationalRole',
    'objectClass: simpleSecurityObject',
    'cn: gateway',
    `userPassword: ${SERVICE_PASSWORD}`,
  ].join('\n'),
  [`dn: ${people}`, 'objectClass: organizationalUnit', 'ou: people'].join('\n'),
  [`dn: ${groups}`, 'objectClass: organizationalUnit', 'ou: groups'].join('\n'),
  person('uid=Alice.Smith', 'Alice.Smith', ['displayName: Alice Smith']),
  person('uid=bob', 'bob', ['displayName: Bob Jones']),
  person('uid=carol', 'carol', ['pwdAccountLockedTime: 000001010000Z']),
  person('uid=admin', 'admin'),
  person('cn=Weird User', 'weird)(uid=*'),
  `dn:: ${Buffer.from(`uid=Zoë,${people}`).toString('base64')}\nobjectClass: inetOrgPerson\nuid:: ${Buffer.from('Zoë').toString('base64')}\ncn: Zoe\nsn: Zoe\nmail: zoe@example.com\nuserPassword: ${LDAP_PASSWORDS.Zoë}`,
  person('uid=dave', 'dave', ['pwdReset: TRUE']),
  group('engineering', [`uid=Alice.Smith,${people}`]),
  group('platform', [`cn=engineering,${groups}`]),
  group('staff', [`uid=Alice.Smith,${people}`, `uid=bob,${people}`]),
  group('admins', [`uid=bob,${people}`]),
].join('\n\n')}\n`;

export interface Slapd {
  url: string;
  port: number;
  /** `ldaps://` URL when started with `tls`. */
  ldapsUrl?: string;
  /** PEM of the test CA, when started with `tls`. */
  caFile?: string;
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`slapd did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function makeCa(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=mfa-gateway test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'));
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > '${f('san.ext')}'`]);
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
    '-out',
    f('server.pem'),
  );
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

/**
 * Starts slapd for the test `t` and stops it at teardown. `tls` adds a test CA, StartTLS on
 * the ldap:// port and an ldaps:// port. `ldif` replaces the test directory's content.
 */
export async function startSlapd(t: Test, options: { tls?: boolean; ldif?: string } = {}): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-gateway-slapd-'));
  await mkdir(join(dir, 'db'));
  const pki = options.tls ? makeCa(dir) : undefined;
  const conf = [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'include /etc/ldap/schema/nis.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    // For its schema (pwdAccountLockedTime, pwdReset); the overlay itself is not configured.
    'moduleload ppolicy',
    `pidfile ${join(dir, 'slapd.pid')}`,
    ...(pki ? [`TLSCACertificateFile ${pki.ca}`, `TLSCertificateFile ${pki.cert}`, `TLSCertificateKeyFile ${pki.key}`] : []),
    'database mdb',
    'maxsize 67108864',
    `suffix "${BASE_DN}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${join(dir, 'db')}`,
    'index objectClass,uid,member eq',
    'access to attrs=userPassword by anonymous auth by * none',
    `access to * by dn.exact="${SERVICE_DN}" read by self read by * none`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'slapd.conf'), conf);
  await writeFile(join(dir, 'test.ldif'), options.ldif ?? TEST_LDIF);
  execFileSync('/usr/sbin/slapadd', ['-q', '-f', join(dir, 'slapd.conf'), '-l', join(dir, 'test.ldif')], { stdio: 'pipe' });

  const port = await freePort();
  const tlsPort = pki ? await freePort() : undefined;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])].join(' ');
    // -d 0: stay in the foreground (no daemon), log nothing.
    const proc = spawn(SLAPD, ['-f', join(dir, 'slapd.conf'), '-h', urls, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child = proc;
    try {
      await waitForPort(port, 10_000);
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`${(err as Error).message}: ${stderr}`);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    ...(tlsPort ? { ldapsUrl: `ldaps://127.0.0.1:${tlsPort}` } : {}),
    ...(pki ? { caFile: pki.ca } : {}),
    dir,
    stop,
    start,
  };
}

/** A `users.ldap` section for the test directory (OpenLDAP preset, the service account, short timeout). */
export function ldapConfig(slapd: Pick<Slapd, 'url'>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    url: slapd.url,
    implementation: 'openldap',
    base_dn: BASE_DN,
    bind_dn: SERVICE_DN,
    bind_password: SERVICE_PASSWORD,
    timeout: '2s',
    ...extra,
  };
}
