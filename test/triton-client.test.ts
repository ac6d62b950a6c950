import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { requireTestVenv, runPythonCheck } from './support/python.ts';
import { repoRoot } from './support/tmp.ts';

const venv = await requireTestVenv('python tritonclient');

describe.runIf(venv !== '')('official tritonclient[http] against Modelplane', () => {
  let server: TestServer;
  beforeAll(async () => {
    const fixtures = join(repoRoot, 'test/fixtures/onnx');
    server = await startTestServer({
      plugins: ['@modelplane/runtime-onnx'],
      models: [
        {
          name: 'ids',
          register: {
            path: join(fixtures, 'ids-mlp.onnx'),
            version: '1.0.0',
            metadata: { framework: 'onnx', architecture: 'mlp', training_data_description: 'fixture', performance_metrics: { accuracy: 1 }, license: { id: 'MIT' } },
          },
        },
      ],
    });
  });
  afterAll(() => server?.close());

  it('reads health, metadata and config, and infers with JSON and binary tensors', async () => {
    const results = await runPythonCheck(venv, 'triton_client_check.py', [
      server.url.replace('http://', ''),
      server.adminKey,
      join(repoRoot, 'test/fixtures/onnx/ids-mlp.reference.json'),
    ]);
    expect(results).toMatchObject({
      live: true,
      ready: true,
      model_ready: true,
      max_batch_size: 64,
      metadata_inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
      infer_binary_False: { id: 'req-False', version: '1.0.0' },
      infer_binary_True: { id: 'req-True', version: '1.0.0' },
    });
    expect(results.bad_shape).toContain('input "features": shape must match [-1,64]');
  });
});
