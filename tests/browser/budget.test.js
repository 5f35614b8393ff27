// The console's first load stays small: index.html and every module, style sheet and image
// the login page loads, each gzipped, summed from the requests the browser actually made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startNode, stopAll } from './lib/nodes.js';
import { launch, openPage } from './lib/browser.js';

// 64 KiB gzipped: a first paint quick on a slow phone link (≈1 s at 500 kbit/s), with room to
// grow from today's size; pages other than login load later, on demand, and are not counted.
const FIRST_LOAD_GZIP_BYTES_MAX = 64 * 1024;

let node;
let browser;
before(async () => {
  node = await startNode();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

test(`the login page loads at most ${FIRST_LOAD_GZIP_BYTES_MAX / 1024} KiB gzipped`, { timeout: 60000 }, async () => {
  const watched = await openPage(browser, node.url);
  const { page } = watched;
  const files = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/_/')) files.push(response);
  });
  await page.goto(`${node.url}/_/`, { waitUntil: 'networkidle' });
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  let total = 0;
  const lines = [];
  for (const response of files) {
    const bytes = gzipSync(await response.body()).length;
    total += bytes;
    lines.push(`${String(bytes).padStart(6)} ${new URL(response.url()).pathname}`);
  }
  console.log(`first load, gzipped:\n${lines.join('\n')}\n${String(total).padStart(6)} total (budget ${FIRST_LOAD_GZIP_BYTES_MAX})`);
  assert.ok(files.some((r) => r.url().endsWith('.js')), 'no scripts were loaded');
  assert.ok(total <= FIRST_LOAD_GZIP_BYTES_MAX, `first load is ${total} bytes gzipped, over the ${FIRST_LOAD_GZIP_BYTES_MAX} budget`);
  watched.assertClean();
});
