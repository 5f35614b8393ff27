// Settings > Backups and Settings > Crons as a person uses them: a named backup made (the
// form busy while it runs), listed with its size, a bad and a taken name refused next to
// the input, downloaded, deleted after a confirmation, uploaded back; the backup schedule
// saved and a bad one refused; the jobs listed and run, a vanished one reported; a backup
// restored into the running cluster (by keyboard, its name typed to confirm), a vanished
// one refused in the dialog, and a superuser the backup does not know signed out.
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

test('restore: the cluster goes back to a backup, through the console', { timeout: 180000 }, async () => {
  // A collection with one record, a backup of it, then a second record and a second
  // collection that the restore must take away.
  const made = await apiCall(node, token, '/api/collections', { method: 'POST',
    body: { name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text', presentable: true }] } });
  assert.equal(made.status, 200, JSON.stringify(made.json));
  const record = async (title) => {
    const answer = await apiCall(node, token, '/api/collections/notes/records', { method: 'POST', body: { title } });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    return answer.json;
  };
  const first = await record('first note');
  const backup = await apiCall(node, token, '/api/backups', { method: 'POST', body: { name: 'before_second.zip' } });
  assert.equal(backup.status, 204, JSON.stringify(backup.json));
  const second = await record('second note');
  assert.equal((await apiCall(node, token, '/api/collections', { method: 'POST', body: { name: 'later', type: 'base' } })).status, 200);
  const notes = async () => (await apiCall(node, token, '/api/collections/notes/records?sort=title')).json.items.map((r) => r.id);
  assert.deepEqual(await notes(), [first.id, second.id]);

  const watched = await openPage(browser, node.url);
  const { page } = watched;
  await login(page, node.url);
  // The console has read the collections before the restore: both show.
  const side = page.getByRole('navigation', { name: 'Collections' });
  await side.getByRole('link', { name: 'later' }).waitFor();
  await side.getByRole('link', { name: 'notes' }).click();
  await page.getByRole('row', { name: /second note/ }).waitFor();
  await page.getByRole('row', { name: /first note/ }).waitFor();

  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Backups' }).click();
  // The page says that a restore happens here, and how to start a new cluster from a backup.
  await page.getByText('Restore replaces this cluster’s data with a backup’s').waitFor();
  await page.getByText('edgebase restore BACKUP --dir DIR').waitFor();
  const row = page.getByRole('row', { name: /before_second\.zip/ });
  await row.waitFor();

  // By keyboard: the row's Restore button, then a dialog that says what will happen.
  await row.getByRole('button', { name: 'Restore before_second.zip' }).focus();
  await page.keyboard.press('Enter');
  const sure = page.getByRole('dialog', { name: 'Restore backup before_second.zip?' });
  await sure.getByText('The whole cluster’s data becomes the backup’s, on every node').waitFor();
  await sure.getByText('Every change made since then is lost.').waitFor();
  await sure.getByText('The list of backups is kept as it is.').waitFor();
  await sure.getByText('your session may end').waitFor();
  const typed = sure.getByLabel('Type before_second.zip to confirm');
  assert.equal(await typed.evaluate((input) => input === document.activeElement), true, 'the name input has focus');
  await capture(page, 'backups-restore-confirm');

  // A name that does not match is refused in the dialog; nothing is sent.
  let restores = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/restore')) restores += 1;
  });
  await page.keyboard.type('before_second');
  await page.keyboard.press('Enter');
  await sure.getByText('Type before_second.zip exactly to confirm.').waitFor();
  assert.equal(await typed.getAttribute('aria-invalid'), 'true');
  assert.equal(restores, 0);

  // The right name, with Enter. The request is held back so the progress can be seen: the
  // dialog stays open (Esc does not close it) and says what is going on.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/backups/*/restore', async (route) => {
    await held;
    await route.continue();
  });
  await typed.fill('before_second.zip');
  await page.keyboard.press('Enter');
  const busy = sure.getByRole('button', { name: 'Restoring…' });
  await busy.waitFor();
  assert.equal(await busy.isDisabled(), true);
  assert.equal(await sure.getByRole('button', { name: 'Cancel' }).isDisabled(), true);
  assert.equal(await typed.isDisabled(), true);
  assert.equal(await typed.getAttribute('aria-invalid'), null, 'the old error is cleared');
  await sure.getByRole('status').filter({ hasText: 'Restoring before_second.zip on every node.' }).waitFor();
  await capture(page, 'backups-restoring');
  assert.equal(await sure.getByRole('button', { name: 'Close' }).isDisabled(), true);
  await page.keyboard.press('Escape');
  await page.mouse.click(5, 5); // the backdrop
  assert.equal(await sure.isVisible(), true, 'the dialog stays open while the restore runs');
  release();
  await page.getByText('Backup before_second.zip restored: the cluster’s data is now the backup’s.').waitFor();
  await sure.waitFor({ state: 'detached' });
  await page.unroute('**/api/backups/*/restore');
  assert.equal(restores, 1);
  // The backup list is kept, and focus is back on the row's Restore button.
  await row.waitFor();
  await waitFor(() => row.getByRole('button', { name: 'Restore before_second.zip' }).evaluate((button) => button === document.activeElement),
    { what: 'focus back on the Restore button' });
  assert.ok((await backups()).some((b) => b.key === 'before_second.zip'));
  await capture(page, 'backups-restored');

  // Through the API: the first record is there, the second and the later collection gone.
  assert.deepEqual(await notes(), [first.id]);
  assert.equal((await apiCall(node, token, `/api/collections/notes/records/${second.id}`)).status, 404);
  assert.equal((await apiCall(node, token, '/api/collections/later')).status, 404);

  // In the records page: the same, and the console's list of collections is the backup's.
  await page.getByRole('navigation', { name: 'Sections', exact: true }).getByRole('link', { name: 'Collections', exact: true }).click();
  await side.getByRole('link', { name: 'notes' }).click();
  await page.getByRole('row', { name: /first note/ }).waitFor();
  assert.equal(await page.getByRole('row', { name: /second note/ }).count(), 0);
  assert.equal(await side.getByRole('link', { name: 'later' }).count(), 0);
  await page.getByText('1 record · page 1 of 1').waitFor();
  await capture(page, 'backups-restored-records');

  // A backup deleted while its dialog is open: the API's refusal shows in the dialog.
  assert.equal((await apiCall(node, token, '/api/backups', { method: 'POST', body: { name: 'short_lived.zip' } })).status, 204);
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Backups' }).click();
  const gone = page.getByRole('row', { name: /short_lived\.zip/ });
  await gone.getByRole('button', { name: 'Restore short_lived.zip' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore backup short_lived.zip?' });
  await dialog.getByLabel('Type short_lived.zip to confirm').fill('short_lived.zip');
  assert.equal((await apiCall(node, token, '/api/backups/short_lived.zip', { method: 'DELETE' })).status, 204);
  watched.allow(/status of 400/);
  await dialog.getByRole('button', { name: 'Restore backup' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'Missing or invalid backup file.' }).waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Restore backup' }).isEnabled(), true);
  await capture(page, 'backups-restore-error');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  await gone.waitFor({ state: 'detached' });
  assert.deepEqual(await notes(), [first.id]);
  watched.assertClean();
});

test('restore: a superuser the backup does not know is signed out', { timeout: 120000 }, async () => {
  const email = 'newer@example.com';
  const password = 'newer-password-1';
  const added = await apiCall(node, token, '/api/collections/_superusers/records', { method: 'POST',
    body: { email, password, passwordConfirm: password } });
  assert.equal(added.status, 200, JSON.stringify(added.json));
  const watched = await openPage(browser, node.url, { colorScheme: 'dark' });
  const { page } = watched;
  await login(page, node.url, email, password);
  // The collections page opens its first collection once its list arrives; let it, so the
  // click below is not overtaken by that redirect.
  await page.waitForURL(/#\/collections\/[^/?]+/);
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Backups' }).click();
  await page.getByRole('button', { name: 'Restore before_second.zip' }).click();
  const sure = page.getByRole('dialog', { name: 'Restore backup before_second.zip?' });
  await sure.getByLabel('Type before_second.zip to confirm').fill('before_second.zip');
  // The session is checked after the restore; its refusal is the expected sign-out.
  watched.allow(/status of 401/);
  await sure.getByRole('button', { name: 'Restore backup' }).click();
  await page.getByText('Backup before_second.zip restored. Your session ended').waitFor();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  await capture(page, 'backups-restore-signed-out-dark');
  const gone = await fetch(`${node.url}/api/collections/_superusers/auth-with-password`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: email, password }) });
  assert.equal(gone.status, 400);
  // The backup's superuser signs in and finds the backup's data.
  await login(page, node.url);
  await page.getByRole('navigation', { name: 'Collections' }).getByRole('link', { name: 'notes' }).click();
  await page.getByRole('row', { name: /first note/ }).waitFor();
  assert.equal(await page.getByRole('row', { name: /second note/ }).count(), 0);
  watched.assertClean();
});
