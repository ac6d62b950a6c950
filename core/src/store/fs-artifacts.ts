import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type ArtifactStore, defineError, type PutOptions, type PutResult } from '@modelplane/plugin-sdk';

export const DigestMismatch = defineError('MP_ERR_DIGEST_MISMATCH', 400);
export const BadDigest = defineError('MP_ERR_BAD_DIGEST', 400);
export const BlobTooLarge = defineError('MP_ERR_BLOB_TOO_LARGE', 413);
export const BlobNotFound = defineError('MP_ERR_BLOB_NOT_FOUND', 404);
export const BlobCorrupt = defineError('MP_ERR_BLOB_CORRUPT', 500);

const DIGEST = /^sha256:([a-f0-9]{64})$/;
const WRITE_BUFFER = 4 * 1024 * 1024;

export function parseDigest(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new BadDigest(`"${digest}" is not a digest; expected sha256:<64 lowercase hex digits>`);
  return match[1]!;
}

/**
 * Blobs under `<dataDir>/blobs/sha256/<2 hex>/<64 hex>`. A put writes to `blobs/tmp/`, hashes as it writes, fsyncs,
 * then renames into place (atomic on one filesystem) and fsyncs the directory: a crash leaves at most a temp file,
 * which the next open removes. Reads re-hash and fail on a mismatch, so a corrupted disk never serves wrong bytes.
 */
export class FilesystemArtifactStore implements ArtifactStore {
  readonly #root: string;
  readonly #tmp: string;

  constructor(dataDir: string) {
    this.#root = join(dataDir, 'blobs', 'sha256');
    this.#tmp = join(dataDir, 'blobs', 'tmp');
    mkdirSync(this.#root, { recursive: true });
    // Temp files are partial uploads from a previous process; nothing refers to them.
    rmSync(this.#tmp, { recursive: true, force: true });
    mkdirSync(this.#tmp, { recursive: true });
  }

  #path(hex: string): string {
    return join(this.#root, hex.slice(0, 2), hex);
  }

  async put(stream: Readable, options: PutOptions = {}): Promise<PutResult> {
    const expected = options.expectedDigest === undefined ? undefined : parseDigest(options.expectedDigest);
    const tmpPath = join(this.#tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    let received: { hex: string; size: number };
    try {
      received = await writeHashed(stream, tmpPath, options);
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
    const { hex, size } = received;
    const digest = `sha256:${hex}`;
    if (expected !== undefined && expected !== hex) {
      await rm(tmpPath, { force: true });
      throw new DigestMismatch(`uploaded bytes hash to ${digest}, but sha256:${expected} was expected; nothing was stored`);
    }
    const target = this.#path(hex);
    if (await this.stat(digest)) {
      await rm(tmpPath, { force: true });
      return { digest, size, created: false };
    }
    mkdirSync(join(this.#root, hex.slice(0, 2)), { recursive: true });
    await rename(tmpPath, target);
    await syncDirectory(join(this.#root, hex.slice(0, 2)));
    return { digest, size, created: true };
  }

  open(digest: string): Readable {
    const hex = parseDigest(digest);
    const hash = createHash('sha256');
    const verify = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        const actual = hash.digest('hex');
        done(actual === hex ? null : new BlobCorrupt(`stored blob ${digest} is corrupt (its bytes hash to sha256:${actual})`));
      },
    });
    const source = createReadStream(this.#path(hex));
    source.on('error', (error: NodeJS.ErrnoException) => {
      verify.destroy(error.code === 'ENOENT' ? new BlobNotFound(`no blob ${digest}`) : error);
    });
    return source.pipe(verify);
  }

  async stat(digest: string): Promise<{ size: number; storedAt: Date } | undefined> {
    try {
      const info = await stat(this.#path(parseDigest(digest)));
      return { size: info.size, storedAt: info.mtime };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async *list(): AsyncIterable<string> {
    for (const prefix of readdirSync(this.#root)) {
      for (const name of await readdir(join(this.#root, prefix))) yield `sha256:${name}`;
    }
  }

  async delete(digest: string): Promise<void> {
    await rm(this.#path(parseDigest(digest)), { force: true });
  }

  async close(): Promise<void> {}
}

/**
 * Copies the stream into `path`, hashing as it goes, and returns once the bytes are on disk. Socket chunks (~64 KiB)
 * are gathered until WRITE_BUFFER bytes and written with one writev; while that write runs the next batch gathers,
 * so the disk sees large writes, the network never waits on a small one, and at most two batches are held whatever
 * the size. Every FLUSH_EVERY bytes an fdatasync starts in the background, so write-back overlaps the upload and the
 * final fsync (which is what guarantees durability) has little left to do.
 */
async function writeHashed(stream: Readable, path: string, options: PutOptions): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  const file = await open(path, 'wx', 0o644);
  let batch: Buffer[] = [];
  let batched = 0;
  let size = 0;
  let unsynced = 0;
  let writing: Promise<unknown> = Promise.resolve();
  let syncing: Promise<unknown> = Promise.resolve();
  const flush = async () => {
    await writing;
    writing = file.writev(batch);
    // Awaited later; the handler only keeps a failure meanwhile from counting as unhandled (which would end the process).
    writing.catch(() => {});
    unsynced += batched;
    if (unsynced >= FLUSH_EVERY) {
      unsynced = 0;
      collectYoungGarbage();
      const written = writing;
      syncing = Promise.all([syncing, written]).then(() => file.datasync());
      syncing.catch(() => {});
    }
    batch = [];
    batched = 0;
  };
  try {
    options.signal?.throwIfAborted();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (options.maxBytes !== undefined && size > options.maxBytes) throw new BlobTooLarge(`blob exceeds the limit of ${options.maxBytes} bytes`);
      options.signal?.throwIfAborted();
      hash.update(chunk);
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BUFFER) await flush();
    }
    if (batched > 0) await flush();
    await writing;
    await syncing;
    await file.sync();
  } finally {
    // Settle the writes before closing, whichever way the loop ended, so no write lands on a closed descriptor.
    await Promise.allSettled([writing, syncing]);
    await file.close();
  }
  return { hex: hash.digest('hex'), size };
}

const FLUSH_EVERY = 32 * 1024 * 1024;

/**
 * A young-generation collection, run every FLUSH_EVERY bytes of an upload. Each socket read is a fresh 64 KiB buffer
 * outside the JavaScript heap; dead ones are freed only by a collection, and an upload allocates too few JavaScript
 * objects to cause one, so V8 waits until 64 MiB of them pile up. Collecting here (well under a millisecond) keeps a
 * large upload's memory flat. `gc` comes from a fresh context with --expose-gc set, so no global `gc` appears.
 */
let youngGc: ((options: { type: 'minor' }) => void) | undefined;
function collectYoungGarbage(): void {
  // Made on the first large upload, not at import: most processes that load the store (the CLI) never need it.
  if (!youngGc) {
    try {
      setFlagsFromString('--expose-gc');
      youngGc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
    } catch {
      youngGc = () => {};
    }
  }
  youngGc({ type: 'minor' });
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
