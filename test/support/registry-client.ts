import { createHash } from 'node:crypto';
import type { TestServer } from './server.ts';

export const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Metadata with every field seed 000 requires. */
export function validMetadata(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    framework: 'onnx',
    architecture: 'mlp',
    training_data_description: 'CIC-IDS2017 flows, 64 features',
    performance_metrics: { accuracy: 0.97 },
    license: { id: 'Apache-2.0' },
    parameter_count: 17_000,
    ...overrides,
  };
}

export async function uploadBlob(server: TestServer, bytes: Buffer | string, key?: string) {
  const response = await server.call('/api/v1/blobs', {
    method: 'POST',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
    ...(key ? { key } : {}),
  });
  return { status: response.status, body: (await response.json()) as { digest: string; size: number; created: boolean } };
}

/** Uploads each file, then registers the version; answers the version response. */
export async function pushVersion(
  server: TestServer,
  model: string,
  version: string,
  files: Record<string, Buffer | string>,
  metadata: Record<string, unknown> = validMetadata(),
) {
  const manifest = [];
  for (const [path, bytes] of Object.entries(files)) {
    const { body } = await uploadBlob(server, bytes);
    manifest.push({ path, digest: body.digest, size: body.size });
  }
  return server.call(`/api/v1/models/${model}/versions`, { method: 'POST', json: { version, files: manifest, metadata } });
}
