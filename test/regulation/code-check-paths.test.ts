// Issue 10, item 8, end to end: the code check behind the code page, the method-change
// confirmation (`portal/methods.ts`) and the admin verify page (`portal/admin.ts`) is one
// regulated check. Through a real gateway on a frozen clock, wrong codes on any of the three
// count toward the same lockout; the denial that locks is answered 429 with Retry-After on
// whichever page it lands, sends one lockout notification, and every page writes the same
// sign-in log entries.
import t from 'tap';
import {
  Browser,
  field,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
  type Reply,
  type TestGateway,
} from '../helpers/gateway.ts';

const MIN = 60_000;
const LOCKOUT = { denials: 3, counter_reset_minutes: 10, auto_unblock_minutes: 15 };
type Path = 'code page' | 'method change' | 'admin verify';

/** `n` codes wrong at `now` whatever step the skew window accepts. */
function wrongCodes(secret: string, now: number, n: number): string[] {
  const valid = new Set([-30_000, 0, 30_000].map((d) => totpCode(secret, now + d)));
  const codes: string[] = [];
  for (let c = Number(totpCode(secret, now)) + 1; codes.length < n; c++) {
    const code = String(c % 1_000_000).padStart(6, '0');
    if (!valid.has(code)) codes.push(code);
  }
  return codes;
}

/** Posts `code` on one of the three pages, as alice, from a session that needs that page. */
async function tryCode(gw: TestGateway, admin: Browser, path: Path, code: string): Promise<Reply> {
  if (path === 'code page') {
    const b = new Browser(gw.port);
    await signInPassword(b, 'alice');
    const page = await b.get('/.gateway/second-factor');
    return b.post('/.gateway/second-factor', { code, csrf: field(page.body, 'csrf') });
  }
  if (path === 'method change') {
    const page = await admin.get('/.gateway/account/methods/add');
    if (page.status !== 200 || !/name="next"/.test(page.body)) throw new Error(`no method-change verify page: ${page.status}`);
    return admin.post('/.gateway/account/methods/verify', { code, next: 'add', csrf: field(page.body, 'csrf') });
  }
  const gate = await admin.get('/.gateway/admin/user?name=bob');
  if (gate.status !== 302) throw new Error(`admin pages did not ask for a code: ${gate.status}`);
  const page = await admin.get(gate.headers.location!);
  const action = /<form class="form" method="post" action="([^"]+)"/.exec(page.body)![1]!.replaceAll('&amp;', '&');
  return admin.post(action, { code, rd: field(page.body, 'rd'), csrf: field(page.body, 'csrf') });
}

const ORDERS: Path[][] = [
  ['code page', 'method change', 'admin verify'],
  ['method change', 'admin verify', 'code page'],
  ['admin verify', 'code page', 'method change'],
];

for (const order of ORDERS) {
  t.test(`one lockout across the code paths; it locks on the ${order[2]}`, async (t) => {
    const lockouts: { user: string; factor: string }[] = [];
    const gw = await startTestGateway(
      t,
      await startUpstream(t),
      { mfa: { lockout: LOCKOUT } },
      {
        onLockout: (user, _until, d) => lockouts.push({ user, factor: d.factor }),
      },
    );
    const admin = new Browser(gw.port);
    const secret = await signInWithEnrollment(admin, gw, 'alice');
    // The second factor grows old for the account's method changes (10 min) and the admin pages (30 min).
    for (let i = 0; i < 4; i++) {
      gw.clock.now += 8 * MIN;
      t.equal((await admin.get('/app')).status, 200, 'the session stays alive');
    }
    const codes = wrongCodes(secret, gw.clock.now, 3);
    const replies: Reply[] = [];
    for (const [i, path] of order.entries()) replies.push(await tryCode(gw, admin, path, codes[i]!));
    t.same(
      replies.map((r) => r.status),
      [401, 401, 429],
      `${order.join(', ')}: two denials, then the lockout`,
    );
    t.equal(replies[2]!.headers['retry-after'], String(15 * 60), 'Retry-After: until the account unlocks');
    t.same(lockouts, [{ user: 'alice', factor: 'second_factor' }], 'one lockout notification');

    const locked = await tryCode(gw, admin, 'code page', totpCode(secret, gw.clock.now));
    t.equal(locked.status, 429, 'code page: locked for the right code too');
    t.ok(Number(locked.headers['retry-after']) > 0, 'code page: with Retry-After');
    // The two other pages show the lock instead of their form.
    const methodPage = await admin.get('/.gateway/account/methods/add');
    t.notMatch(methodPage.body, /name="code"/, 'method change: no code field while locked');
    const gate = await admin.get('/.gateway/admin/user?name=bob');
    const adminPage = await admin.get(gate.headers.location!);
    t.notMatch(adminPage.body, /name="code"/, 'admin verify: no code field while locked');
    t.equal(lockouts.length, 1, 'still one notification');

    const log = (await gw.store.query({ user: 'alice', limit: 100 })).reverse();
    const denials = log.filter((e) => e.kind === 'second_factor' && e.outcome !== 'success');
    t.equal(denials.length, 4, 'each refused code is one entry');
    // The same entry on every page, prefixed with the page's purpose (the code page has none).
    const shape = (d: string) => d.replace(/^(method change confirmation|admin pages): /, '').replace(/until \S+/, 'until T');
    const purposes: Record<Path, string> = {
      'code page': '',
      'method change': 'method change confirmation: ',
      'admin verify': 'admin pages: ',
    };
    t.same(
      denials.slice(0, 3).map((e) => e.detail.slice(0, purposes[order[denials.indexOf(e)]!].length)),
      order.map((p) => purposes[p]),
      'each entry names its page',
    );
    t.same(
      denials.slice(0, 3).map((e) => `${e.outcome} ${shape(e.detail)}`),
      ['denied wrong code', 'denied wrong code', 'denied wrong code; locked out until T'],
      'the same entries on every page; the locking one says until when',
    );
    t.match(denials[2]!.detail, new RegExp(`locked out until ${new Date(gw.clock.now + 15 * MIN).toISOString().replace(/[.]/g, '\\.')}`));
  });
}
