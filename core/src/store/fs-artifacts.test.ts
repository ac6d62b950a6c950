import { DatabaseSync } from 'node:sqlite';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from '../../../test/support/tmp.ts';
import { FilesystemArtifactStore } from './fs-artifacts.ts';
import { SqliteMetadataStore } from './sqlite-metadata.ts';

const temps: Array<{ remove(): void }> = [];
const tempDir = () => {
  const t = makeTempDir('store');
  temps.push(t);
  return t.dir;
};
afterEach(() => {
  for (const t of temps.splice(0)) t.remove();
});

describe('FilesystemArtifactStore', () => {
  it('stores by sha256, dedupes, and streams back what it stored', async () => {
    const store = new FilesystemArtifactStore(tempDir());
    const put = await store.put(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(put).toEqual({ digest: 'sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9', size: 11, created: true });
    expect((await store.put(Readable.from([Buffer.from('hello world')]))).created).toBe(false);
    expect(await text(store.open(put.digest))).toBe('hello world');
    const listed: string[] = [];
    for await (const digest of store.list()) listed.push(digest);
    expect(listed).toEqual([put.digest]);
  });

  it('refuses bytes that do not match the expected digest and keeps nothing', async () => {
    const dir = tempDir();
    const store = new FilesystemArtifactStore(dir);
    await expect(
      store.put(Readable.from([Buffer.from('abc')]), { expectedDigest: `sha256:${'0'.repeat(64)}` }),
    ).rejects.toMatchObject({ code: 'MP_ERR_DIGEST_MISMATCH' });
    expect(readdirSync(join(dir, 'blobs', 'tmp'))).toEqual([]);
    expect(readdirSync(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('enforces maxBytes while streaming', async () => {
    const store = new FilesystemArtifactStore(tempDir());
    await expect(store.put(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), { maxBytes: 15 })).rejects.toMatchObject({ code: 'MP_ERR_BLOB_TOO_LARGE' });
  });

  it('fails a read whose stored bytes were corrupted on disk', async () => {
    const dir = tempDir();
    const store = new FilesystemArtifactStore(dir);
    const { digest } = await store.put(Readable.from([Buffer.alloc(100_000, 9)]));
    const hex = digest.slice('sha256:'.length);
    writeFileSync(join(dir, 'blobs', 'sha256', hex.slice(0, 2), hex), Buffer.alloc(100_000, 8));
    await expect(text(store.open(digest))).rejects.toMatchObject({ code: 'MP_ERR_BLOB_CORRUPT' });
  });

  it('leaves no visible blob when the writing process is killed mid-upload, and reopens cleanly', async () => {
    const dir = tempDir();
    const child = spawn(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'test/fixtures/endless-put.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('streaming') && resolve()));
    expect(readdirSync(join(dir, 'blobs', 'tmp'))).toHaveLength(1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const reopened = new FilesystemArtifactStore(dir);
    expect(readdirSync(join(dir, 'blobs', 'tmp'))).toEqual([]);
    const listed: string[] = [];
    for await (const digest of reopened.list()) listed.push(digest);
    expect(listed).toEqual([]);
  });
});

describe('SqliteMetadataStore', () => {
  it('migrates once and reopens an existing database', async () => {
    const file = join(tempDir(), 'meta.sqlite');
    const first = new SqliteMetadataStore(file);
    await first.appendAudit({ actor: 'a', action: 'x', target: 't' });
    await first.close();
    const second = new SqliteMetadataStore(file);
    expect((await second.listAudit({ limit: 10 })).items).toHaveLength(1);
    const migrations = second.db.prepare('SELECT id FROM schema_migrations').all();
    expect(migrations).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    await second.close();
  });

  it('commits audit entries made outside a transaction together, each durable once its promise resolves', async () => {
    const file = join(tempDir(), 'meta.sqlite');
    const store = new SqliteMetadataStore(file);
    const written = Promise.all(Array.from({ length: 50 }, (_, i) => store.appendAudit({ actor: 'a', action: 'guard.allow', target: `t${i}` })));
    const reader = new DatabaseSync(file);
    const count = () => Number((reader.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n);
    expect(count()).toBe(0);
    await written;
    expect(count()).toBe(50);
    // Seen by a listing even before the writer awaited it.
    void store.appendAudit({ actor: 'b', action: 'guard.block', target: 'last' });
    expect((await store.listAudit({ limit: 1 })).items[0]).toMatchObject({ actor: 'b', target: 'last' });
    reader.close();
    await store.close();
    await expect(store.appendAudit({ actor: 'c', action: 'x', target: 'closed' })).rejects.toThrow();
  });

  it('rolls a failed transaction back as a whole', async () => {
    const store = new SqliteMetadataStore(join(tempDir(), 'meta.sqlite'));
    await expect(
      store.transaction(async () => {
        await store.appendAudit({ actor: 'a', action: 'first', target: 't' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await store.listAudit({ limit: 10 })).items).toEqual([]);
    await store.close();
  });
});
