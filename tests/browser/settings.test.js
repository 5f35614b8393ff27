// Settings through the console: application name, rate limits, logs, and mail with a test
// email that must arrive at a local SMTP sink.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, upsertSuperuser, superuserToken, apiCall, stopAll, waitFor } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';
import { startSink } from './lib/smtp.js';

let node;
let browser;
let token;
let sink;
before(async () => {
  sink = await startSink();
  node = await startNode();
  upsertSuperuser(node);
  token = await superuserToken(node);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await sink?.stop();
  await stopAll();
});

test('settings are saved and a test email arrives', { timeout: 180000 }, async () => {
  const watched = await openPage(browser, node.url, { colorScheme: 'dark' });
  const { page } = watched;
  await login(page, node.url);
  const settings = async () => (await apiCall(node, token, '/api/settings')).json;

  // Application: name and URL, saved with the button.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Application', level: 2 }).waitFor();
  await capture(page, 'settings-application-dark');
  await page.getByLabel('Application name').fill('Console Test App');
  await page.getByLabel('Application URL').fill('https://console.example.com');
  await page.getByLabel('Enable POST /api/batch').check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await waitFor(async () => (await settings()).meta.appName === 'Console Test App', { what: 'app name saved' });
  const saved = await settings();
  assert.equal(saved.meta.appURL, 'https://console.example.com');
  assert.equal(saved.batch.enabled, true);

  // An error from the API shows next to its input.
  await page.getByLabel('Application URL').fill('not a url');
  watched.allow(/status of 400/);
  await page.keyboard.press('Control+s');
  await page.locator('.field-error:not([hidden])').first().waitFor();
  await capture(page, 'settings-error');

  // Rate limits: enable, add a rule, saved with Ctrl+S.
  await page.getByRole('link', { name: 'Rate limits & access' }).click();
  await page.getByLabel('Enable rate limits').check();
  await page.getByRole('button', { name: '+ Add rule' }).click();
  const rules = (await settings()).rateLimits.rules.length;
  await page.getByLabel(`Label of rule ${rules + 1}`).fill('/api/collections/posts/records');
  await page.getByLabel(`Max requests of rule ${rules + 1}`).fill('55');
  await capture(page, 'settings-rate-limits-dark');
  await page.keyboard.press('Control+s');
  await waitFor(async () => (await settings()).rateLimits.rules.some((r) => r.label === '/api/collections/posts/records' && r.maxRequests === 55),
    { what: 'rate limit rule saved' });
  assert.equal((await settings()).rateLimits.enabled, true);

  // Logs settings.
  await page.getByRole('link', { name: 'Logs', exact: true }).last().click();
  await page.getByLabel('Keep logs for (days)').fill('9');
  await page.getByLabel('Lowest level kept').selectOption('Warning');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await waitFor(async () => (await settings()).logs.maxDays === 9, { what: 'log settings saved' });
  assert.equal((await settings()).logs.minLevel, 4);

  // Mail through the sink, then a test email.
  await page.getByRole('link', { name: 'Mail', exact: true }).click();
  await page.getByLabel('Sender address').fill('console@example.com');
  await page.getByLabel('Send through an SMTP server').check();
  await page.getByLabel('SMTP host').fill('127.0.0.1');
  await page.getByLabel('Port', { exact: true }).fill(String(sink.port));
  await capture(page, 'settings-mail-dark');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await waitFor(async () => (await settings()).smtp.port === sink.port, { what: 'SMTP settings saved' });
  await page.getByRole('button', { name: 'Send test email' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send a test email' });
  await dialog.getByLabel('To address').fill('someone@example.com');
  await dialog.getByLabel('Template').selectOption('password-reset');
  await capture(page, 'settings-test-email');
  await dialog.getByRole('button', { name: 'Send' }).click();
  await dialog.waitFor({ state: 'detached' });
  const mail = await waitFor(() => sink.messages()[0], { what: 'the test email at the sink' });
  assert.deepEqual(mail.to, ['someone@example.com']);
  assert.equal(mail.from, 'console@example.com');
  assert.match(mail.subject, /Console Test App/);

  // Storage: the S3 form shows, and its test reports the API's error when S3 is off.
  await page.getByRole('link', { name: 'File storage' }).click();
  await page.getByLabel('Store new files in S3').waitFor();
  await capture(page, 'settings-storage-dark');

  watched.assertClean();
});
