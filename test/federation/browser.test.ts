// Federated sign-in in a real browser (Chromium through playwright-core): from the app to
// the gateway's sign-in page, through the provider's own login page, and back to the app
// without a second factor because the provider says the user is on the intranet.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.ts';
import { loadConfig, formatProblem } from '../../src/config/load.ts';
import { startTestGateway, startUpstream } from '../helpers/gateway.ts';
import { GATEWAY_CLIENT, startProvider } from './provider.ts';

t.test('sign in at the provider in Chromium and land in the app', { skip: skipWithoutChromium }, async (t) => {
  const upstream = await startUpstream(t);
  // Discovery is lazy, so the gateway starts before the provider exists; the real issuer and
  // the gateway's own port (the browser needs host names for cookies) come in by a reload.
  const gw = await startTestGateway(t, upstream, {
    federation: {
      oidc: {
        issuer: 'http://localhost:9/',
        client_id: GATEWAY_CLIENT.id,
        client_secret: GATEWAY_CLIENT.secret,
        display_name: 'Corp IdP',
        create_users: true,
      },
    },
    mfa: { trusted_ips: { ranges: [], federated_intranet_claim: true } },
  });
  gw.clock.now = Date.now();
  const publicUrl = `http://localhost:${gw.port}`;
  const idp = await startProvider(t, { host: 'localhost', redirectUris: [`${publicUrl}/.gateway/oidc/callback`] });
  const file = join(gw.dir, 'gateway.yaml');
  const config = YAML.parse(readFileSync(file, 'utf8')) as { server: { public_url: string }; federation: { oidc: { issuer: string } } };
  config.server.public_url = publicUrl;
  config.federation.oidc.issuer = idp.issuer;
  writeFileSync(file, YAML.stringify(config));
  const loaded = await loadConfig(file, {});
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  gw.reload(loaded.config);

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();

  await page.goto(`${publicUrl}/app`);
  t.match(new URL(page.url()).pathname, '/.gateway/sign-in', 'the app needs a sign-in');
  await page.getByRole('link', { name: 'Sign in with Corp IdP' }).click();

  await page.waitForURL(`${idp.issuer}/interaction/**`);
  t.pass("on the provider's own login page");
  await page.fill('input[name="login"]', 'carol');
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  // The provider asks once to let the gateway see the profile.
  await page.waitForURL((url) => url.href.startsWith(publicUrl) || url.pathname.startsWith('/interaction/'));
  if (page.url().startsWith(idp.issuer)) await page.getByRole('button', { name: 'Continue' }).click();

  await page.waitForURL(`${publicUrl}/app`);
  t.match(await page.textContent('body'), 'upstream saw GET /app', 'back in the app, no second factor asked');
  t.equal(upstream.requests.at(-1)?.headers['remote-user'], 'carol');
  const cookies = await page.context().cookies(publicUrl);
  t.ok(
    cookies.some((c) => c.name === 'mfa_gateway_session'),
    'the gateway session cookie is set',
  );
  t.notOk(
    cookies.some((c) => c.name === 'mfa_gateway_session_oidc'),
    'the sign-in state cookie is gone',
  );
  const [entry] = (await gw.store.query({ limit: 5 })).filter((e) => e.kind === 'federated');
  t.match(entry?.detail, /second factor skipped: intranet claim/);
});
