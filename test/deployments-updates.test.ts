import { afterAll, beforeAll, expect, it } from 'vitest';
import { deployment, infer, pushScripted, SCRIPTED_PLUGIN } from './support/deployments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let upstream: TestServer;
let server: TestServer;
type Decision = { deployment: string; version: string; outcome: string; reason: string };

beforeAll(async () => {
  // The other Modelplane server: publishes newer versions of the model.
  upstream = await startTestServer({ plugins: [SCRIPTED_PLUGIN] });
  await pushScripted(upstream, 'clf', '1.0.0', {}, { accuracy: 0.9 });
  await pushScripted(upstream, 'clf', '1.1.0', {}, { accuracy: 0.91 }); // +1.1 %: below the 2 % threshold
  await pushScripted(upstream, 'clf', '1.3.0', {}, { accuracy: 0.927 }); // +3 %
  await pushScripted(upstream, 'clf', '1.4.0', { shift: 1 }, { accuracy: 0.95 }); // claims more, but fails validation
  await pushScripted(upstream, 'clf', '2.0.0', {}, { accuracy: 0.99 }); // major bump
  server = await startTestServer({ plugins: [SCRIPTED_PLUGIN], updates: { remotes: [{ name: 'upstream', url: upstream.url, apiKey: upstream.adminKey }] } });
  await pushScripted(server, 'clf', '1.0.0', {}, { accuracy: 0.9 });
  const created = await server.call('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'clf',
      model: 'clf',
      traffic: [{ version: '1.0.0', weight: 100 }],
      rollout: { strategy: 'swap' },
      // The held-out dataset lives with the local 1.0.0, not with the candidates it judges.
      validation: { dataset: 'clf@1.0.0', threshold: 0.95 },
      updates: { source: 'remote:upstream' },
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});

const check = async () => {
  const response = await server.call('/api/v1/updates/check', { method: 'POST' });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { decisions: Decision[] }).decisions;
};

it('rolls out a 1.3.0 that improves accuracy by 3 %, not a 2.0.0 (major bump) nor a version that fails validation', async () => {
  const decisions = await check();
  const byVersion = Object.fromEntries(decisions.map((d) => [d.version, d]));
  expect(byVersion['2.0.0']).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/major version bump/) });
  expect(byVersion['1.4.0']).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/failed validation/) });
  expect(byVersion['1.3.0']).toMatchObject({ outcome: 'rolled_out', reason: expect.stringMatching(/\+3\.00 %/) });
  // 1.1.0 is never considered: a better one was rolled out first.
  expect(byVersion['1.1.0']).toBeUndefined();
  expect((await deployment(server, 'clf')).status.traffic).toEqual([{ version: '1.3.0', weight: 100 }]);
  expect((await infer(server, 'clf')).version).toBe('1.3.0');
  // Downloaded, scanned and registered locally, with its origin recorded.
  const local = (await (await server.call('/api/v1/models/clf/versions/1.3.0')).json()) as { scanStatus: string; metadata: { lineage: { source_uri: string } } };
  expect(local.metadata.lineage.source_uri).toBe('remote:upstream/clf@1.3.0');
  expect(local.scanStatus).not.toBe('FAILED');
  // Every decision is on the deployment's decision log and the audit log.
  const log = (await (await server.call('/api/v1/deployments/clf/decisions')).json()) as { decisions: Array<{ action: string }> };
  expect(log.decisions.map((d) => d.action)).toEqual(expect.arrayContaining(['update.skipped', 'update.rejected', 'update.rolled_out']));
});

it('takes the major version once the policy allows it', async () => {
  const patched = await server.call('/api/v1/deployments/clf', { method: 'PATCH', json: { updates: { source: 'remote:upstream', allowMajor: true } } });
  expect(patched.status, await patched.clone().text()).toBe(200);
  const decisions = await check();
  expect(decisions).toEqual([expect.objectContaining({ version: '2.0.0', outcome: 'rolled_out' })]);
  expect((await infer(server, 'clf')).version).toBe('2.0.0');
});
