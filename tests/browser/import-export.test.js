// Collections out and in: export shows and downloads every definition; import shows what
// will change before it applies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startNode, upsertSuperuser, superuserToken, apiCall, stopAll, waitFor } from './lib/nodes.js';
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

test('export and import collections', { timeout: 120000 }, async () => {
  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await login(page, node.url);
  await page.goto(`${node.url}/_/#/settings/export`);
  const json = page.getByLabel('JSON');
  await json.waitFor();
  const exported = JSON.parse(await json.inputValue());
  assert.ok(exported.some((c) => c.name === 'users'));
  await capture(page, 'export');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(saved.map((c) => c.name), exported.map((c) => c.name));

  await page.getByRole('link', { name: 'Import collections' }).click();
  await page.getByLabel('Collections JSON').fill(JSON.stringify([
    { name: 'imported', type: 'base', listRule: '', fields: [{ name: 'title', type: 'text', required: true }] },
  ]));
  await page.getByRole('button', { name: 'Review and import' }).click();
  const confirm = page.getByRole('dialog', { name: 'Import collections?' });
  await confirm.getByText('New: imported').waitFor();
  await capture(page, 'import-confirm');
  await confirm.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported 1 collection.').waitFor();
  const token = await superuserToken(node);
  const made = await apiCall(node, token, '/api/collections/imported');
  assert.equal(made.status, 200);
  assert.equal(made.json.listRule, '');
  await page.goto(`${node.url}/_/#/collections/imported`);
  await page.getByRole('heading', { name: /imported/ }).waitFor();

  // Delete it: the confirmation names the collection and how many records go with it.
  await page.getByRole('link', { name: 'Edit collection' }).click();
  const editor = page.getByRole('dialog', { name: 'Edit collection imported' });
  await editor.getByRole('button', { name: 'Delete collection' }).click();
  const sure = page.getByRole('dialog', { name: 'Delete collection imported?' });
  await sure.getByText('The collection "imported" and its 0 records will be deleted').waitFor();
  await capture(page, 'delete-collection-confirm');
  await sure.getByRole('button', { name: 'Delete collection' }).click();
  await waitFor(async () => (await apiCall(node, token, '/api/collections/imported')).status === 404, { what: 'collection deleted' });
  await waitFor(() => !page.url().includes('imported'), { what: 'navigation away from the deleted collection' });
  watched.assertClean();
});
