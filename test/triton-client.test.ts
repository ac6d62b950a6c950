import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { requireService } from './support/services.ts';
import { repoRoot } from './support/tmp.ts';

const exec = promisify(execFile);

/** The Python env with tritonclient: $MODELPLANE_TEST_VENV (set by .ci/run), else built on demand (cached). */
async function testVenv(): Promise<string> {
  if (process.env.MODELPLANE_TEST_VENV) return process.env.MODELPLANE_TEST_VENV;
  const { stdout } = await exec(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-test.txt')], { timeout: 300_000 });
  return stdout.trim();
}

let venv = '';
const available = await requireService('python tritonclient', async () => {
  venv = await testVenv();
  return existsSync(join(venv, 'bin/python')) ? { available: true } : { available: false, reason: `no Python in ${venv}` };
});

describe.runIf(available)('official tritonclient[http] against Modelplane', () => {
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
    const { stdout } = await exec(
      join(venv, 'bin/python'),
      [join(repoRoot, 'test/python/triton_client_check.py'), server.url.replace('http://', ''), server.adminKey, join(repoRoot, 'test/fixtures/onnx/ids-mlp.reference.json')],
      { timeout: 60_000 },
    );
    const results = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
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
