import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, infer, pushScripted, SCRIPTED_PLUGIN, steadyLoad, waitFor } from './support/deployments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let receiver: Server;
const delivered: Array<{ type: string; data: Record<string, unknown> }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      delivered.push(JSON.parse(Buffer.concat(chunks).toString()) as (typeof delivered)[number]);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  server = await startTestServer({
    auth: { rateLimit: { perSecond: 100_000, burst: 100_000 } },
    plugins: [SCRIPTED_PLUGIN],
    events: { webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['alert.*'] }] },
  });
  await pushScripted(server, 'clf', '1.0.0');
  await pushScripted(server, 'clf', '1.1.0', { errorRate: 0.5 });
  await pushScripted(server, 'clf', '1.2.0');
  await pushScripted(server, 'clf', '1.3.0', { shift: 1 });
  await pushScripted(server, 'clf', '1.4.0', { delayMs: 40 });
  await pushScripted(server, 'clf', '2.0.0', { inputWidth: 5 });
  const created = await server.call('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'clf',
      model: 'clf',
      traffic: [{ version: '1.0.0', weight: 100 }],
      // Short windows so the whole rollout takes about a second; generous latency bounds for a shared CI machine.
      rollout: { windowMs: 150, minRequests: 3, minFeedback: 5, minP99DeltaMs: 200 },
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
});
afterAll(async () => {
  await server?.close();
  receiver?.close();
});

async function rolloutUnderLoad(version: string, send = () => infer(server, 'clf')) {
  const load = steadyLoad(send, 3);
  const started = await server.call('/api/v1/deployments/clf/rollout', { method: 'POST', json: { version } });
  expect(started.status, await started.clone().text()).toBe(200);
  const final = await waitFor(() => deployment(server, 'clf'), (d) => d.status.rollout === null, 15_000);
  const outcomes = await load.stop();
  return { final, outcomes };
}

