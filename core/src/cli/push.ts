import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Transform } from 'node:stream';
import { MpError } from '@modelplane/plugin-sdk';
import YAML from 'yaml';
import { type ApiClient, readResponse } from './client.ts';
import { ByteProgress, formatBytes } from './progress.ts';
import { Errors } from '../errors.ts';
import { collectFiles, type LocalFile } from '../registry/local-files.ts';

/** A YAML or JSON file the user named; one they cannot have meant is a message that names it, not a stack trace. */
export async function readMetadataFile(file: string): Promise<unknown> {
  const json = extname(file) === '.json';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Errors.BadRequest(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return json ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new Errors.BadRequest(`${file} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

/** Streams one file to POST /api/v1/blobs, hashing it on the way so the server's digest is checked, not trusted. */
async function uploadFile(client: ApiClient, file: LocalFile, label: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const progress = new ByteProgress(label, file.size);
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      progress.add(chunk.length);
      done(null, chunk);
    },
  });
  const source = createReadStream(file.absolute, { highWaterMark: 1024 * 1024 });
  source.on('error', (error) => meter.destroy(error));
  const body = source.pipe(meter);
  const result = await client.upload<{ digest: string; size: number; created: boolean }>('/api/v1/blobs', body, {
    'content-type': 'application/octet-stream',
    'content-length': String(file.size),
  });
  const local = `sha256:${hash.digest('hex')}`;
  if (result.digest !== local) {
    throw new MpError('MP_ERR_DIGEST_MISMATCH', 502, `${file.path}: the server stored ${result.digest} but the file hashes to ${local}`);
  }
  progress.finish(result.created ? '' : '  (already stored)');
  return { digest: result.digest, size: result.size };
}

export interface PushOptions {
  name: string;
  version: string;
  metadata: unknown;
  status?: string;
  alias?: string;
}

export async function push(client: ApiClient, root: string, options: PushOptions): Promise<string> {
  const files = await collectFiles(root);
  if (files.length === 0) throw new MpError('MP_ERR_BAD_REQUEST', 400, `${root} holds no files to push`);
  const total = files.reduce((sum, f) => sum + f.size, 0);
  process.stderr.write(`pushing ${files.length} file(s), ${formatBytes(total)}, as ${options.name}@${options.version}\n`);
  const manifest = [];
  for (const [i, file] of files.entries()) {
    const uploaded = await uploadFile(client, file, `[${i + 1}/${files.length}] ${file.path}`);
    manifest.push({ path: file.path, ...uploaded });
  }
  const response = await fetch(`${client.baseUrl}/api/v1/models/${encodeURIComponent(options.name)}/versions`, {
    method: 'POST',
    headers: client.headers({ 'content-type': 'application/json' }),
    body: JSON.stringify({ version: options.version, files: manifest, metadata: options.metadata, ...(options.status ? { status: options.status } : {}) }),
  });
  const created = response.status === 201;
  const version = await readResponse<{ version: string; manifestDigest: string }>(response);
  if (options.alias) {
    await client.request('PUT', `/api/v1/models/${encodeURIComponent(options.name)}/aliases/${encodeURIComponent(options.alias)}`, { version: version.version });
  }
  return `${created ? 'registered' : 'already registered (identical content)'} ${options.name}@${version.version} ${version.manifestDigest}` +
    (options.alias ? `; ${options.alias} → ${version.version}` : '');
}
