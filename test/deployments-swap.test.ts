import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deployment, steadyLoad } from './support/deployments.ts';
import { validMetadata } from './support/registry-client.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { makeTempDir, repoRoot } from './support/tmp.ts';

const fixture = join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx');
const FEATURES = { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0.25) }] };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    auth: { rateLimit: { perSecond: 100_000, burst: 100_000 } },
    plugins: ['@modelplane/runtime-onnx'],
    // Registered from the config without being served under its own name: the deployment serves it.
    models: [{ name: 'ids', load: false, register: { path: fixture, version: '1.0.0', metadata: validMetadata() } }],
  });
  // Two more versions with the same weights (other metadata) to swap between; 1.2.0 carries a labelled dataset
  // whose labels are all wrong, so its validation fails.
  const v1 = (await (await server.call('/api/v1/models/ids/versions/1.0.0')).json()) as { files: Array<{ path: string; digest: string; size: number }> };
  const response = await server.call('/v2/repository/models/probe/load', { method: 'POST', json: { parameters: { reference: 'ids@1.0.0' } } });
  expect(response.status).toBe(200);
  const probe = (await (await server.call('/v2/models/probe/infer', { method: 'POST', json: { inputs: [{ ...FEATURES.inputs[0], shape: [8, 64], data: new Array(8 * 64).fill(0).map((_, i) => Math.sin(i)) }] } })).json()) as {
    outputs: Array<{ data: number[] }>;
  };
  await server.call('/v2/repository/models/probe/unload', { method: 'POST' });
  const argmax = (row: number) => {
    const scores = probe.outputs[0]!.data.slice(row * 13, row * 13 + 13);
    return scores.indexOf(Math.max(...scores));
  };
  const wrong = { inputs: [{ name: 'features', datatype: 'FP32', shape: [8, 64], data: new Array(8 * 64).fill(0).map((_, i) => Math.sin(i)) }], labels: [0, 1, 2, 3, 4, 5, 6, 7].map((r) => (argmax(r) + 1) % 13) };
  const blob = await server.call('/api/v1/blobs', { method: 'POST', body: JSON.stringify(wrong), headers: { 'content-type': 'application/octet-stream' } });
  const dataset = (await blob.json()) as { digest: string; size: number };
  for (const [version, files] of [
    ['1.1.0', v1.files],
    ['1.2.0', [...v1.files, { path: 'validation.json', digest: dataset.digest, size: dataset.size }]],
  ] as const) {
    const pushed = await server.call('/api/v1/models/ids/versions', { method: 'POST', json: { version, files, metadata: validMetadata({ architecture: `mlp-${version}` }), status: 'active' } });
    expect(pushed.status).toBe(201);
  }
  const created = await server.call('/api/v1/deployments', {
    method: 'POST',
    json: { name: 'ids-prod', model: 'ids', traffic: [{ version: '1.0.0', weight: 100 }], rollout: { strategy: 'swap' }, batching: { maxBatchSize: 32 } },
  });
  expect(created.status, await created.clone().text()).toBe(201);
});
afterAll(() => server?.close());

it('swaps a deployment ten times under a steady request stream: no failure, no disposed instance, every response tagged', async () => {
  const load = steadyLoad(async () => {
    const response = await server.call('/v2/models/ids-prod/infer', { method: 'POST', json: FEATURES });
    const parsed = (await response.json()) as { model_version?: string; model_name?: string };
    return { status: response.status, ...(parsed.model_version ? { version: parsed.model_version } : {}) };
  }, 6);
  const swaps: string[] = [];
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 40));
    const version = i % 2 === 0 ? '1.1.0' : '1.0.0';
    const response = await server.call('/api/v1/deployments/ids-prod/rollout', { method: 'POST', json: { version } });
    expect(response.status, await response.clone().text()).toBe(200);
    swaps.push(version);
  }
  await new Promise((resolve) => setTimeout(resolve, 40));
  const outcomes = await load.stop();

  expect(outcomes.length).toBeGreaterThan(100);
  // A request reaching a disposed instance fails (the batcher refuses it), so zero failures covers both.
  expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
  expect(outcomes.every((o) => o.version === '1.0.0' || o.version === '1.1.0')).toBe(true);
  expect(new Set(outcomes.map((o) => o.version))).toEqual(new Set(['1.0.0', '1.1.0']));
  const state = await deployment(server, 'ids-prod');
  expect(state.status.traffic).toEqual([{ version: swaps.at(-1), weight: 100 }]);
  expect(state.status.loaded).toEqual([swaps.at(-1)]);
  const metadata = (await (await server.call('/v2/models/ids-prod')).json()) as { versions: string[] };
  expect(metadata.versions).toEqual([swaps.at(-1)]);
});

