// Renders every page in Chromium: no horizontal scrolling down to 320 px, the stylesheet
// loads from the static map; with PORTAL_SCREENSHOTS=1, screenshots for review land in
// test-artifacts/portal/.
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.ts';
import { buildCatalog } from '../../src/portal/i18n.ts';
import { createRenderer } from '../../src/portal/render.ts';
import { PAGE_NAMES } from '../../src/portal/pages.ts';
import type { PageData, PageName } from '../../src/portal/pages.ts';
import { loadStaticAssets } from '../../src/portal/static.ts';
import { samplePages } from './render-fixtures.ts';

const ARTIFACTS = 'test-artifacts/portal';
const SCREENSHOTS: readonly string[] = [
  'sign-in/plain',
  'sign-in/failed',
  'sign-in/provider',
  'second-factor/error',
  'second-factor/locked',
  'enroll/plain',
  'enroll-refused/plain',
  'signed-out/plain',
  'account/plain',
  'account/empty',
  'error/plain',
];

t.test('pages in a real browser', { skip: skipWithoutChromium }, async (t) => {
  const assets = await loadStaticAssets('views/static');
  // With every part of the layout: the brand's link, "Back to …" with a long host, a full help contact.
  const renderer = createRenderer({
    catalog: buildCatalog({}),
    prefix: '/.gateway/',
    assets,
    homeUrl: 'https://gateway.example.com/',
    help: {
      text: { en: 'IT service desk', de: 'IT-Servicedesk' },
      phone: '+49 30 1234 5678',
      email: 'servicedesk-international@department.example.com',
      url: 'https://x/',
    },
  });
  const back = { href: 'https://wiki.example.com/start', host: 'timesheets.department.example.com:8443' };
  const samples = await samplePages();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const asset = url.pathname.startsWith('/.gateway/static/') ? assets.get(url.pathname.slice(17)) : undefined;
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, etag: asset.etag }).end(asset.body);
      return;
    }
    const [, lang = 'en', page = '', variant = ''] = url.pathname.split('/');
    const data = (samples[page as PageName] as Record<string, PageData[PageName]> | undefined)?.[variant];
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(renderer.page(page as PageName, lang, data as never, { back }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  mkdirSync(ARTIFACTS, { recursive: true });

  t.test('no page scrolls sideways at 320 px, and the stylesheet applies', async (t) => {
    const page = await browser.newPage({ viewport: { width: 320, height: 640 } });
    for (const name of PAGE_NAMES) {
      for (const variant of Object.keys(samples[name])) {
        for (const lang of ['en', 'de']) {
          await page.goto(`${base}/${lang}/${name}/${variant}`);
          // A string expression: tsconfig has no DOM types.
          const { scroll, client, font } = await page.evaluate<{ scroll: number; client: number; font: string }>(`({
            scroll: document.documentElement.scrollWidth,
            client: document.documentElement.clientWidth,
            font: getComputedStyle(document.body).fontFamily,
          })`);
          t.ok(scroll <= client, `${lang} ${name}/${variant}: ${scroll} <= ${client}`);
          t.match(font, /system-ui/, `${lang} ${name}/${variant}: stylesheet loaded`);
        }
      }
    }
    await page.close();
  });

  t.test('enrolling on the phone in hand: at 390 px the app link comes before the QR code, at desktop after it', async (t) => {
    for (const [width, linkFirst] of [
      [390, true],
      [1024, false],
    ] as const) {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      for (const name of ['enroll/plain', 'method-add/plain']) {
        for (const lang of ['en', 'de']) {
          await page.goto(`${base}/${lang}/${name}`);
          const box = async (selector: string) => {
            const b = await page.locator(selector).first().boundingBox();
            if (b === null) throw new Error(`${selector} is not shown on ${name}`);
            return b;
          };
          const link = await box('a.qr-app');
          const qr = await box('.qr');
          t.match(await page.locator('a.qr-app').first().getAttribute('href'), /^otpauth:\/\/totp\//, `${lang} ${name}: an otpauth link`);
          if (linkFirst)
            t.ok(
              link.y + link.height <= qr.y + 1,
              `${lang} ${name} at ${width} px: the link (y ${link.y}) is above the QR code (y ${qr.y})`,
            );
          else t.ok(link.y >= qr.y, `${lang} ${name} at ${width} px: the QR code leads (link y ${link.y}, QR code y ${qr.y})`);
        }
      }
      await page.close();
    }
  });

  const shots = process.env.PORTAL_SCREENSHOTS ? false : 'set PORTAL_SCREENSHOTS=1 to write screenshots for review';
  t.test('screenshots at desktop and phone widths, light and dark', { skip: shots }, async (t) => {
    const setups = [
      ['desktop', { width: 1280, height: 860 }, 'light', SCREENSHOTS],
      ['phone', { width: 375, height: 812 }, 'light', SCREENSHOTS],
      ['desktop-dark', { width: 1280, height: 860 }, 'dark', ['sign-in/failed', 'second-factor/error', 'enroll/plain', 'account/plain']],
    ] as const;
    for (const [label, viewport, colorScheme, list] of setups) {
      const page = await browser.newPage({ viewport, colorScheme });
      for (const shot of list) {
        for (const lang of ['en', 'de']) {
          await page.goto(`${base}/${lang}/${shot}`);
          const path = `${ARTIFACTS}/${shot.replace('/', '-')}-${lang}-${label}.png`;
          await page.screenshot({ path, fullPage: true });
          t.ok(existsSync(path), path);
        }
      }
      await page.close();
    }
  });
});
