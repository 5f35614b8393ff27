// Chromium (Debian's, not Playwright's download) with the checks every test makes: no
// console error, no request to another host, no serious or critical axe-core finding, and
// screenshots at desktop and phone size.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { waitFor, EMAIL, PASSWORD } from './nodes.js';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

let shotsDir = null;
/**
 * Where screenshots go: $EB_SCREENSHOT_DIR, else one temp dir per `node --test` run (its test
 * files are child processes of one runner, so they share its pid). Printed when a file ends.
 */
export function screenshotDir() {
  if (!shotsDir) {
    shotsDir = process.env.EB_SCREENSHOT_DIR || join(tmpdir(), `eb-console-shots-${process.ppid}`);
    mkdirSync(shotsDir, { recursive: true });
    process.on('exit', () => console.log(`screenshots: ${shotsDir}`));
  }
  return shotsDir;
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/**
 * A page in a fresh context, watched: `problems` collects console errors, page errors and
 * requests to hosts other than the node's. `assertClean()` fails the test on any.
 */
export async function openPage(browser, nodeUrl, { colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme });
  const page = await context.newPage();
  const allowedHost = new URL(nodeUrl).host;
  const problems = [];
  const expected = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url || ''})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:') return;
    if (url.host !== allowedHost) problems.push(`request to another host: ${request.url()}`);
  });
  return {
    page,
    context,
    problems,
    /**
     * Failed requests the test provokes on purpose (a wrong password, a validation error):
     * Chromium logs each as a console error "Failed to load resource: ... status of 400".
     * Only such messages matching `pattern` are forgiven; script errors never are.
     */
    allow(pattern) {
      expected.push(pattern);
    },
    assertClean() {
      const left = problems.filter((p) => !(p.startsWith('console error: Failed to load resource') && expected.some((re) => re.test(p))));
      assert.deepEqual(left, [], `browser problems:\n${left.join('\n')}`);
    },
  };
}

/** Runs axe-core on the page as it is now; fails on serious or critical findings. */
export async function assertAccessible(page, label) {
  // page.evaluate runs through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `axe findings on ${label}:\n${violations.join('\n')}`);
}

/** Screenshots at desktop and phone size, checking accessibility at both. */
export async function capture(page, name) {
  const dir = screenshotDir();
  await assertAccessible(page, `${name} (desktop)`);
  await page.screenshot({ path: join(dir, `${name}-desktop.png`), fullPage: false });
  await page.setViewportSize(PHONE);
  await assertAccessible(page, `${name} (phone)`);
  await page.screenshot({ path: join(dir, `${name}-phone.png`), fullPage: false });
  await page.setViewportSize(DESKTOP);
}

/** Signs in through the login page. */
export async function login(page, nodeUrl, email = EMAIL, password = PASSWORD) {
  await page.goto(`${nodeUrl}/_/#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

export { waitFor };
