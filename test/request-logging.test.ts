import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { repoRoot } from './support/tmp.ts';

const metadata = { framework: 'onnx', architecture: 'mlp', training_data_description: 'fixture', performance_metrics: { accuracy: 1 }, license: { id: 'MIT' } };
const body = { inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => i / 64) }] };

/** A server whose log lines are collected, at the default `info` level. */
async function loggedServer(logInferenceRequests?: boolean) {
  const lines: Array<{ msg: string; req?: { url: string }; reason?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const server = await startTestServer(
    {
      server: { logLevel: 'info', ...(logInferenceRequests === undefined ? {} : { logInferenceRequests }) },
      plugins: ['@modelplane/runtime-onnx'],
      models: [{ name: 'ids', register: { path: join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx'), version: '1.0.0', metadata } }],
    },
    { logger: pino({ level: 'info' }, sink) },
  );
  const logged = (url: string) => lines.filter((l) => l.msg === 'incoming request' && l.req?.url === url).length;
  return { server, lines, logged };
}

let server: TestServer | undefined;
afterEach(() => server?.close());

describe('request logging', () => {
  it('does not log each inference call by default, but still logs the management API and rejected calls', async () => {
    const log = await loggedServer();
    server = log.server;
    for (let i = 0; i < 3; i++) expect((await server.call('/v2/models/ids/infer', { method: 'POST', json: body })).status).toBe(200);
    expect((await server.call('/api/v1/models')).status).toBe(200);
    const bad = await server.call('/v2/models/ids/infer', { method: 'POST', json: { inputs: [{ ...body.inputs[0], shape: [2, 64] }] } });
    expect(bad.status).toBe(400);
    expect(log.logged('/v2/models/ids/infer')).toBe(0);
    expect(log.logged('/api/v1/models')).toBe(1);
    expect(log.lines.some((l) => l.msg === 'request rejected' && /needs 128 elements/.test(l.reason ?? ''))).toBe(true);
  });

  it('logs every inference call with server.logInferenceRequests', async () => {
    const log = await loggedServer(true);
    server = log.server;
    for (let i = 0; i < 3; i++) expect((await server.call('/v2/models/ids/infer', { method: 'POST', json: body })).status).toBe(200);
    expect(log.logged('/v2/models/ids/infer')).toBe(3);
    expect(log.lines.filter((l) => l.msg === 'request completed').length).toBeGreaterThanOrEqual(3);
  });
});
