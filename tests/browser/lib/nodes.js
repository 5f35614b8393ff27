// Real edgebase processes for the browser tests: free ports, temp data dirs, health waits,
// 3-node clusters with their own CA, and cleanup of every process started.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export const BIN = process.env.EDGEBASE_BIN || '/root/.cache/edgebase-target/debug/edgebase';
export const EMAIL = 'admin@example.com';
export const PASSWORD = 'a-long-password1';

const started = new Set();
const dirs = [];

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor(check, { timeoutMs = 20000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
}

/** A fresh temp dir, removed by stopAll() unless EB_KEEP_DATA is set (to read node logs). */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `eb-console-${prefix}-`));
  dirs.push(dir);
  return dir;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A port whose successor is free too (a node's Raft address defaults to HTTP port + 1). */
async function freePortPair() {
  for (;;) {
    const port = await freePort();
    const ok = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 1, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

/**
 * Starts `edgebase serve` and waits for /api/health. Returns {url, dir, proc, output(),
 * args} where output() is everything it printed so far.
 */
export async function startNode({ dir = tempDir('node'), port, raftPort, certs, join: joinAddr, region, extra = [] } = {}) {
  const httpPort = port || await freePortPair();
  const args = ['serve', '--dir', dir, '--http', `127.0.0.1:${httpPort}`];
  if (raftPort) args.push('--raft', `127.0.0.1:${raftPort}`);
  if (certs) args.push('--certs', certs);
  if (joinAddr) args.push('--join', joinAddr);
  if (region) args.push('--region', region);
  args.push(...extra);
  const node = { url: `http://127.0.0.1:${httpPort}`, dir, args, port: httpPort, raftPort };
  spawnNode(node);
  await waitFor(async () => (await fetch(`${node.url}/api/health`)).ok, { timeoutMs: 60000, what: `${node.url} health` });
  return node;
}

function spawnNode(node) {
  let text = '';
  const log = createWriteStream(join(node.dir, 'console-test.log'), { flags: 'a' });
  const proc = spawn(BIN, node.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [proc.stdout, proc.stderr]) {
    stream.on('data', (chunk) => {
      text += chunk;
      log.write(chunk);
    });
  }
  proc.on('exit', () => {
    started.delete(proc);
    log.end();
  });
  started.add(proc);
  node.proc = proc;
  node.output = () => text;
}

/** Starts a killed node again with the same command. */
export async function restartNode(node) {
  spawnNode(node);
  await waitFor(async () => (await fetch(`${node.url}/api/health`)).ok, { timeoutMs: 60000, what: `${node.url} health after restart` });
}

export function killNode(node, signal = 'SIGKILL') {
  return new Promise((resolve) => {
    if (node.proc.exitCode !== null || node.proc.signalCode) return resolve();
    node.proc.once('exit', () => resolve());
    node.proc.kill(signal);
  });
}

export async function stopAll() {
  await Promise.all([...started].map((proc) => new Promise((resolve) => {
    proc.once('exit', resolve);
    proc.kill('SIGKILL');
  })));
  if (process.env.EB_KEEP_DATA) {
    console.log(`data dirs kept: ${dirs.join(' ')}`);
  } else {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

process.on('exit', () => {
  for (const proc of started) proc.kill('SIGKILL');
});

export function upsertSuperuser(node, email = EMAIL, password = PASSWORD) {
  execFileSync(BIN, ['superuser', 'upsert', email, password, '--dir', node.dir], { stdio: 'pipe' });
}

/** The superuser token, through the API. */
export async function superuserToken(node, email = EMAIL, password = PASSWORD) {
  const response = await fetch(`${node.url}/api/collections/_superusers/auth-with-password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: email, password }) });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return (await response.json()).token;
}

export async function apiCall(node, token, path, { method = 'GET', body } = {}) {
  const response = await fetch(`${node.url}${path}`, { method, headers: { Authorization: token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** Three voters with certificates from one fresh CA, joined through node 1. */
export async function startCluster() {
  const root = tempDir('cluster');
  execFileSync(BIN, ['certs', 'ca', '--out', join(root, 'ca')], { stdio: 'pipe' });
  const nodes = [];
  for (const id of [1, 2, 3]) {
    const certs = join(root, `certs${id}`);
    execFileSync(BIN, ['certs', 'node', '--ca', join(root, 'ca'), '--node-id', String(id), '--host', '127.0.0.1', '--out', certs], { stdio: 'pipe' });
    const dir = join(root, `n${id}`);
    mkdirSync(dir, { recursive: true });
    const port = await freePortPair();
    const raftPort = await freePort();
    const joinAddr = id === 1 ? undefined : `127.0.0.1:${nodes[0].raftPort}`;
    nodes.push(await startNode({ dir, port, raftPort, certs, join: joinAddr, region: id === 3 ? 'us' : 'eu' }));
    nodes[nodes.length - 1].id = id;
  }
  return nodes;
}
