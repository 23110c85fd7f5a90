import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { eventually } from '../../support/eventually';
import { testUnless } from '../../support/skippedByName';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/** Debian's chromium by default; CHROMIUM_PATH names another Chromium-based browser (the hosted CI's Chrome). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.TEST_ARTIFACTS_DIR ?? 'test-artifacts');
const it = testUnless(
  existsSync(CHROMIUM) ? null : `no browser at ${CHROMIUM} (Debian package chromium)`,
  __filename,
);

jest.setTimeout(60_000);

let svc: TestService;
const profiles: string[] = [];

/** A real Chromium on a fresh profile (user-data-dir), as the brief's flags ask. */
async function browser(javaScriptEnabled = true): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'costsim-chromium-'));
  profiles.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

const row = (name: string, tenant = '') => `[id="breaker-${name}~${tenant}"]`;
const breaker = async (name: string) =>
  (await (await svc.call('GET', `/costsim/breakers/${name}`, { key: testKeys.read })).json()) as {
    open: boolean;
    disabled_reason: string | null;
    version: number;
  };
const drift = (name: string, score: number) =>
  svc.call('POST', `/costsim/breakers/${name}/drift`, { key: testKeys.admin, body: { drift_score: score } });

// page.evaluate takes expressions as strings here: the tests compile without the DOM's types.

/** Presses Tab until the element with `id` has focus (keyboard only: no click, no focus()). */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await page.evaluate('document.activeElement && document.activeElement.id')) === id) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached #${id}`);
}

/** Provenance of the last 50 minutes, one record a minute with rising drift: the page's chart. */
async function recentProvenance(count: number): Promise<void> {
  const now = Date.now();
  const records = Array.from({ length: count }, (_, i) => ({
    run_id: 'status-e2e',
    variant_slug: 'v2',
    source: 'sandbox',
    input_hash: createHash('sha256').update(`status-${i}`).digest('hex'),
    v1_cost: 10,
    v2_cost: 10 + (i % 3),
    drift_score: Math.min(1, i / count),
    verdict: 'match',
    payload: { i },
    created_at: new Date(now - (50 - i) * 60_000).toISOString(),
  }));
  const res = await svc.call('POST', '/costsim/provenance', { key: testKeys.write, body: { records } });
  expect(res.status).toBe(201);
  await eventually(async () => {
    const stats = await svc.call('GET', '/costsim/provenance/drift-stats', { key: testKeys.read });
    expect(((await stats.json()) as { total: number }).total).toBe(count);
  });
}

beforeAll(async () => {
  svc = await startTestService({ COSTSIM_BREAKERS: 'checkout' });
  await recentProvenance(40);
});
afterAll(async () => {
  await svc?.stop();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
});

describe('status page in a real browser', () => {
  it('key entered once; a drift trip over the API shows live; reconnects after the server drops the stream; disable and enable by keyboard', async () => {
    const context = await browser();
    try {
      const page = await context.newPage();
      const cspErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') cspErrors.push(m.text());
      });
      await page.goto(`${svc.url}/`);
      await page.fill('#key', testKeys.admin);
      await page.press('#key', 'Enter');
      await page.waitForSelector(row('costsim_v2'));
      await page.waitForSelector(row('checkout'));
      await page.waitForSelector('#live[data-state="live"]');
      // The last hour's drift, one point a minute.
      const points = await page.getAttribute('svg.drift-chart polyline.drift-avg', 'points');
      expect(points!.trim().split(/\s+/)).toHaveLength(40);
      expect((await page.innerText('p.drift-stats')).replace(/\s+/g, ' ')).toContain('40 drift scores');
      // The key is in sessionStorage only: not in the URL, not in a cookie.
      expect(page.url()).toBe(`${svc.url}/`);
      expect(await context.cookies()).toEqual([]);
      expect(await page.evaluate("sessionStorage.getItem('costsim-guard.key')")).toBe(testKeys.admin);
      // A marker that a reload would lose.
      await page.evaluate('window.marker = 42');

      // A drift trip over the API appears within 1 s, without a reload (SSE).
      for (const score of [0.9, 0.9]) expect((await drift('costsim_v2', score)).status).toBe(200);
      const tripped = await drift('costsim_v2', 0.9);
      expect(((await tripped.json()) as { tripped: boolean }).tripped).toBe(true);
      await page.waitForSelector(`${row('costsim_v2')}[data-open="true"]`, { timeout: 1000 });
      expect(await page.evaluate('window.marker')).toBe(42);
      expect(await page.textContent(row('costsim_v2'))).toMatch(/P1|P2|P3/);
      await page.waitForSelector('table.transitions >> text=BreakerTripped');

      // The server drops every stream; a change made meanwhile shows once the page has reconnected.
      svc.service.status.closeStreams();
      await page.waitForSelector('#live[data-state="reconnecting"]');
      const enabled = await svc.call('POST', '/costsim/breakers/costsim_v2/enable', {
        key: testKeys.admin,
        body: { reason: 'while the page was disconnected' },
      });
      expect(enabled.status).toBe(200);
      await page.waitForSelector('#live[data-state="live"]');
      await page.waitForSelector(`${row('costsim_v2')}[data-open="false"]`);
      expect(await page.evaluate('window.marker')).toBe(42);

      // Disable from the page, by keyboard only.
      await tabTo(page, 'action-breaker-checkout~');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#action-dialog[open]');
      await page.keyboard.type('disabled from the status page');
      await page.keyboard.press('Enter');
      await page.waitForSelector(`${row('checkout')}[data-open="true"]`);
      expect(await breaker('checkout')).toMatchObject({
        open: true,
        disabled_reason: 'disabled from the status page',
      });
      expect(await page.textContent(row('checkout'))).toContain('disabled from the status page');
      // Focus came back to the row's button, now "Enable…".
      expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe(
        'action-breaker-checkout~',
      );
      expect(await page.textContent('[id="action-breaker-checkout~"]')).toBe('Enable…');

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'status-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(1000);

      // Enable again, by keyboard.
      await page.keyboard.press('Enter');
      await page.waitForSelector('#action-dialog[open]');
      await page.keyboard.type('checked, enabling');
      await page.keyboard.press('Enter');
      await page.waitForSelector(`${row('checkout')}[data-open="false"]`);
      expect((await breaker('checkout')).open).toBe(false);

      // Escape closes the dialog without a change.
      await page.keyboard.press('Enter');
      await page.waitForSelector('#action-dialog[open]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#action-dialog', { state: 'hidden' });
      expect((await breaker('checkout')).open).toBe(false);

      expect(cspErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('with JavaScript off, the key form shows the read-only view listing every breaker', async () => {
    const opened = await svc.call('POST', '/costsim/breakers/checkout/disable', {
      key: testKeys.admin,
      body: { reason: 'seen without JavaScript' },
    });
    expect(opened.status).toBe(200);
    const context = await browser(false);
    try {
      const page = await context.newPage();
      await page.goto(`${svc.url}/`);
      expect(await page.$(row('costsim_v2'))).toBeNull(); // no data before the key
      await page.fill('#key', testKeys.read);
      await page.click('button[type="submit"]');
      await page.waitForSelector(row('checkout'));
      expect(page.url()).toBe(`${svc.url}/`); // the key went in the body
      expect(await page.textContent(row('checkout'))).toContain('seen without JavaScript');
      expect(await page.$(row('costsim_v2'))).not.toBeNull();
      expect(await page.$('button[data-action]')).toBeNull(); // read-only
      expect(await context.cookies()).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, 'status-page-no-js.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
