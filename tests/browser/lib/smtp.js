// The Python SMTP sink of tests/smtp/sink.py: every message lands as a JSON file in a dir.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { freePort, tempDir, waitFor } from './nodes.js';

const SINK = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'smtp', 'sink.py');

export async function startSink() {
  const port = await freePort();
  const dir = tempDir('smtp');
  const proc = spawn(process.env.PYTHON || 'python3', [SINK, '--port', String(port), '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (chunk) => { out += chunk; });
  await waitFor(() => out.includes('ready'), { timeoutMs: 15000, what: 'SMTP sink ready' });
  return {
    port,
    /** The messages received so far, oldest first. */
    messages: () => readdirSync(dir).filter((name) => name.endsWith('.json')).sort()
      .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8'))),
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    }),
  };
}
