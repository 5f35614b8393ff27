// Getting in: the first-run installer link printed by `serve`, wrong passwords, the password
// reset request, and two-step sign-in (password, then a one-time code) with MFA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, upsertSuperuser, superuserToken, apiCall, stopAll, waitFor, EMAIL, PASSWORD } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';
import { startSink } from './lib/smtp.js';

let browser;
let sink;
before(async () => {
  browser = await launch();
  sink = await startSink();
});
after(async () => {
  await browser?.close();
  await sink?.stop();
  await stopAll();
});

test('the installer link creates the first superuser and signs in', { timeout: 120000 }, async () => {
  const node = await startNode();
  const link = await waitFor(() => node.output().match(/https?:\/\/\S+\/_\/#\/pbinstall\/[\w.-]+/)?.[0],
    { timeoutMs: 15000, what: 'the installer link in the output of serve' });
  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await page.goto(link.replace(/^https?:\/\/[^/]+/, node.url));
  await page.getByRole('heading', { name: 'Welcome to EdgeBase' }).waitFor();
  await capture(page, 'installer');
  await page.getByLabel('Email').fill('first@example.com');
  await page.getByLabel('Password', { exact: true }).fill('first-password-1');
  await page.getByLabel('Confirm password').fill('first-password-1');
  await page.getByRole('button', { name: 'Create superuser and sign in' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
  await superuserToken(node, 'first@example.com', 'first-password-1');
  watched.assertClean();
});

/** Sends the node's mail to the sink. */
async function mailToSink(node, token) {
  const set = await apiCall(node, token, '/api/settings', { method: 'PATCH', body: {
    meta: { senderAddress: 'console@example.com' }, smtp: { enabled: true, host: '127.0.0.1', port: sink.port } } });
  assert.equal(set.status, 200, JSON.stringify(set.json));
}

test('wrong password, password reset request, theme, sign out', { timeout: 120000 }, async () => {
  const node = await startNode();
  upsertSuperuser(node);
  await mailToSink(node, await superuserToken(node));
  const sentBefore = sink.messages().length;
  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await page.goto(`${node.url}/_/#/collections`);
  await waitFor(() => page.url().includes('#/login'), { what: 'redirect to the login page' });
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Failed to authenticate' }).waitFor();
  watched.allow(/status of 400/);
  await capture(page, 'login-error');

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  // The login page's Email input is there until the reset page replaces it.
  await page.getByRole('button', { name: 'Send reset link' }).waitFor();
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  await capture(page, 'password-reset-sent');
  const mail = await waitFor(() => sink.messages()[sentBefore], { what: 'the password reset email' });
  assert.deepEqual(mail.to, [EMAIL]);
  assert.match(mail.html, /confirm-password-reset/);

  await login(page, node.url);
  // The theme toggle overrides the system's light theme and is remembered.
  await page.getByRole('button', { name: 'Dark theme' }).click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.reload();
  await page.getByRole('button', { name: 'Dark theme', pressed: true }).waitFor();
  await capture(page, 'collections-dark');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('edgebase.superuser')), null);
  watched.assertClean();
});

test('MFA: password then an emailed code, and a code then the password', { timeout: 120000 }, async () => {
  const node = await startNode();
  upsertSuperuser(node);
  const token = await superuserToken(node);
  await mailToSink(node, token);
  const mfa = await apiCall(node, token, '/api/collections/_superusers', { method: 'PATCH', body: { mfa: { enabled: true }, otp: { enabled: true } } });
  assert.equal(mfa.status, 200, JSON.stringify(mfa.json));
  const sentBefore = sink.messages().length;

  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await page.goto(`${node.url}/_/#/login`);
  await page.getByRole('button', { name: 'Sign in with a one-time code' }).waitFor();
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  watched.allow(/status of 401/);
  await page.getByLabel('One-time code').waitFor();
  await capture(page, 'login-mfa-code');
  const mail = await waitFor(() => sink.messages()[sentBefore], { what: 'the OTP email' });
  const code = mail.html.match(/<strong>(\w+)<\/strong>/)?.[1];
  assert.ok(code, `no code in ${mail.html}`);
  await page.getByLabel('One-time code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();

  // The other order: a one-time code first, then the password as the second factor.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in with a one-time code' }).click();
  await page.getByLabel('Email').fill(EMAIL);
  const sent = sink.messages().length;
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('One-time code').waitFor();
  const second = await waitFor(() => sink.messages()[sent], { what: 'the second OTP email' });
  await page.getByLabel('One-time code').fill(second.html.match(/<strong>(\w+)<\/strong>/)[1]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByText('Your code was accepted.').waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
  watched.assertClean();
});
