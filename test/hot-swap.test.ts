import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validMetadata } from './support/registry-client.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { repoRoot } from './support/tmp.ts';

const fixture = join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx');
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    auth: { rateLimit: { perSecond: 100_000, burst: 100_000 } },
    plugins: ['@modelplane/runtime-onnx'],
    models: [{ name: 'ids', register: { path: fixture, version: '1.0.0', metadata: validMetadata() } }],
  });
  // A second version with the same weights (other metadata), to swap between.
  const blob = (await (await server.call('/api/v1/models/ids/versions/1.0.0')).json()) as { files: Array<{ path: string; digest: string; size: number }> };
  const pushed = await server.call('/api/v1/models/ids/versions', {
    method: 'POST',
    json: { version: '1.1.0', files: blob.files, metadata: validMetadata({ architecture: 'mlp-v2' }), status: 'active' },
  });
  expect(pushed.status).toBe(201);
});
afterAll(() => server?.close());

it('swaps versions ten times under a steady request stream without failing or misattributing a request', async () => {
  const body = { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0.25) }] };
  let running = true;
  const outcomes: Array<{ status: number; version?: string }> = [];
  const clients = Array.from({ length: 8 }, async () => {
    while (running) {
      const response = await server.call('/v2/models/ids/infer', { method: 'POST', json: body });
      const parsed = (await response.json()) as { model_version?: string };
      outcomes.push({ status: response.status, ...(parsed.model_version ? { version: parsed.model_version } : {}) });
    }
  });
  const swaps: string[] = [];
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 60));
    const version = i % 2 === 0 ? '1.1.0' : '1.0.0';
    const response = await server.call('/v2/repository/models/ids/load', { method: 'POST', json: { parameters: { reference: `ids@${version}` } } });
    expect(response.status).toBe(200);
    swaps.push(version);
  }
  await new Promise((resolve) => setTimeout(resolve, 60));
  running = false;
  await Promise.all(clients);

  expect(outcomes.length).toBeGreaterThan(100);
  expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
  expect(new Set(outcomes.map((o) => o.version))).toEqual(new Set(['1.0.0', '1.1.0']));
  const metadata = (await (await server.call('/v2/models/ids')).json()) as { versions: string[] };
  expect(metadata.versions).toEqual([swaps.at(-1)]);
});
