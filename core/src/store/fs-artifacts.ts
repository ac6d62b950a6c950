import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, fdatasync, mkdirSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Readable, Transform } from 'node:stream';
import { type ArtifactStore, defineError, type PutOptions, type PutResult } from '@modelplane/plugin-sdk';

export const DigestMismatch = defineError('MP_ERR_DIGEST_MISMATCH', 400);
export const BadDigest = defineError('MP_ERR_BAD_DIGEST', 400);
export const BlobTooLarge = defineError('MP_ERR_BLOB_TOO_LARGE', 413);
export const BlobNotFound = defineError('MP_ERR_BLOB_NOT_FOUND', 404);
export const BlobCorrupt = defineError('MP_ERR_BLOB_CORRUPT', 500);

const DIGEST = /^sha256:([a-f0-9]{64})$/;
/** Lets chunks queue while a write is in flight, so they reach the disk in large writev calls rather than one per socket read. */
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
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(tmpPath, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: WRITE_BUFFER });
    const flusher = backgroundFlusher(out);
    const meter = new Transform({
      highWaterMark: WRITE_BUFFER,
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          done(new BlobTooLarge(`blob exceeds the limit of ${options.maxBytes} bytes`));
          return;
        }
        hash.update(chunk);
        flusher.wrote(chunk.length);
        done(null, chunk);
      },
    });
    try {
      // `flush` fsyncs before close, so the bytes are on disk before the rename makes them visible.
      await pipeline(stream, meter, out, { signal: options.signal });
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
    const hex = hash.digest('hex');
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
 * Starts fdatasync in the background every FLUSH_EVERY bytes, so the disk writes back while the network is still
 * receiving, and the final fsync has little left to do. The final fsync (the stream's `flush`) is what guarantees
 * durability; these only overlap the work.
 */
const FLUSH_EVERY = 32 * 1024 * 1024;
function backgroundFlusher(out: WriteStream): { wrote(bytes: number): void } {
  let pending = 0;
  let inFlight = false;
  return {
    wrote(bytes) {
      pending += bytes;
      // `fd` is set once the file is open; @types/node does not declare it.
      const fd = (out as unknown as { fd: number | null }).fd;
      if (pending < FLUSH_EVERY || inFlight || typeof fd !== 'number') return;
      pending = 0;
      inFlight = true;
      fdatasync(fd, () => {
        inFlight = false;
      });
    },
  };
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
