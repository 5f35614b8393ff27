// Settings > Backups and Settings > Crons as a person uses them: a named backup made (the
// form busy while it runs), listed with its size, a bad and a taken name refused next to
// the input, downloaded, deleted after a confirmation, uploaded back; the backup schedule
// saved and a bad one refused; the jobs listed and run, a vanished one reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startNode, upsertSuperuser, superuserToken, apiCall, stopAll, waitFor } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';

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

const backups = async () => (await apiCall(node, token, '/api/backups')).json;
const settings = async () => (await apiCall(node, token, '/api/settings')).json;

test('backups: make, list, download, delete, upload, schedule', { timeout: 180000 }, async () => {
  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await login(page, node.url);
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Backups' }).click();
  await page.getByRole('heading', { name: 'Backups', level: 2, exact: true }).waitFor();
  await page.getByText('edgebase restore BACKUP --dir DIR').waitFor();
  await page.getByText('No backups yet.').waitFor();
  await capture(page, 'backups-empty');

  // A name PocketBase would refuse: the API's message shows under the input.
  const form = page.getByRole('form', { name: 'New backup' });
  const name = form.getByLabel('Name');
  watched.allow(/status of 400/);
  await name.fill('Not Valid.zip');
  await form.getByRole('button', { name: 'Create backup' }).click();
  await form.getByText('Must be in a valid format.').waitFor();
  assert.equal(await name.getAttribute('aria-invalid'), 'true');
  await form.getByText('An error occurred while validating the submitted data.').waitFor();
  await capture(page, 'backups-bad-name');

  // A good name, submitted with Enter. The request is held back so the busy state can be
  // seen: both forms are disabled and the page says what is going on.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/backups', async (route) => {
    if (route.request().method() === 'POST') await held;
    await route.continue();
  });
  await name.fill('console_test.zip');
  await name.press('Enter');
  const busy = form.getByRole('button', { name: 'Creating…' });
  await busy.waitFor();
  assert.equal(await busy.isDisabled(), true);
  assert.equal(await name.isDisabled(), true);
  assert.equal(await page.getByRole('form', { name: 'Upload a backup' }).getByRole('button', { name: 'Upload' }).isDisabled(), true);
  await page.getByRole('status').filter({ hasText: 'Creating the backup console_test.zip' }).waitFor();
  assert.equal(await name.getAttribute('aria-invalid'), null, 'the old error is cleared');
  await capture(page, 'backups-creating');
  release();
  await page.getByText('Backup console_test.zip created.').waitFor();
  await page.unroute('**/api/backups');
  const row = page.getByRole('row', { name: /console_test\.zip/ });
  await row.waitFor();
  const [made] = await backups();
  assert.equal(made.key, 'console_test.zip');
  assert.ok(made.size > 0);
  assert.match(await row.getByRole('cell').nth(1).innerText(), /^\d+(\.\d)? (B|KiB|MiB)$/);
  assert.equal(await name.isEnabled(), true);
  await capture(page, 'backups-list');

  // The same name again is taken.
  await name.fill('console_test.zip');
  await form.getByRole('button', { name: 'Create backup' }).click();
  await form.getByText('The backup file name is invalid or already exists.').waitFor();

  // Download: a file token, then the archive under its own name.
  const [download] = await Promise.all([page.waitForEvent('download'),
    row.getByRole('button', { name: 'Download console_test.zip' }).click()]);
  assert.equal(download.suggestedFilename(), 'console_test.zip');
  const archive = readFileSync(await download.path());
  assert.equal(archive.length, made.size);
  assert.equal(archive.subarray(0, 2).toString(), 'PK');

  // Delete, after a confirmation that names it.
  await row.getByRole('button', { name: 'Delete console_test.zip' }).click();
  const sure = page.getByRole('dialog', { name: 'Delete backup console_test.zip?' });
  await sure.getByText('This cannot be undone.').waitFor();
  await capture(page, 'backups-delete-confirm');
  await sure.getByRole('button', { name: 'Delete backup' }).click();
  await page.getByText('Backup console_test.zip deleted.').waitFor();
  await row.waitFor({ state: 'detached' });
  await page.getByText('No backups yet.').waitFor();
  assert.deepEqual(await backups(), []);

  // Upload: a file that is not a zip is refused next to the input; the downloaded archive
  // comes back under its name.
  const upload = page.getByRole('form', { name: 'Upload a backup' });
  await upload.getByLabel('Backup file').setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
  await upload.getByRole('button', { name: 'Upload' }).click();
  await upload.getByText('mime type must be one of: application/zip.').waitFor();
  assert.equal(await upload.getByLabel('Backup file').getAttribute('aria-invalid'), 'true');
  await capture(page, 'backups-upload-error');
  await upload.getByLabel('Backup file').setInputFiles({ name: 'console_test.zip', mimeType: 'application/zip', buffer: archive });
  await upload.getByRole('button', { name: 'Upload' }).click();
  await page.getByText('Backup console_test.zip uploaded.').waitFor();
  await row.waitFor();
  assert.deepEqual((await backups()).map((b) => b.key), ['console_test.zip']);

  // The schedule: off at first; on, with a preset, then a bad expression, then a good one.
  const schedule = page.getByRole('form', { name: 'Scheduled backups' });
  const enabled = schedule.getByLabel('Make backups on a schedule');
  assert.equal(await enabled.isChecked(), false);
  await enabled.check();
  const cron = schedule.getByLabel('Schedule (cron, UTC)');
  assert.equal(await cron.inputValue(), '0 0 * * *');
  await schedule.getByRole('button', { name: 'Every 6 hours' }).click();
  assert.equal(await cron.inputValue(), '0 */6 * * *');
  await cron.fill('every day');
  await schedule.getByRole('button', { name: 'Save changes' }).click();
  await schedule.getByText('Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.').waitFor();
  assert.equal(await cron.getAttribute('aria-invalid'), 'true');
  await capture(page, 'backups-schedule-error');
  assert.equal((await settings()).backups.cron, '');
  await cron.fill('30 2 * * *');
  await schedule.getByLabel('Scheduled backups to keep').fill('5');
  await page.keyboard.press('Control+s');
  await page.getByText('Backups are scheduled: 30 2 * * * (UTC).').waitFor();
  assert.equal(await cron.getAttribute('aria-invalid'), null);
  const saved = (await settings()).backups;
  assert.equal(saved.cron, '30 2 * * *');
  assert.equal(saved.cronMaxKeep, 5);

  // After a reload the page shows what is stored.
  await page.reload();
  await cron.waitFor();
  assert.equal(await schedule.getByLabel('Make backups on a schedule').isChecked(), true);
  assert.equal(await cron.inputValue(), '30 2 * * *');
  await capture(page, 'backups-schedule');

  // Off again.
  await schedule.getByLabel('Make backups on a schedule').uncheck();
  assert.equal(await cron.isVisible(), false);
  await schedule.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Scheduled backups are off.').waitFor();
  assert.equal((await settings()).backups.cron, '');

  // S3 for backups, turned on without a bucket and folded away: the errors unfold it.
  await schedule.getByText('S3 for backups (stored only)').click();
  await schedule.getByText('saved with the others, for PocketBase compatibility, but not used').waitFor();
  await schedule.getByLabel('Store backups in S3').check();
  await schedule.getByText('S3 for backups (stored only)').click();
  assert.equal(await schedule.getByLabel('Bucket').isVisible(), false);
  await schedule.getByRole('button', { name: 'Save changes' }).click();
  const bucket = schedule.getByLabel('Bucket');
  await waitFor(() => bucket.isVisible(), { what: 'the S3 section unfolded' });
  assert.equal(await bucket.getAttribute('aria-invalid'), 'true');
  assert.equal(await schedule.getByLabel('Endpoint').evaluate((input) => input === document.activeElement), true);
  await capture(page, 'backups-s3-error');
  assert.equal((await settings()).backups.s3.enabled, false);
  watched.assertClean();
});

