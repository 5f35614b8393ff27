// The logs page: requests made to the node show in the chart and the list, the filter and
// level narrow them, and a row opens its details.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, upsertSuperuser, superuserToken, stopAll, waitFor } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';

let node;
let browser;
before(async () => {
  node = await startNode();
  upsertSuperuser(node);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

test('logs chart, filter and details', { timeout: 120000 }, async () => {
  const token = await superuserToken(node);
  // Some requests to log: successes and a 404.
  for (let i = 0; i < 5; i += 1) await fetch(`${node.url}/api/collections/users/records`, { headers: { Authorization: token } });
  await fetch(`${node.url}/api/collections/missing/records`);

  const watched = await openPage(browser, node.url, { colorScheme: 'dark' });
  const { page } = watched;
  await login(page, node.url);
  await page.getByRole('link', { name: 'Logs' }).click();
  await page.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
  await page.getByText('Logs are kept per node and are not replicated').waitFor();

  // The chart: one bar per hour with requests, its label says how many in total. The node
  // may write its logs a moment after answering, so Refresh until they are all there.
  const chart = page.getByRole('img', { name: /^Requests per hour/ });
  const total = async () => Number((await chart.getAttribute('aria-label', { timeout: 2000 }))?.match(/(\d+) in total/)?.[1] || 0);
  await waitFor(async () => {
    if (await total() >= 6) return true;
    await page.getByRole('button', { name: 'Refresh' }).click();
    return false;
  }, { intervalMs: 500, what: 'at least 6 requests in the chart' });
  assert.ok(await chart.locator('rect.bar').count() >= 1);
  await capture(page, 'logs');

  // Filter to the 404 and open it.
  const filter = page.getByLabel('Filter logs');
  await filter.fill('data.status = 404');
  await filter.press('Enter');
  const row = page.getByRole('row', { name: /\/api\/collections\/missing\/records/ });
  await row.waitFor();
  await waitFor(async () => (await page.locator('tbody tr').count()) >= 1, { what: 'filtered rows' });
  for (const text of await page.locator('tbody tr').allInnerTexts()) assert.match(text, /404/);
  await row.getByRole('link').click();
  const details = page.getByRole('dialog', { name: 'Log entry' });
  await details.getByText('/api/collections/missing/records').first().waitFor();
  await capture(page, 'log-details');
  await page.keyboard.press('Escape');
  await details.waitFor({ state: 'detached' });

  // Level: errors only hides the successful requests.
  await page.getByRole('button', { name: 'Clear', exact: true }).click();
  await page.getByLabel('Level').selectOption({ label: 'Error and above' });
  await waitFor(async () => !(await page.locator('tbody').innerText().catch(() => '')).includes('GET /api/collections/users/records'),
    { what: 'successful requests hidden at level error' });

  // Clearing this node's logs removes the 404 (new requests are logged again at once).
  await page.getByRole('button', { name: 'Clear this node’s logs' }).click();
  const sure = page.getByRole('dialog', { name: 'Clear this node’s logs?' });
  await sure.getByText('Other nodes keep theirs.').waitFor();
  await sure.getByRole('button', { name: 'Clear logs' }).click();
  await page.getByText('No logs match.').waitFor();
  watched.assertClean();
});
