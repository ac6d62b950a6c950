import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKey } from '@modelplane/core';
import { afterAll, expect, it } from 'vitest';
import { serveProcess } from './support/server.ts';
import { validMetadata } from './support/registry-client.ts';
import { makeTempDir, repoRoot } from './support/tmp.ts';

const tmp = makeTempDir('deploy-restart');
const adminKey = generateApiKey().token;
const config = join(tmp.dir, 'modelplane.config.json');
const fixture = join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  tmp.remove();
});

/** Both versions are the fixture's weights under other metadata; the rollout's window is long, so it stays mid-step. */
function writeConfig(onRestart: 'resume' | 'rollback') {
  const register = (version: string) => ({ name: `ids-${version}`, reference: 'ids', load: false, register: { path: fixture, version, metadata: validMetadata({ architecture: `mlp-${version}` }) } });
  writeFileSync(
    config,
    JSON.stringify({
      server: { port: 0, logLevel: 'warn' },
      storage: { dataDir: 'data' },
      auth: { adminKey },
      plugins: ['@modelplane/runtime-onnx'],
      models: [register('1.0.0'), register('1.1.0')],
      deployments: [{ name: 'ids-prod', model: 'ids', traffic: [{ version: '1.0.0', weight: 100 }], rollout: { steps: [50, 100], windowMs: 600_000, onRestart } }],
    }),
  );
}

const serve = () => serveProcess(config, children);

const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
const call = async (url: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { model_version?: string } };
};
type View = { status: { traffic: unknown; rollout: { candidate: string; stepIndex: number } | null; lastRollout: { status: string; reason: string } | null } };
const FEATURES = { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0.25) }] };

async function kill(child: ChildProcess) {
  child.kill('SIGKILL');
  await once(child, 'exit');
}

it('a server killed mid-rollout resumes the persisted step, or rolls back, and serves exactly the persisted split', async () => {
  writeConfig('resume');
  const first = await serve();
  const started = await call(first.url, '/api/v1/deployments/ids-prod/rollout', { version: '1.1.0' });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const before = (await call(first.url, '/api/v1/deployments/ids-prod')).body as unknown as View;
  expect(before.status.traffic).toEqual([
    { version: '1.0.0', weight: 50 },
    { version: '1.1.0', weight: 50 },
  ]);
  await kill(first.child);

  // Resume: the same split, the same step, and both versions answer.
  const second = await serve();
  const resumed = (await call(second.url, '/api/v1/deployments/ids-prod')).body as unknown as View;
  expect(resumed.status.traffic).toEqual(before.status.traffic);
  expect(resumed.status.rollout).toMatchObject({ candidate: '1.1.0', stepIndex: 0 });
  const versions = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const answer = await call(second.url, '/v2/models/ids-prod/infer', FEATURES);
    expect(answer.status).toBe(200);
    versions.add(answer.body.model_version!);
  }
  expect(versions).toEqual(new Set(['1.0.0', '1.1.0']));
  await kill(second.child);

  // Rollback policy: the restarted server puts all traffic back on the stable version and says why.
  writeConfig('rollback');
  const third = await serve();
  const rolledBack = (await call(third.url, '/api/v1/deployments/ids-prod')).body as unknown as View;
  expect(rolledBack.status.traffic).toEqual([{ version: '1.0.0', weight: 100 }]);
  expect(rolledBack.status.rollout).toBeNull();
  expect(rolledBack.status.lastRollout).toMatchObject({ status: 'rolled_back', reason: expect.stringMatching(/restarted mid-rollout/) });
  for (let i = 0; i < 10; i++) expect((await call(third.url, '/v2/models/ids-prod/infer', FEATURES)).body.model_version).toBe('1.0.0');
  third.child.kill('SIGTERM');
  await once(third.child, 'exit');
});
