import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushScripted, ROW, SCRIPTED_PLUGIN } from './support/deployments.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { repoRoot } from './support/tmp.ts';

const fixtures = join(repoRoot, 'test/fixtures/onnx');
const reference = (name: string) =>
  JSON.parse(readFileSync(join(fixtures, `${name}.reference.json`), 'utf8')) as {
    inputs: Record<string, { shape: number[]; datatype: string; data: number[] }>;
    outputs: Record<string, { shape: number[]; data: number[] }>;
  };
const metadata = { framework: 'onnx', architecture: 'test', training_data_description: 'fixture', performance_metrics: { accuracy: 1 }, license: { id: 'MIT' } };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    server: { logLevel: 'silent' },
    serving: { inferBodyLimit: 64 * 1024 },
    plugins: ['@modelplane/runtime-onnx', SCRIPTED_PLUGIN],
    models: [
      { name: 'ids', register: { path: join(fixtures, 'ids-mlp.onnx'), version: '1.0.0', metadata } },
      { name: 'two', register: { path: join(fixtures, 'two-inputs.onnx'), version: '1.0.0', metadata } },
      { name: 'fixed', register: { path: join(fixtures, 'fixed-batch.onnx'), version: '1.0.0', metadata } },
      { name: 'batched', reference: 'ids@1.0.0', batching: { eager: false, maxQueueDelayMs: 50 } },
      { name: 'slowqueue', reference: 'ids@1.0.0', batching: { eager: false, maxQueueDelayMs: 1500, maxQueueSize: 2 } },
    ],
  });
});
afterAll(() => server?.close());

const infer = (model: string, body: unknown) => server.call(`/v2/models/${model}/infer`, { method: 'POST', json: body });
const idsInput = () => {
  const r = reference('ids-mlp').inputs.features!;
  return { name: 'features', shape: r.shape, datatype: 'FP32', data: r.data };
};