describe('canary', () => {
  it('rolls a candidate with a higher error rate back automatically, leaving no traffic on it', async () => {
    const { final, outcomes } = await rolloutUnderLoad('1.1.0');
    expect(final.status.lastRollout).toMatchObject({ candidate: '1.1.0', status: 'rolled_back' });
    expect(final.status.lastRollout!.reason).toMatch(/error rate/);
    expect(final.status.traffic).toEqual([{ version: '1.0.0', weight: 100 }]);
    expect(final.status.loaded).toEqual(['1.0.0']);
    // The candidate took traffic: an answer from it, or one of its failures (the stable version never fails, and a
    // failed answer names no version; with few canary requests all of them may have failed).
    expect(outcomes.some((o) => o.version === '1.1.0' || o.status >= 500)).toBe(true);
    // After the rollback every answer comes from the stable version again.
    for (let i = 0; i < 20; i++) expect((await infer(server, 'clf')).version).toBe('1.0.0');
  });

  it('rolls back on accuracy when labelled feedback shows the candidate is wrong', async () => {
    const { final } = await rolloutUnderLoad('1.3.0', async () => {
      const answer = await infer(server, 'clf');
      const scores = answer.body.outputs?.[0]?.data ?? [];
      // The right class for the test row is 1.
      await server.call('/api/v1/deployments/clf/feedback', { method: 'POST', json: { items: [{ model_version: answer.version, prediction: scores.indexOf(Math.max(...scores)), label: 1 }] } });
      return answer;
    });
    expect(final.status.lastRollout).toMatchObject({ candidate: '1.3.0', status: 'rolled_back' });
    expect(final.status.lastRollout!.reason).toMatch(/accuracy/);
  });

  it('takes a good candidate through every step to 100 %', async () => {
    const { final, outcomes } = await rolloutUnderLoad('1.2.0');
    expect(final.status.lastRollout).toMatchObject({ candidate: '1.2.0', status: 'promoted' });
    expect(final.status.traffic).toEqual([{ version: '1.2.0', weight: 100 }]);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    const decisions = (await (await server.call('/api/v1/deployments/clf/decisions')).json()) as { decisions: Array<{ action: string; details: { percent?: number; candidate?: string } }> };
    const steps = decisions.decisions.filter((d) => d.action === 'rollout.step' && d.details.candidate === '1.2.0').map((d) => d.details.percent);
    expect(steps.reverse()).toEqual([5, 25, 50, 75]);
  });

  it('refuses a candidate whose inputs differ from the stable version, before it takes any traffic', async () => {
    const before = (await deployment(server, 'clf')).status.traffic;
    const refused = await server.call('/api/v1/deployments/clf/rollout', { method: 'POST', json: { version: '2.0.0' } });
    expect(refused.status).toBe(422);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('MP_ERR_VALIDATION_FAILED');
    expect(error.message).toContain('input "x" takes [-1,5], not [-1,3]');
    const after = await deployment(server, 'clf');
    expect(after.status.traffic).toEqual(before);
    expect(after.status.loaded).not.toContain('2.0.0');
    expect(after.status.lastRollout).toMatchObject({ candidate: '2.0.0', status: 'rejected', reason: expect.stringContaining('incompatible signature') });
  });

  it('promote and abort end a rollout by hand', async () => {
    await server.call('/api/v1/deployments/clf', { method: 'PATCH', json: { rollout: { windowMs: 60_000 } } });
    expect((await server.call('/api/v1/deployments/clf/rollout', { method: 'POST', json: { version: '1.0.0' } })).status).toBe(200);
    expect((await deployment(server, 'clf')).status.traffic).toEqual([
      { version: '1.2.0', weight: 95 },
      { version: '1.0.0', weight: 5 },
    ]);
    expect((await server.call('/api/v1/deployments/clf/abort', { method: 'POST', json: { reason: 'not today' } })).status).toBe(200);
    expect((await deployment(server, 'clf')).status).toMatchObject({ traffic: [{ version: '1.2.0', weight: 100 }], lastRollout: { status: 'aborted', reason: 'not today' } });
    expect((await server.call('/api/v1/deployments/clf/promote', { method: 'POST' })).status).toBe(409);
    await server.call('/api/v1/deployments/clf', { method: 'PATCH', json: { rollout: { windowMs: 150 } } });
  });
});

