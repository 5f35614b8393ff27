// Collections and records through the console, as a person would: sign in, create a
// collection with every field type, an index and rules, then create, edit, filter, sort,
// bulk-delete records, rename the collection, and create an auth collection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, upsertSuperuser, superuserToken, apiCall, stopAll, waitFor } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';
import { tinyPng } from './lib/png.js';

const FIELDS = [
  ['text', 'title'], ['editor', 'body'], ['number', 'count'], ['bool', 'published'], ['email', 'contact'],
  ['url', 'website'], ['date', 'due'], ['autodate', 'stamp'], ['select', 'tags'], ['file', 'files'],
  ['relation', 'owner'], ['json', 'meta'], ['geoPoint', 'place'], ['password', 'secret'],
];

/** The query part of the console's hash route. */
const hashQuery = (page) => new URLSearchParams(new URL(page.url()).hash.split('?')[1] || '');

let node;
let browser;
let token;
before(async () => {
  node = await startNode();
  upsertSuperuser(node);
  token = await superuserToken(node);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

test('collections and records, end to end', { timeout: 240000 }, async () => {
  const owner = await apiCall(node, token, '/api/collections/users/records', { method: 'POST',
    body: { email: 'ann@example.com', password: 'ann-password-1', passwordConfirm: 'ann-password-1', name: 'Ann' } });
  assert.equal(owner.status, 200, JSON.stringify(owner.json));

  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await page.goto(`${node.url}/_/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  await capture(page, 'login');
  await login(page, node.url);
  await capture(page, 'collections-home');

  // A new collection with one field of every type.
  await page.getByRole('link', { name: '+ New collection' }).click();
  const panel = page.getByRole('dialog', { name: 'New collection' });
  await panel.getByLabel('Name', { exact: true }).fill('posts');
  for (const [type, name] of FIELDS) {
    await panel.getByRole('button', { name: '+ Add field' }).click();
    await panel.getByRole('button', { name: type, exact: true }).click();
    const card = panel.locator('.field-card').last();
    await card.locator('input.name').fill(name);
  }
  // New collections start with id, created and updated; the added fields follow in order.
  const card = (name) => panel.locator('.field-card').nth(FIELDS.findIndex(([, n]) => n === name) + 3);
  assert.equal(await panel.locator('.field-card').count(), FIELDS.length + 3);
  // Added fields show their options. title: required and presentable; tags: choices; owner: users.
  await card('title').getByLabel('Required (nonempty)').check();
  await card('title').getByLabel(/^Presentable/).check();
  await card('tags').getByLabel('Choices').fill('red, green, blue');
  await card('tags').getByLabel('Max selected').fill('2');
  await card('files').getByLabel('Max files').fill('3');
  await card('owner').getByLabel('Related collection').selectOption({ label: 'users' });
  await capture(page, 'collection-editor-fields');

  // An index, then the rules tab with autocomplete.
  await panel.getByRole('button', { name: '+ Add index' }).click();
  await panel.getByRole('textbox', { name: 'Index 1' }).fill('CREATE UNIQUE INDEX `idx_posts_title` ON `posts` (`title`)');
  await panel.getByRole('tab', { name: 'API rules' }).click();
  const listRule = panel.locator('.rule', { has: page.getByRole('heading', { name: 'List/Search rule' }) });
  await listRule.getByLabel('Superusers only').uncheck();
  const ruleInput = listRule.getByLabel('List/Search rule');
  await ruleInput.pressSequentially('@request.a');
  await listRule.getByRole('option', { name: '@request.auth.id' }).waitFor();
  await capture(page, 'collection-editor-rules');
  await ruleInput.press('Enter');
  await ruleInput.pressSequentially(' != "" && publ');
  await listRule.getByRole('option', { name: 'published' }).waitFor();
  await ruleInput.press('Tab');
  await ruleInput.pressSequentially(' = true');
  assert.equal(await ruleInput.inputValue(), '@request.auth.id != "" && published = true');
  const viewRule = panel.locator('.rule', { has: page.getByRole('heading', { name: 'View rule' }) });
  await viewRule.getByLabel('Superusers only').uncheck();
  // Ctrl+S saves the open form.
  await page.keyboard.press('Control+s');
  await panel.waitFor({ state: 'detached' });
  await waitFor(() => page.url().endsWith('#/collections/posts'), { what: 'navigation to the new collection' });

  const saved = (await apiCall(node, token, '/api/collections/posts')).json;
  assert.deepEqual(FIELDS.map(([type, name]) => saved.fields.find((f) => f.name === name)?.type), FIELDS.map(([type]) => type));
  assert.equal(saved.listRule, '@request.auth.id != "" && published = true');
  assert.equal(saved.viewRule, '');
  assert.equal(saved.createRule, null);
  assert.ok(saved.indexes.some((sql) => sql.includes('idx_posts_title')), saved.indexes.join('\n'));
  assert.deepEqual(saved.fields.find((f) => f.name === 'tags').values, ['red', 'green', 'blue']);

  // A record with every input.
  await page.getByRole('link', { name: '+ New record' }).click();
  const editor = page.getByRole('dialog', { name: 'New posts record' });
  await editor.getByLabel('title *').fill('hello world');
  await editor.getByLabel('body').fill('<p>Hi <b>there</b></p>');
  await editor.getByLabel('count').fill('42');
  await editor.getByLabel('published').check();
  await editor.getByLabel('contact').fill('bob@example.com');
  await editor.getByLabel('website').fill('https://example.com/x');
  await editor.getByLabel('due').fill('2026-12-24T10:30:00');
  await editor.getByRole('group', { name: 'tags' }).getByLabel('red').check();
  await editor.getByRole('group', { name: 'tags' }).getByLabel('blue').check();
  await editor.getByLabel('files', { exact: true }).setInputFiles([{ name: 'pixel.png', mimeType: 'image/png', buffer: tinyPng() }]);
  await editor.getByRole('button', { name: 'Choose from users' }).click();
  const picker = page.getByRole('dialog', { name: 'Choose from users' });
  await picker.getByLabel(/ann@example.com/).check();
  await picker.getByRole('button', { name: 'Use selection' }).click();
  await editor.locator('.chip', { hasText: 'ann@example.com' }).waitFor();
  await editor.getByLabel('meta').fill('{"a": [1, 2]}');
  await editor.getByLabel('Longitude').fill('13.4');
  await editor.getByLabel('Latitude').fill('52.5');
  await editor.getByLabel('secret').fill('s3cret-value');
  await capture(page, 'record-editor');
  await editor.getByRole('button', { name: 'Create' }).click();
  await editor.waitFor({ state: 'detached' });

  const list = (await apiCall(node, token, '/api/collections/posts/records')).json;
  assert.equal(list.totalItems, 1);
  const record = list.items[0];
  assert.equal(record.title, 'hello world');
  assert.equal(record.count, 42);
  assert.equal(record.published, true);
  assert.deepEqual(record.tags, ['red', 'blue']);
  assert.equal(record.owner, owner.json.id);
  assert.deepEqual(record.meta, { a: [1, 2] });
  assert.deepEqual(record.place, { lon: 13.4, lat: 52.5 });
  assert.equal(record.due, '2026-12-24 10:30:00.000Z');
  assert.equal(record.files.length, 1);
  // The thumbnail in the table loads from the node (lazily: scroll its column into view).
  const thumb = page.locator('tbody img.thumb').first();
  await thumb.scrollIntoViewIfNeeded();
  await waitFor(() => thumb.evaluate((img) => img.complete && img.naturalWidth > 0), { what: 'thumbnail to load' });

  // More records to filter and sort.
  for (const [title, count] of [['second', 7], ['third', 99]]) {
    const made = await apiCall(node, token, '/api/collections/posts/records', { method: 'POST', body: { title, count } });
    assert.equal(made.status, 200, JSON.stringify(made.json));
  }
  await page.reload();
  await page.locator('tbody tr').nth(2).waitFor();
  await capture(page, 'records-table');
  const filter = page.getByLabel('Filter records');
  await filter.pressSequentially('cou');
  await page.getByRole('option', { name: 'count' }).waitFor();
  await filter.press('Enter');
  await filter.pressSequentially(' > 10');
  await filter.press('Enter');
  await waitFor(() => hashQuery(page).get('filter') === 'count > 10', { what: 'filter in the URL' });
  await waitFor(async () => (await page.locator('tbody tr').count()) === 2, { what: 'two filtered rows' });
  await page.getByRole('button', { name: 'count', exact: false }).first().click();
  await waitFor(() => hashQuery(page).get('sort') === 'count', { what: 'sort in the URL' });
  const titles = async () => (await page.locator('tbody tr').allInnerTexts())
    .map((row) => ['hello world', 'second', 'third'].find((title) => row.includes(title)));
  await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['hello world', 'third']), { what: 'ascending order' });
  await page.getByRole('columnheader', { name: /count/ }).getByRole('button').click();
  await waitFor(async () => JSON.stringify(await titles()) === JSON.stringify(['third', 'hello world']), { what: 'descending order' });
  await page.getByRole('button', { name: 'Clear', exact: true }).first().click();
  await waitFor(async () => (await page.locator('tbody tr').count()) === 3, { what: 'all rows back' });

  // Edit a record, saved with Ctrl+S.
  await page.getByRole('row', { name: /second/ }).getByRole('link').click();
  const edit = page.getByRole('dialog', { name: 'Edit posts record' });
  await edit.getByLabel('title *').fill('second, edited');
  await page.keyboard.press('Control+s');
  await edit.waitFor({ state: 'detached' });
  await page.getByRole('row', { name: /second, edited/ }).waitFor();

  // A field error from the API shows next to its input.
  await page.getByRole('link', { name: '+ New record' }).click();
  const bad = page.getByRole('dialog', { name: 'New posts record' });
  await bad.getByLabel('title *').fill('third');
  watched.allow(/status of 400/);
  await bad.getByRole('button', { name: 'Create' }).click();
  await bad.locator('.field-error:not([hidden])').first().waitFor();
  await capture(page, 'record-editor-error');
  await page.keyboard.press('Escape');
  await bad.waitFor({ state: 'detached' });

  // Bulk delete two records.
  await page.locator('tbody').getByLabel(/^Select /).nth(0).check();
  await page.locator('tbody').getByLabel(/^Select /).nth(1).check();
  await page.getByRole('button', { name: 'Delete selected' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete 2 records?' });
  await capture(page, 'bulk-delete-confirm');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await waitFor(async () => (await apiCall(node, token, '/api/collections/posts/records')).json.totalItems === 1, { what: 'two records deleted' });
  await waitFor(async () => (await page.locator('tbody tr').count()) === 1, { what: 'one row left' });

  // Rename the collection: the confirmation says what changes.
  await page.getByRole('link', { name: 'Edit collection' }).click();
  const rename = page.getByRole('dialog', { name: 'Edit collection posts' });
  await rename.getByLabel('Name', { exact: true }).fill('articles');
  await rename.getByRole('button', { name: 'Save changes' }).click();
  const sure = page.getByRole('dialog', { name: 'Save changes to posts?' });
  await sure.getByText(/renamed from "posts" to "articles"/).waitFor();
  await sure.getByRole('button', { name: 'Save changes' }).click();
  await waitFor(() => page.url().endsWith('#/collections/articles'), { what: 'renamed collection page' });
  assert.equal((await apiCall(node, token, '/api/collections/articles')).status, 200);

  // An auth collection keeps the fields typed before its type was chosen.
  await page.getByRole('link', { name: '+ New collection' }).click();
  const auth = page.getByRole('dialog', { name: 'New collection' });
  await auth.getByLabel('Name', { exact: true }).fill('members');
  await auth.getByRole('button', { name: '+ Add field' }).click();
  await auth.getByRole('button', { name: 'number', exact: true }).click();
  await auth.locator('.field-card').last().locator('input.name').fill('level');
  await auth.getByLabel('Type').selectOption('auth');
  await auth.getByRole('tab', { name: 'Auth options' }).waitFor();
  await auth.getByRole('button', { name: 'Create', exact: true }).click();
  await waitFor(() => page.url().endsWith('#/collections/members'), { what: 'the new auth collection' });
  const members = (await apiCall(node, token, '/api/collections/members')).json;
  assert.equal(members.type, 'auth');
  assert.ok(['email', 'password', 'level', 'created'].every((name) => members.fields.some((f) => f.name === name)));

  watched.assertClean();
});