describe('V2 health and metadata', () => {
  it('answers server live, ready and metadata', async () => {
    expect((await (await fetch(`${server.url}/v2/health/live`)).json())).toEqual({ live: true });
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/v2`)).json()).toMatchObject({ name: 'modelplane', extensions: expect.arrayContaining(['binary_tensor_data']) });
  });

  it('answers model metadata, readiness and Triton-style config', async () => {
    const meta = (await (await server.call('/v2/models/ids')).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ name: 'ids', versions: ['1.0.0'], inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }], outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }] });
    expect((await server.call('/v2/models/ids/versions/1.0.0/ready')).status).toBe(200);
    expect((await server.call('/v2/models/ids/versions/9.9.9/ready')).status).toBe(400);
    const config = (await (await server.call('/v2/models/ids/config')).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ max_batch_size: 64, input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [64] }], dynamic_batching: expect.any(Object) });
    expect(((await (await server.call('/v2/models/fixed/config')).json()) as { max_batch_size: number }).max_batch_size).toBe(0);
  });
});

describe('V2 inference', () => {
  it('matches the Python reference, echoes the id and reports Server-Timing', async () => {
    const response = await infer('ids', { id: 'abc-1', inputs: [idsInput()] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { id: string; model_version: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
    expect(body).toMatchObject({ id: 'abc-1', model_name: 'ids', model_version: '1.0.0' });
    const expected = reference('ids-mlp').outputs.probabilities!;
    expect(body.outputs[0]!.shape).toEqual(expected.shape);
    body.outputs[0]!.data.forEach((v, i) => expect(v).toBeCloseTo(expected.data[i]!, 5));
    expect(response.headers.get('server-timing')).toMatch(/queue;dur=[\d.]+, compute;dur=[\d.]+, overhead;dur=[\d.]+, total;dur=[\d.]+/);
  });

  it('takes nested data and two inputs of different datatypes, and returns only selected outputs', async () => {
    const response = await infer('two', {
      inputs: [
        { name: 'x', shape: [2, 4], datatype: 'FP32', data: [[1, 2, 3, 4], [5, 6, 7, 8]] },
        { name: 'k', shape: [2, 1], datatype: 'INT64', data: [[10], [20]] },
      ],
      outputs: [{ name: 'y' }],
    });
    const body = (await response.json()) as { outputs: Array<{ name: string; data: number[] }> };
    expect(body.outputs.map((o) => o.name)).toEqual(['y']);
    expect(body.outputs[0]!.data).toEqual([12, 14, 16, 18, 30, 32, 34, 36]);
  });

  it('speaks the binary tensor extension both ways', async () => {
    const features = new Float32Array(reference('ids-mlp').inputs.features!.data);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'features', shape: [3, 64], datatype: 'FP32', parameters: { binary_data_size: features.byteLength } }],
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
      }),
    );
    const response = await server.call('/v2/models/ids/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(features.buffer)]),
    });
    expect(response.status).toBe(200);
    const length = Number(response.headers.get('inference-header-content-length'));
    const raw = Buffer.from(await response.arrayBuffer());
    const json = JSON.parse(raw.subarray(0, length).toString()) as { outputs: Array<{ parameters: { binary_data_size: number } }> };
    expect(json.outputs[0]!.parameters.binary_data_size).toBe(3 * 13 * 4);
    const probabilities = new Float32Array(raw.buffer.slice(raw.byteOffset + length, raw.byteOffset + raw.length));
    const expected = reference('ids-mlp').outputs.probabilities!.data;
    probabilities.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it.each([
    ['a wrong shape', { name: 'features', shape: [1, 63], datatype: 'FP32', data: new Array(63).fill(0) }, 'input "features": shape must match [-1,64]'],
    ['a wrong datatype', { name: 'features', shape: [1, 64], datatype: 'FP64', data: new Array(64).fill(0) }, 'input "features": datatype must be FP32, got FP64'],
    ['a wrong element count', { name: 'features', shape: [1, 64], datatype: 'FP32', data: [1, 2] }, 'tensor "features": shape [1,64] needs 64 elements, but data has 2'],
    ['an unknown input', { name: 'flows', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0) }, 'unexpected input "flows"'],
    ['an unknown datatype', { name: 'features', shape: [1, 64], datatype: 'FLOAT', data: new Array(64).fill(0) }, 'unknown datatype "FLOAT"'],
    ['no rows', { name: 'features', shape: [0, 64], datatype: 'FP32', data: [] }, 'input "features" has no rows (shape [0,64]); send at least one'],
  ])('answers %s with 400 and names the tensor', async (_label, input, message) => {
    const response = await infer('ids', { inputs: [input] });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringContaining(message) });
  });

  it('refuses an unknown output, an oversized body and an unknown model', async () => {
    const output = await infer('ids', { inputs: [idsInput()], outputs: [{ name: 'logits' }] });
    expect(output.status).toBe(400);
    expect(((await output.json()) as { error: string }).error).toContain('unknown output "logits"');
    const big = await infer('ids', { inputs: [{ name: 'features', shape: [2000, 64], datatype: 'FP32', data: new Array(128_000).fill(0.123456) }] });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: expect.any(String) });
    const missing = await infer('nope', { inputs: [idsInput()] });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'model "nope" is not loaded' });
  });
});

describe('dynamic batching', () => {
  it('batches concurrent requests and returns each caller its own rows', async () => {
    const before = await batchHistogram('batched');
    const rows = Array.from({ length: 24 }, (_, i) => new Array(64).fill(0).map((_, j) => Math.sin(i * 64 + j)));
    const singles = await Promise.all(rows.map((row) => infer('batched', { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: row }] })));
    const bodies = (await Promise.all(singles.map((r) => r.json()))) as Array<{ outputs: Array<{ data: number[] }> }>;
    const after = await batchHistogram('batched');
    expect(after.count - before.count).toBeLessThan(24);
    expect((after.sum - before.sum) / (after.count - before.count)).toBeGreaterThan(1);
    // Each caller's probabilities are the same as when its row runs alone.
    for (const [i, row] of rows.entries()) {
      if (i % 6 !== 0) continue;
      const alone = (await (await infer('ids', { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: row }] })).json()) as { outputs: Array<{ data: number[] }> };
      bodies[i]!.outputs[0]!.data.forEach((v, j) => expect(v).toBeCloseTo(alone.outputs[0]!.data[j]!, 5));
    }
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const queued = [infer('slowqueue', { inputs: [idsInput()] }), infer('slowqueue', { inputs: [idsInput()] })];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await infer('slowqueue', { inputs: [idsInput()] });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: string }).error).toContain('queue is full');
    expect((await Promise.all(queued)).map((r) => r.status)).toEqual([200, 200]);
    // The queue depth gauge follows the queue: nothing waits any more.
    expect(await queueDepth('slowqueue')).toBe(0);
  });

  it('reports the requests waiting in the queue as the queue depth', async () => {
    const queued = infer('slowqueue', { inputs: [idsInput()] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queueDepth('slowqueue')).toBe(1);
    expect((await queued).status).toBe(200);
    expect(await queueDepth('slowqueue')).toBe(0);
  });

  it('never runs a request whose client went away while it was queued', async () => {
    const before = await batchHistogram('slowqueue');
    const controller = new AbortController();
    const request = server.call('/v2/models/slowqueue/infer', { method: 'POST', json: { inputs: [idsInput()] }, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await expect(request).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 1800));
    expect((await batchHistogram('slowqueue')).count).toBe(before.count);
  });
});

describe('model repository extension', () => {
  it('lists, unloads and loads models', async () => {
    const index = (await (await server.call('/v2/repository/index', { method: 'POST' })).json()) as Array<{ name: string; state: string }>;
    expect(index).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'fixed', state: 'READY' })]));
    expect((await server.call('/v2/repository/models/fixed/unload', { method: 'POST' })).status).toBe(200);
    expect((await server.call('/v2/models/fixed/ready')).status).toBe(400);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(503);
    // The body is optional: a bare POST loads too.
    expect((await server.call('/v2/repository/models/fixed/load', { method: 'POST' })).status).toBe(200);
    expect((await server.call('/v2/models/fixed/ready')).status).toBe(200);
    const alias = await server.call('/v2/repository/models/ids-copy/load', { method: 'POST', json: { parameters: { reference: 'ids@1.0.0' } } });
    expect(alias.status).toBe(200);
    expect((await infer('ids-copy', { inputs: [idsInput()] })).status).toBe(200);
    const unknown = await server.call('/v2/repository/models/ghost/load', { method: 'POST', json: {} });
    expect(unknown.status).toBe(404);
  });

  it('answers 503 with Retry-After, not 404, while a model is still loading', async () => {
    await pushScripted(server, 'slow-load', '1.0.0', { loadDelayMs: 1500 });
    const load = server.call('/v2/repository/models/slow-load/load', { method: 'POST', json: {} });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const early = await server.call('/v2/models/slow-load/infer', { method: 'POST', json: ROW });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    expect(await early.json()).toEqual({ error: 'model "slow-load" is still loading' });
    expect((await load).status).toBe(200);
    expect((await server.call('/v2/models/slow-load/infer', { method: 'POST', json: ROW })).status).toBe(200);
  });
});

async function queueDepth(model: string): Promise<number> {
  const text = await (await server.call('/metrics')).text();
  return Number(new RegExp(`modelplane_inference_queue_depth\\{model="${model}",version="1.0.0"\\} ([\\d.]+)`).exec(text)?.[1]);
}

async function batchHistogram(model: string): Promise<{ count: number; sum: number }> {
  const text = await (await server.call('/metrics')).text();
  const value = (suffix: string) => Number(new RegExp(`modelplane_inference_batch_size_${suffix}\\{model="${model}",version="1.0.0"\\} ([\\d.]+)`).exec(text)?.[1] ?? 0);
  return { count: value('count'), sum: value('sum') };
}
