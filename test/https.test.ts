import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { makeTempDir } from './support/tmp.ts';

const certs = makeTempDir('tls');
let server: TestServer;

beforeAll(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(certs.dir, 'key.pem'), '-out', join(certs.dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  server = await startTestServer(
    { server: { https: { keyFile: 'key.pem', certFile: 'cert.pem' } } },
    { configDir: certs.dir },
  );
});

afterAll(async () => {
  await server?.close();
  certs.remove();
});

it('serves HTTPS with the configured certificate (paths relative to the config file)', async () => {
  expect(server.url).toMatch(/^https:\/\//);
  const body = await new Promise<string>((resolve, reject) => {
    request(`${server.url}/healthz`, { ca: readFileSync(join(certs.dir, 'cert.pem')) }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
  expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
});
