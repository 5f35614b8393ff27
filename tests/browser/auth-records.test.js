// Auth records in the record editor: send the verification and password-reset emails (to a
// local SMTP sink), follow their links to the console's confirmation pages, impersonate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, upsertSuperuser, superuserToken, apiCall, stopAll, waitFor } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';
import { startSink } from './lib/smtp.js';

let node;
let browser;
let sink;
before(async () => {
  sink = await startSink();
  node = await startNode();
  upsertSuperuser(node);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await sink?.stop();
  await stopAll();
});

test('verification, password reset and impersonation of a user', { timeout: 120000 }, async () => {
  const token = await superuserToken(node);
  const set = await apiCall(node, token, '/api/settings', { method: 'PATCH', body: {
    meta: { senderAddress: 'console@example.com' }, smtp: { enabled: true, host: '127.0.0.1', port: sink.port } } });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const user = (await apiCall(node, token, '/api/collections/users/records', { method: 'POST',
    body: { email: 'dora@example.com', password: 'dora-password-1', passwordConfirm: 'dora-password-1' } })).json;

  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await login(page, node.url);
  await page.goto(`${node.url}/_/#/collections/users?record=${user.id}`);
  const editor = page.getByRole('dialog', { name: 'Edit users record' });
  await editor.getByLabel('email *').waitFor();
  assert.equal(await editor.getByLabel('email *').inputValue(), 'dora@example.com');
  await capture(page, 'auth-record-editor');

  // Esc closes the open menu first, not the panel around it.
  await editor.getByRole('button', { name: 'Actions' }).click();
  await editor.getByRole('button', { name: 'Impersonate' }).waitFor();
  await page.keyboard.press('Escape');
  await editor.getByRole('button', { name: 'Impersonate' }).waitFor({ state: 'hidden' });
  assert.equal(await editor.getByRole('button', { name: 'Actions' }).evaluate((b) => b === document.activeElement), true);
  assert.ok(await editor.isVisible());

  const sendVia = async (label) => {
    await editor.getByRole('button', { name: 'Actions' }).click();
    await editor.getByRole('button', { name: label }).click();
  };
  const linkIn = (kind) => sink.messages().map((m) => m.html.match(new RegExp(`#/auth/${kind}/([\\w.-]+)`))?.[1]).find(Boolean);
  await sendVia('Send verification email');
  const verifyToken = await waitFor(() => linkIn('confirm-verification'), { what: 'verification email' });
  await sendVia('Send password reset email');
  const resetToken = await waitFor(() => linkIn('confirm-password-reset'), { what: 'password reset email' });

  await sendVia('Impersonate');
  const dialog = page.getByRole('dialog', { name: 'Impersonate dora@example.com' });
  await dialog.getByLabel(/Token lifetime/).fill('600');
  await dialog.getByRole('button', { name: 'Create token' }).click();
  const minted = await dialog.getByLabel('Token', { exact: true });
  await minted.waitFor();
  await capture(page, 'impersonate');
  const asUser = await apiCall(node, await minted.inputValue(), `/api/collections/users/records/${user.id}`);
  assert.equal(asUser.status, 200, JSON.stringify(asUser.json));
  assert.equal(asUser.json.email, 'dora@example.com');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.keyboard.press('Escape');
  await editor.waitFor({ state: 'detached' });

  // The auth options of the collection, with an OAuth2 provider added.
  await page.getByRole('link', { name: 'Edit collection' }).click();
  const schema = page.getByRole('dialog', { name: 'Edit collection users' });
  await schema.getByRole('tab', { name: 'Auth options' }).click();
  await schema.getByText('OAuth2', { exact: true }).click();
  await schema.getByRole('button', { name: '+ Add provider' }).click();
  await schema.getByLabel(/^Provider/).first().waitFor();
  await schema.getByText('One-time password (OTP)').click();
  await schema.getByLabel('Code length').fill('6');
  await capture(page, 'auth-options');
  await schema.getByRole('button', { name: 'Remove provider' }).click();
  await page.keyboard.press('Control+s');
  await schema.waitFor({ state: 'detached' });
  const users = (await apiCall(node, token, '/api/collections/users')).json;
  assert.equal(users.otp.length, 6);
  watched.assertClean();

  // The links in those emails open the console's confirmation pages (signed out).
  const visitor = await openPage(browser, node.url);
  await visitor.page.goto(`${node.url}/_/#/auth/confirm-verification/${verifyToken}`);
  await visitor.page.getByRole('button', { name: 'Confirm email' }).click();
  await visitor.page.getByText('Confirmed.').waitFor();
  assert.equal((await apiCall(node, token, `/api/collections/users/records/${user.id}`)).json.verified, true);
  await visitor.page.goto(`${node.url}/_/#/auth/confirm-password-reset/${resetToken}`);
  await visitor.page.getByLabel('New password', { exact: true }).fill('dora-new-password-2');
  await visitor.page.getByLabel('Confirm new password').fill('dora-new-password-2');
  await capture(visitor.page, 'confirm-password-reset');
  await visitor.page.getByRole('button', { name: 'Save password' }).click();
  await visitor.page.getByText('Confirmed.').waitFor();
  const signIn = await fetch(`${node.url}/api/collections/users/auth-with-password`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'dora@example.com', password: 'dora-new-password-2' }) });
  assert.equal(signIn.status, 200);
  visitor.assertClean();
});
