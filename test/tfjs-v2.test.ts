// Seed 001's Keras classifier as TF.js models, registered from the committed fixtures and served over V2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { repoRoot } from './support/tmp.ts';

const fixtures = join(repoRoot, 'test/fixtures/tfjs');
const reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  inputs: { features: { shape: number[]; data: number[] } };
  outputs: { probabilities: { shape: number[]; data: number[] } };
  tolerance: number;
};
const metadata = {
  framework: 'tfjs',
  architecture: 'MLP 64 → Dense 256 relu → Dense 128 relu → Dense 13 softmax (seed 001)',
  training_data_description: 'fixture: fixed-seed weights',
  performance_metrics: { accuracy: 1 },
  license: { id: 'MIT' },
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    plugins: ['@modelplane/runtime-tfjs'],
    models: [
      { name: 'ids-keras', register: { path: join(fixtures, 'layers'), version: '1.0.0', metadata } },
      { name: 'ids-graph', register: { path: join(fixtures, 'graph'), version: '1.0.0', metadata }, batching: { eager: false, maxQueueDelayMs: 50 } },
    ],
  });
});
afterAll(() => server?.close());

const infer = (model: string, body: unknown) => server.call(`/v2/models/${model}/infer`, { method: 'POST', json: body });
const rows = (from: number, to: number) => reference.inputs.features.data.slice(from * 64, to * 64);

/** Float32 inference against the float64 reference: |actual − expected| ≤ tolerance × (1 + |expected|). */
function expectReference(data: number[], fromRow: number, toRow: number): void {
  const expected = reference.outputs.probabilities.data.slice(fromRow * 13, toRow * 13);
  expect(data).toHaveLength(expected.length);
  data.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(reference.tolerance * (1 + Math.abs(expected[i]!))));
}

describe('TF.js over V2', () => {
  it('reports the backend in the plugin list and in model metadata', async () => {
    const plugins = (await (await server.call('/api/v1/plugins')).json()) as { plugins: Array<{ name: string; runtimes?: Record<string, Record<string, unknown>> }> };
    const tfjs = plugins.plugins.find((p) => p.name === '@modelplane/runtime-tfjs');
    const backend = tfjs?.runtimes?.tfjs?.backend;
    expect(backend).toMatch(/^(node-gpu|node|wasm|cpu)$/);
    const meta = (await (await server.call('/v2/models/ids-keras')).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: 'ids-keras',
      platform: 'tfjs',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }],
      parameters: { runtime: { runtime: 'tfjs', backend, format: 'layers-model' } },
    });
    const config = (await (await server.call('/v2/models/ids-graph/config')).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ max_batch_size: 64, input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [64] }] });
  });

  it('answers the reference input with the reference probabilities, from both formats', async () => {
    for (const model of ['ids-keras', 'ids-graph']) {
      const response = await infer(model, { id: model, inputs: [{ name: 'features', shape: [4, 64], datatype: 'FP32', data: rows(0, 4) }] });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
      expect(body.id).toBe(model);
      expect(body.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [4, 13] });
      expectReference(body.outputs[0]!.data, 0, 4);
    }
  });

  it('batches concurrent single-row requests and splits each its own row back', async () => {
    const answers = await Promise.all(
      [0, 1, 2, 3].map(async (row) => {
        const response = await infer('ids-graph', { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: rows(row, row + 1) }] });
        return { row, body: (await response.json()) as { outputs: Array<{ shape: number[]; data: number[] }> } };
      }),
    );
    for (const { row, body } of answers) {
      expect(body.outputs[0]!.shape).toEqual([1, 13]);
      expectReference(body.outputs[0]!.data, row, row + 1);
    }
    const metrics = await (await server.call('/metrics')).text();
    // One 4-row request before, then these four: fewer than five batches means some were run together.
    const batches = Number(/modelplane_inference_batch_size_count\{[^}]*model="ids-graph"[^}]*\} (\d+)/.exec(metrics)?.[1]);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(5);
  });

  it('answers a bad tensor with a 400 naming it', async () => {
    const response = await infer('ids-keras', { inputs: [{ name: 'features', shape: [1, 63], datatype: 'FP32', data: rows(0, 1).slice(0, 63) }] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('features');
  });
});
