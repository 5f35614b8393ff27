// The cluster page on three nodes: actions say their effect on quorum first; leadership
// moves on request; a SIGKILLed follower shows as unreachable; killing the leader shows a new one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, upsertSuperuser, superuserToken, apiCall, killNode, restartNode, stopAll, waitFor } from './lib/nodes.js';
import { launch, openPage, login, capture } from './lib/browser.js';

let nodes;
let browser;
before(async () => {
  nodes = await startCluster();
  upsertSuperuser(nodes[0]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

test('cluster status, actions and failures', { timeout: 240000 }, async () => {
  const token = await superuserToken(nodes[0]);
  const status = async (node) => (await apiCall(node, token, '/api/cluster/status')).json;
  await waitFor(async () => {
    const s = await status(nodes[0]);
    return s.members.length === 3 && s.members.every((m) => m.role === 'voter' && m.reachable);
  }, { timeoutMs: 60000, what: 'three reachable voters' });

  // Browse from a node that is not the leader; the others are the leader and a follower.
  const leaderId = (await status(nodes[0])).leaderId;
  const viewer = nodes.find((n) => n.id !== leaderId);
  const watched = await openPage(browser, viewer.url, { colorScheme: 'dark' });
  const { page } = watched;
  await login(page, viewer.url);
  await page.getByRole('link', { name: 'Cluster' }).click();
  const stat = (label) => page.locator('.stat', { has: page.locator('.label', { hasText: new RegExp(`^${label}$`) }) }).locator('.value');
  await waitFor(async () => (await stat('Leader').innerText()) === String(leaderId), { what: 'leader shown' });
  assert.equal(await stat('Quorum').innerText(), '2 of 3');
  assert.equal(await stat('Can fail now').innerText(), '1');
  const row = (id) => page.locator(`tbody tr[data-node="${id}"]`);
  await row(3).getByText('us').waitFor();
  await capture(page, 'cluster');

  // Removing a voter: the dialog states the effect first; cancelled.
  const follower = nodes.find((n) => n.id !== leaderId && n !== viewer);
  await page.getByRole('button', { name: `Remove node ${follower.id}` }).click();
  const remove = page.getByRole('dialog', { name: `Remove node ${follower.id}?` });
  await remove.getByText('Voters: 3 → 2. Quorum (votes needed for a write or an election): 2 → 2.').waitFor();
  await remove.getByText('Voters that can fail without stopping writes: 1 now → 0 after.').waitFor();
  await capture(page, 'cluster-remove-confirm');
  await remove.getByRole('button', { name: 'Cancel' }).click();
  await remove.waitFor({ state: 'detached' });

  // Transfer leadership to the viewer's node.
  await page.getByRole('button', { name: `Make leader node ${viewer.id}` }).click();
  const transfer = page.getByRole('dialog', { name: `Make node ${viewer.id} the leader?` });
  await transfer.getByText(/Quorum \(2 of 3\) and fault tolerance \(1\) do not change/).waitFor();
  await transfer.getByRole('button', { name: 'Transfer leadership' }).click();
  await waitFor(async () => (await stat('Leader').innerText()) === String(viewer.id), { timeoutMs: 30000, what: 'leadership moved to the viewer' });

  // A SIGKILLed follower shows as unreachable, and fault tolerance drops to 0.
  const victim = nodes.find((n) => n !== viewer);
  await killNode(victim);
  await waitFor(async () => (await row(victim.id).innerText()).includes('unreachable'), { timeoutMs: 30000, what: `node ${victim.id} unreachable` });
  await waitFor(async () => (await stat('Can fail now').innerText()) === '0', { what: 'fault tolerance 0' });
  await capture(page, 'cluster-follower-down');
  await restartNode(victim);
  await waitFor(async () => (await row(victim.id).innerText()).includes('reachable') && !(await row(victim.id).innerText()).includes('unreachable'),
    { timeoutMs: 60000, what: `node ${victim.id} reachable again` });

  // Killing the leader: browse from a survivor, which shows another leader.
  const survivor = victim;
  const survivorPage = await openPage(browser, survivor.url);
  await login(survivorPage.page, survivor.url);
  await survivorPage.page.getByRole('link', { name: 'Cluster' }).click();
  const stat2 = (label) => survivorPage.page.locator('.stat', { has: survivorPage.page.locator('.label', { hasText: new RegExp(`^${label}$`) }) }).locator('.value');
  await waitFor(async () => (await stat2('Leader').innerText()) === String(viewer.id), { timeoutMs: 60000, what: 'survivor shows the leader' })
    .catch(async (error) => {
      throw new Error(`${error.message}; the page shows: ${await survivorPage.page.locator('main').innerText()}`);
    });
  // The first page's node is about to die: check it, then close it.
  watched.assertClean();
  await watched.page.close();
  await killNode(viewer);
  // Status requests may fail while a new leader is elected; the page says so and retries.
  survivorPage.allow(/status of 5\d\d/);
  await waitFor(async () => {
    const shown = await stat2('Leader').innerText();
    return shown !== String(viewer.id) && shown !== 'none';
  }, { timeoutMs: 30000, what: 'a new leader shown' });
  await waitFor(async () => (await survivorPage.page.locator(`tbody tr[data-node="${viewer.id}"]`).innerText()).includes('unreachable'),
    { timeoutMs: 30000, what: 'old leader unreachable' });
  await capture(survivorPage.page, 'cluster-new-leader');
  survivorPage.assertClean();
});