it('a candidate that fails validation never takes traffic, and the reason is recorded', async () => {
  const before = await deployment(server, 'ids-prod');
  const serving = before.status.traffic[0]!.version;
  // Validate candidates on their own validation.json (1.2.0's labels are all wrong): accuracy must be ≥ 0.95.
  const patched = await server.call('/api/v1/deployments/ids-prod', { method: 'PATCH', json: { validation: { threshold: 0.95 } } });
  expect(patched.status, await patched.clone().text()).toBe(200);

  const refused = await server.call('/api/v1/deployments/ids-prod/rollout', { method: 'POST', json: { version: '1.2.0' } });
  expect(refused.status).toBe(422);
  const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
  expect(error.code).toBe('MP_ERR_VALIDATION_FAILED');
  expect(error.message).toMatch(/accuracy 0\.0000 on 8 samples .* < threshold 0\.95/);

  const after = await deployment(server, 'ids-prod');
  expect(after.status.traffic).toEqual([{ version: serving, weight: 100 }]);
  expect(after.status.loaded).toEqual([serving]);
  expect(after.status.lastRollout).toMatchObject({ candidate: '1.2.0', status: 'rejected' });
  const served = (await (await server.call('/v2/models/ids-prod/infer', { method: 'POST', json: FEATURES })).json()) as { model_version: string };
  expect(served.model_version).toBe(serving);
  const decisions = (await (await server.call('/api/v1/deployments/ids-prod/decisions')).json()) as { decisions: Array<{ action: string; details: { reason?: string } }> };
  expect(decisions.decisions[0]).toMatchObject({ action: 'rollout.rejected' });
  expect(decisions.decisions[0]!.details.reason).toMatch(/validation failed/);
});

it('the CLI lists, shows and rolls out deployments', async () => {
  const exec = promisify(execFile);
  const cli = (...args: string[]) => exec(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'core/bin/modelplane.js'), ...args, '--url', server.url, '--key', server.adminKey]);
  // 1.0.0 and 1.1.0 carry no dataset: validation off again.
  expect((await server.call('/api/v1/deployments/ids-prod', { method: 'PATCH', json: { validation: null } })).status).toBe(200);
  const serving = (await deployment(server, 'ids-prod')).status.traffic[0]!.version;
  const other = serving === '1.0.0' ? '1.1.0' : '1.0.0';
  expect((await cli('deployments', 'list')).stdout).toContain(`ids-prod  ids  [${serving} 100%]`);
  expect((await cli('deployments', 'rollout', 'ids-prod', other, '--strategy', 'swap')).stdout).toContain(`[${other} 100%]  last: ${other} promoted`);
  const shown = JSON.parse((await cli('deployments', 'get', 'ids-prod', '--json')).stdout) as { status: { traffic: unknown } };
  expect(shown.status.traffic).toEqual([{ version: other, weight: 100 }]);
  // A spec file that is missing or malformed is named in one line, not a stack trace.
  const missing = await cli('deployments', 'create', join(repoRoot, 'no-such-spec.yaml')).catch((error: { stderr: string; code: number }) => error);
  expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error MP_ERR_BAD_REQUEST: cannot read .*no-such-spec\.yaml: ENOENT/) });
  expect(missing).not.toHaveProperty('stderr', expect.stringContaining('    at '));
  const tmp = makeTempDir('spec');
  writeFileSync(join(tmp.dir, 'patch.json'), '{"traffic": [');
  const malformed = await cli('deployments', 'update', 'ids-prod', join(tmp.dir, 'patch.json')).catch((error: { stderr: string }) => error);
  tmp.remove();
  expect(malformed).toMatchObject({ stderr: expect.stringMatching(/^error MP_ERR_BAD_REQUEST: .*patch\.json is not valid JSON: /) });
});

it('the V2 repository index lists a deployment with the version it serves', async () => {
  const serving = (await deployment(server, 'ids-prod')).status.traffic[0]!.version;
  const index = (await (await server.call('/v2/repository/index', { method: 'POST' })).json()) as unknown[];
  expect(index).toContainEqual({ name: 'ids-prod', version: serving, state: 'READY', reason: '' });
});