describe('shadow and A/B', () => {
  it('mirrors requests to a shadow version without changing any response, and reports agreement and latency', async () => {
    const baseline = await infer(server, 'clf');
    const patched = await server.call('/api/v1/deployments/clf', { method: 'PATCH', json: { shadow: { version: '1.3.0', share: 1 } } });
    expect(patched.status, await patched.clone().text()).toBe(200);
    for (let i = 0; i < 30; i++) {
      const answer = await infer(server, 'clf');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(baseline.body);
    }
    const report = await waitFor(() => deployment(server, 'clf'), (d) => (d.status.shadow?.compared ?? 0) >= 30);
    // 1.3.0 always predicts another class, so it never agrees.
    expect(report.status.shadow).toMatchObject({ compared: 30, agreementRate: 0 });
    expect(report.status.shadow!.p99Ms).toBeGreaterThan(0);
    await server.call('/api/v1/deployments/clf', { method: 'PATCH', json: { shadow: null } });
    expect((await deployment(server, 'clf')).status.loaded).toEqual(['1.2.0']);
  });

  it('splits A/B traffic by fixed weights, sticky by a request header', async () => {
    const patched = await server.call('/api/v1/deployments/clf', {
      method: 'PATCH',
      json: { traffic: [{ version: '1.2.0', weight: 50 }, { version: '1.0.0', weight: 50 }], stickyHeader: 'x-user' },
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    const seen = new Map<string, Set<string>>();
    for (let user = 0; user < 40; user++) {
      for (let i = 0; i < 3; i++) {
        const answer = await infer(server, 'clf', { 'x-user': `user-${user}` });
        seen.set(`user-${user}`, (seen.get(`user-${user}`) ?? new Set()).add(answer.version!));
      }
    }
    expect([...seen.values()].every((versions) => versions.size === 1)).toBe(true);
    expect(new Set([...seen.values()].flatMap((v) => [...v]))).toEqual(new Set(['1.0.0', '1.2.0']));
  });

  it('a canary of the version that leads an A/B split is compared with the other version, never with itself', async () => {
    // The split is 1.2.0 50 % / 1.0.0 50 %: 1.2.0, first on the tie, has the most traffic.
    const started = await server.call('/api/v1/deployments/clf/rollout', { method: 'POST', json: { version: '1.2.0' } });
    expect(started.status, await started.clone().text()).toBe(200);
    const rolling = await deployment(server, 'clf');
    expect(rolling.status.rollout).toMatchObject({ candidate: '1.2.0', stable: '1.0.0' });
    expect(rolling.status.traffic).toEqual([{ version: '1.0.0', weight: 95 }, { version: '1.2.0', weight: 5 }]);
    // The spec stays valid: it can still be changed while the rollout runs.
    expect((await server.call('/api/v1/deployments/clf', { method: 'PATCH', json: { stickyHeader: null } })).status).toBe(200);
    // `{reason?}`: the body itself is optional.
    expect((await server.call('/api/v1/deployments/clf/abort', { method: 'POST' })).status).toBe(200);
    expect((await deployment(server, 'clf')).status.traffic).toEqual([{ version: '1.0.0', weight: 100 }]);
    const again = await server.call('/api/v1/deployments/clf/rollout', { method: 'POST', json: { version: '1.0.0' } });
    expect(again.status).toBe(409);
  });
});

it('delivers an alert webhook when the p99 latency stays above its threshold', async () => {
  const created = await server.call('/api/v1/deployments', {
    method: 'POST',
    json: { name: 'slow', model: 'clf', traffic: [{ version: '1.4.0', weight: 100 }], alerts: { p99LatencyMs: 20, forMs: 200, windowMs: 2000, minRequests: 3 } },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const load = steadyLoad(() => infer(server, 'slow'), 2);
  const alert = await waitFor(async () => delivered.find((d) => d.type === 'alert.latency_p99'), (found) => found !== undefined, 10_000);
  await load.stop();
  expect(alert).toBeDefined();
  expect(alert!.data).toMatchObject({ deployment: 'slow', thresholdMs: 20 });
  expect(alert!.data.p99Ms).toBeGreaterThan(20);
});

it('a deployment is ready only when the instance of the version it serves says so', async () => {
  await pushScripted(server, 'sick', '1.0.0', { healthy: false });
  await pushScripted(server, 'sick', '1.1.0');
  const created = await server.call('/api/v1/deployments', { method: 'POST', json: { name: 'sick', model: 'sick', traffic: [{ version: '1.0.0', weight: 100 }] } });
  expect(created.status, await created.clone().text()).toBe(201);
  const ready = await server.call('/v2/models/sick/ready');
  expect(ready.status).toBe(400);
  expect(await ready.json()).toEqual({ error: 'model "sick" is not ready: scripted: unhealthy' });
  expect((await server.call('/v2/models/sick/versions/1.0.0/ready')).status).toBe(400);
  const swapped = await server.call('/api/v1/deployments/sick/rollout', { method: 'POST', json: { version: '1.1.0', strategy: 'swap' } });
  expect(swapped.status, await swapped.clone().text()).toBe(200);
  expect((await server.call('/v2/models/sick/ready')).status).toBe(200);
  expect((await server.call('/v2/models/sick/versions/1.1.0/ready')).status).toBe(200);
  expect((await server.call('/v2/models/sick/versions/1.0.0/ready')).status).toBe(400);
  const deleted = await server.call('/api/v1/deployments/sick', { method: 'DELETE' });
  expect(deleted.status).toBe(204);
  expect(await deleted.text()).toBe('');
  expect((await server.call('/v2/models/sick/ready')).status).toBe(400);
});
