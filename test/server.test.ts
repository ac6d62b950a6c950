import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { validate } from '@readme/openapi-parser';
import { asFunction } from 'awilix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { makeTempDir, repoRoot } from './support/tmp.ts';

let server: TestServer;
let tmp: { dir: string; remove(): void };
const disposedScopes: string[] = [];

beforeAll(async () => {
  tmp = makeTempDir('server');
  server = await startTestServer(
    { plugins: ['modelplane-plugin-hello'] },
    {
    beforeListen(app) {
      app.get('/scope-check', { config: { scope: 'public' } }, async (request) => {
        request.diScope.register({
          tracer: asFunction(({ requestId }: { requestId: string }) => ({ requestId }))
            .scoped()
            .disposer((tracer) => void disposedScopes.push(tracer.requestId)),
        });
        const cradle = request.diScope.cradle as unknown as {
          requestId: string;
          principal: { id: string };
          tracer: { requestId: string };
        };
        return { requestId: cradle.requestId, principal: cradle.principal.id, traced: cradle.tracer.requestId };
      });
    },
    },
  );
});

afterAll(async () => {
  await server?.close();
  tmp?.remove();
});

describe('HTTP server', () => {
  it('answers /healthz', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('lists plugins with what they registered', async () => {
    const body = (await (await server.call('/api/v1/plugins')).json()) as { plugins: unknown[] };
    expect(body.plugins).toEqual([
      expect.objectContaining({
        name: '@modelplane/core/embedded-stores',
        builtin: true,
        contributions: { metadataStore: ['sqlite'], artifactStore: ['filesystem'] },
      }),
      expect.objectContaining({
        name: 'modelplane-plugin-hello',
        contributions: { guard: ['blocked-words'] },
        hooks: ['ready'],
        configIndex: 0,
      }),
    ]);
  });

  it('echoes a safe caller request id and makes one otherwise', async () => {
    const given = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const unsafe = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id\twith tabs' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives each request its own DI scope, disposed when the response ends', async () => {
    const response = await fetch(`${server.url}/scope-check`, { headers: { 'x-request-id': 'scope-1' } });
    expect(await response.json()).toEqual({ requestId: 'scope-1', principal: 'anonymous', traced: 'scope-1' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(disposedScopes).toContain('scope-1');
  });

  it('exposes Prometheus metrics, counting requests by route pattern', async () => {
    await fetch(`${server.url}/healthz`);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const response = await server.call('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/modelplane_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toContain('modelplane_process_cpu_seconds_total');
  });

  it('answers unknown routes with the error envelope', async () => {
    const response = await fetch(`${server.url}/api/v1/nothing-here`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('MP_ERR_ROUTE_NOT_FOUND');
    expect(body.error.message).toContain('/api/v1/nothing-here');
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('uses the V2 error shape under /v2', async () => {
    const response = await fetch(`${server.url}/v2/not-a-route`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: expect.stringContaining('/v2/not-a-route') });
  });

  it('serves a valid OpenAPI 3.1 document generated from the route schemas', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Record<string, any>;
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/api/v1/plugins'].get.responses['200']).toBeDefined();
    // The statuses the routes really answer with.
    expect(Object.keys(document.paths['/api/v1/deployments'].post.responses)).toContain('201');
    expect(Object.keys(document.paths['/api/v1/deployments/{name}'].delete.responses)).toContain('204');
    const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
    // Finished for client generators: a server, an operationId on every operation (unique), no `{*}` template.
    expect(document.servers).toEqual([{ url: '/' }]);
    const operations = Object.values(document.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((item) => Object.values(item));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(document.paths['/api/v1/models/{name}'].get.operationId).toBe('getApiV1ModelsByName');
    const file = document.paths['/api/v1/models/{name}/versions/{version}/files/{path}'].get;
    expect(file.parameters.map((p: { name: string }) => p.name)).toEqual(['name', 'version', 'path']);
    expect(Object.keys(document.paths).some((path) => path.includes('{*}'))).toBe(false);
    expect(document.paths['/api/v1/blobs'].post.requestBody.content).toHaveProperty('application/octet-stream');
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request on SIGTERM, refuses new ones, then runs shutdown hooks', async () => {
    const node = join(repoRoot, 'node_modules', '.bin', 'node');
    const child = spawn(node, [join(repoRoot, 'test/fixtures/slow-route-server.ts'), join(tmp.dir, 'slow')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const output: string[] = [];
    const firstLine = new Promise<string>((resolve) => {
      lines.on('line', (line) => {
        output.push(line);
        if (output.length === 1) resolve(line);
      });
    });
    const url = await firstLine;
    const inFlight = fetch(`${url}/slow?ms=800`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ slept: 800 });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output).toContain('shutdown-hook-ran');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
