import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKey } from '@modelplane/core';
import { afterAll, expect, it } from 'vitest';
import { serveProcess } from './support/server.ts';
import { validMetadata } from './support/registry-client.ts';
import { makeTempDir, repoRoot } from './support/tmp.ts';

const tmp = makeTempDir('crash');
const adminKey = generateApiKey().token;
const config = join(tmp.dir, 'modelplane.config.yaml');
writeFileSync(config, `server: { port: 0, logLevel: warn }\nstorage: { dataDir: data }\nauth: { adminKey: ${adminKey} }\n`);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  tmp.remove();
});

const serve = () => serveProcess(config, children);

const auth = { authorization: `Bearer ${adminKey}` };

it('a server killed with SIGKILL mid-upload leaves no version and no partial blob, and restarts cleanly', async () => {
  const first = await serve();
  const blob = await fetch(`${first.url}/api/v1/blobs`, { method: 'POST', headers: auth, body: 'kept bytes' });
  const kept = (await blob.json()) as { digest: string; size: number };
  const registered = await fetch(`${first.url}/api/v1/models/survivor/versions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ version: '1.0.0', files: [{ path: 'w.bin', digest: kept.digest, size: kept.size }], metadata: validMetadata() }),
  });
  expect(registered.status).toBe(201);

  // An upload that never ends: the server is killed while it is writing.
  let sent = 0;
  const endless = new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      sent += 65536;
      controller.enqueue(new Uint8Array(65536).fill(7));
    },
  });
  const upload = fetch(`${first.url}/api/v1/blobs`, { method: 'POST', headers: auth, body: endless, duplex: 'half' } as RequestInit).catch(
    (error: Error) => error,
  );
  while (sent < 2_000_000) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(readdirSync(join(tmp.dir, 'data', 'blobs', 'tmp'))).toHaveLength(1);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  expect(await upload).toBeInstanceOf(Error);

  const second = await serve();
  expect(readdirSync(join(tmp.dir, 'data', 'blobs', 'tmp'))).toEqual([]);
  const blobs = readdirSync(join(tmp.dir, 'data', 'blobs', 'sha256'), { recursive: true }).filter((name) => String(name).length > 60);
  expect(blobs).toEqual([expect.stringContaining(kept.digest.slice(7))]);
  const survivor = await fetch(`${second.url}/api/v1/models/survivor/versions/1.0.0/files/w.bin`, { headers: auth });
  expect(await survivor.text()).toBe('kept bytes');
  const models = (await (await fetch(`${second.url}/api/v1/models`, { headers: auth })).json()) as { models: Array<{ name: string }> };
  expect(models.models.map((m) => m.name)).toEqual(['survivor']);
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
});

it('a second server on the same data directory is refused while the first runs, and its uploads are left alone', async () => {
  const first = await serve();
  let sent = 0;
  let chunks = 0;
  const body = new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (chunks++ === 60) return controller.close();
      sent += 65536;
      controller.enqueue(new Uint8Array(65536).fill(9));
    },
  });
  const upload = fetch(`${first.url}/api/v1/blobs`, { method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit);
  while (sent < 1_000_000) await new Promise((resolve) => setTimeout(resolve, 20));

  const second = spawn(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'core/bin/modelplane.js'), 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(second);
  let output = '';
  second.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  second.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const [code] = (await once(second, 'exit')) as [number];
  expect(code).not.toBe(0);
  expect(output).toContain('MP_ERR_DATA_DIR_LOCKED');
  expect(output).not.toContain('listening on');

  expect((await upload).status).toBe(201);
  first.child.kill('SIGTERM');
  await once(first.child, 'exit');
});