test('crons: listed, run now, a vanished job reported', { timeout: 120000 }, async () => {
  assert.equal((await apiCall(node, token, '/api/settings', { method: 'PATCH', body: { backups: { cron: '@daily' } } })).status, 200);
  const count = (await backups()).length;
  const watched = await openPage(browser, node.url, { colorScheme: 'dark' });
  const { page } = watched;
  await login(page, node.url);
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Crons' }).click();
  await page.getByRole('heading', { name: 'Crons', level: 2 }).waitFor();
  for (const id of ['__pbDBOptimize__', '__pbMFACleanup__', '__pbOTPCleanup__', '__pbLogsCleanup__', '__pbAutoBackup__']) {
    await page.getByRole('row', { name: new RegExp(id) }).waitFor();
  }
  assert.match(await page.getByRole('row', { name: /__pbAutoBackup__/ }).innerText(), /@daily/);
  assert.match(await page.getByRole('row', { name: /__pbLogsCleanup__/ }).innerText(), /0 \*\/6 \* \* \*/);
  await capture(page, 'crons-dark');

  // Run one with the keyboard.
  await page.getByRole('button', { name: 'Run __pbOTPCleanup__ now' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('__pbOTPCleanup__ started on this node.').waitFor();
  await capture(page, 'crons-run-dark');

  // The backup job makes a backup, which the Backups page then lists.
  await page.getByRole('button', { name: 'Run __pbAutoBackup__ now' }).click();
  await page.getByText('__pbAutoBackup__ started on this node.').waitFor();
  const auto = await waitFor(async () => (await backups()).find((b) => b.key.startsWith('@auto_pb_backup_')),
    { timeoutMs: 30000, what: 'the scheduled backup' });
  assert.equal((await backups()).length, count + 1);

  // The schedule is turned off elsewhere: running the job now is refused, the notice says
  // so, and the list drops it.
  assert.equal((await apiCall(node, token, '/api/settings', { method: 'PATCH', body: { backups: { cron: '' } } })).status, 200);
  watched.allow(/status of 404/);
  await page.getByRole('button', { name: 'Run __pbAutoBackup__ now' }).click();
  await page.getByText('Cannot run __pbAutoBackup__: Missing or invalid cron job.').waitFor();
  await page.getByRole('row', { name: /__pbAutoBackup__/ }).waitFor({ state: 'detached' });

  // The scheduled backup (its key has an "@") downloads and deletes like any other.
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Backups' }).click();
  const row = page.getByRole('row', { name: new RegExp(auto.key.replace(/[.]/g, '\\.')) });
  await row.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'),
    row.getByRole('button', { name: `Download ${auto.key}` }).click()]);
  assert.equal(readFileSync(await download.path()).length, auto.size);
  await row.getByRole('button', { name: `Delete ${auto.key}` }).click();
  await page.getByRole('dialog', { name: `Delete backup ${auto.key}?` }).getByRole('button', { name: 'Delete backup' }).click();
  await row.waitFor({ state: 'detached' });
  assert.ok(!(await backups()).some((b) => b.key === auto.key));
  watched.assertClean();
});
