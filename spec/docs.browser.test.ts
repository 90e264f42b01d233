// Real-browser check of the rendered reference: headless Debian Chromium (driven by
// playwright-core) opens generated/docs/index.html from disk with every non-file:// request
// aborted, and must find every operation of the bundle on the page. Saves a screenshot to
// reports/docs-screenshot.png.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page, chromium } from 'playwright-core';
import { loadBundle, operationNodes } from '../lib/spec/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const DOCS = join(ROOT, 'generated', 'docs', 'index.html');
const SCREENSHOT = join(ROOT, 'reports', 'docs-screenshot.png');

const bundle = loadBundle();
const ops = operationNodes(bundle).map(({ operationId, path, operation }) => ({
  operationId,
  path,
  tags: Array.isArray(operation.tags) ? operation.tags.map(String) : [],
  summary: String(operation.summary ?? ''),
}));
const tags = [...new Set(ops.flatMap((op) => op.tags))];

let browser: Browser | undefined;
let page: Page;
const blocked: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  // Never skip: a missing browser is a broken setup, and the test says how to fix it.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash scripts/setup.sh\` (installs Debian chromium), then rerun the tests.`);
  }
  if (!existsSync(DOCS)) throw new Error(`${DOCS} is missing: run \`npm run gen\` first.`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, offline: true });
  page = await context.newPage();
  // The page must render from the file alone: abort everything that is not file://.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(pathToFileURL(DOCS).href, { waitUntil: 'load' });
  await page.locator('h1').filter({ hasText: String((bundle.info as { title: string }).title) }).first().waitFor({ timeout: 15_000 });
}, 60_000);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// Headings carry a deep-link anchor whose aria-label pollutes their accessible name; match the text.
const heading = (text: string) => page.locator('h1, h2, h3').filter({ hasText: new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`) }).first();

afterAll(async () => {
  await browser?.close();
});

describe('docs > rendered reference (headless chromium, offline)', () => {
  it('renders the signing, replay and code prose', async () => {
    for (const title of ['Request signing', 'Replay protection', 'Check order', 'Envelope and codes']) {
      await heading(title).waitFor({ state: 'visible', timeout: 10_000 });
    }
    const text = await page.locator('body').innerText();
    expect(text).toContain('body=<B>&nonce=<N>&secretKey=<S>&timestamp=<T>&url=<U>');
    expect(text).toContain('a3b35614fce8d1fcb915d6789ea41369');
  });

  it('finds every operation of the bundle', async () => {
    expect(ops.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const tag of tags) {
      // Operations sit under their tag in the sidebar; open the tag to list them.
      await page.locator('body').getByRole('link', { name: tag, exact: true }).first().click();
      for (const op of ops.filter((o) => o.tags.includes(tag))) {
        const anchor = page.locator(`a[href="#/${tag}/${op.operationId.toLowerCase()}"]`).first();
        await anchor.waitFor({ state: 'attached', timeout: 10_000 });
        await expect(anchor.innerText(), `${op.operationId} sidebar entry`).resolves.toContain(op.summary);
        // Operation sections render lazily: open each one, then its heading and path must show.
        await anchor.click();
        await heading(op.summary).waitFor({ state: 'visible', timeout: 10_000 });
        await expect(page.locator('body').innerText(), `${op.operationId} path`).resolves.toContain(op.path);
        found.push(op.operationId);
      }
    }
    expect(found.sort()).toEqual(ops.map((op) => op.operationId).sort());
  }, 90_000);

  it('ran offline without page errors', () => {
    expect(pageErrors).toEqual([]);
    expect(blocked.every((url) => !url.startsWith('file://'))).toBe(true);
  });

  it('saves a screenshot of a rendered operation', async () => {
    await page.locator('body').getByRole('link', { name: 'apk', exact: true }).first().click();
    await page.locator('a[href="#/apk/apkupgrade"]').first().click();
    await heading('Get the upgrade strategy of an Android application').waitFor({ state: 'visible', timeout: 10_000 });
    mkdirSync(join(ROOT, 'reports'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
