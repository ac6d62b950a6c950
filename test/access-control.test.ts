import { Writable } from 'node:stream';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import type { DeclaredRoute } from '@modelplane/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validMetadata } from './support/registry-client.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { repoRoot } from './support/tmp.ts';

const logLines: string[] = [];
const captured = pino(
  { level: 'trace' },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

let server: TestServer;
const keys: Record<string, string> = {};

async function createKey(body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const response = await server.call('/api/v1/keys', { method: 'POST', json: body });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; token: string };
}

/** Real values for every path parameter, so allowed GETs must answer 2xx, not just "not 401/403". */
const params: Record<string, string> = { name: 'ids-demo', model: 'ids-demo', version: '1.0.0', alias: 'production', '*': 'ids-mlp.onnx' };

beforeAll(async () => {
  const fixture = join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx');
  server = await startTestServer(
    {
      auth: { rateLimit: { perSecond: 1000, burst: 1000 } },
      plugins: ['@modelplane/runtime-onnx'],
      // Served as a deployment, so the /api/v1/deployments/:name routes have a real object to read.
      models: [{ name: 'ids-demo', load: false, register: { path: fixture, version: '1.0.0', metadata: validMetadata() } }],
      deployments: [{ name: 'ids-demo', model: 'ids-demo', traffic: [{ version: '1.0.0', weight: 100 }] }],
    },
    { logger: captured },
  );
  await server.call('/api/v1/models/ids-demo/aliases/production', { method: 'PUT', json: { version: '1.0.0' } });
  const version = (await (await server.call('/api/v1/models/ids-demo/versions/1.0.0')).json()) as { files: Array<{ digest: string }> };
  params.digest = version.files[0]!.digest;
  for (const scope of ['read', 'infer', 'write', 'deploy', 'admin'] as const) {
    keys[scope] = (await createKey({ name: `${scope}-key`, scopes: [scope] })).token;
  }
  keys.otherModel = (await createKey({ name: 'other-model', scopes: ['read', 'infer', 'write', 'deploy'], models: ['other-*'] })).token;
  params.id = (await createKey({ name: 'matrix-target', scopes: ['read'] })).id;
});

afterAll(() => server?.close());

/** What each role may do; `admin` implies all, `write` and `deploy` imply `read`. */
const ALLOWED: Record<string, readonly string[]> = {
  read: ['read'],
  infer: ['infer'],
  write: ['write', 'read'],
  deploy: ['deploy', 'read'],
  admin: ['read', 'infer', 'write', 'deploy', 'admin'],
};

function concretePath(route: DeclaredRoute): string {
  // On the gateway (/v1) a model is an LLM or a route; `auto` is one every server has.
  const values = route.url.startsWith('/v1/') ? { ...params, model: 'auto' } : params;
  return route.url.replace(/:([A-Za-z_]+)|\*/g, (match, name: string | undefined) => values[name ?? '*'] ?? match);
}

async function statusFor(route: DeclaredRoute, key: string | null): Promise<number> {
  const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(route.method);
  const response = await server.call(concretePath(route), { method: route.method, key, ...(hasBody ? { json: {} } : {}) });
  // An event stream never ends: its status is all this test needs.
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) await response.body?.cancel();
  else await response.arrayBuffer();
  return response.status;
}

// Before the matrix below, which retires and unloads what it touches.
describe('lists and model patterns', () => {
  it('lists only the deployments and served models a key limited to some models may open', async () => {
    const names = async (path: string, method: string, key?: string) => {
      const body = (await (await server.call(path, { method, ...(key ? { key } : {}) })).json()) as unknown;
      const list = Array.isArray(body) ? (body as Array<{ name: string }>) : (body as { deployments: Array<{ spec: { name: string } }> }).deployments.map((d) => d.spec);
      return list.map((entry) => entry.name);
    };
    const load = await server.call('/v2/repository/models/ids-listed/load', { method: 'POST', json: { parameters: { reference: 'ids-demo@1.0.0' } } });
    expect(load.status).toBe(200);
    expect(await names('/api/v1/deployments', 'GET')).toContain('ids-demo');
    // The index lists deployments too: they are models clients call.
    expect(await names('/v2/repository/index', 'POST')).toEqual(expect.arrayContaining(['ids-listed', 'ids-demo']));
    expect(await names('/api/v1/deployments', 'GET', keys.otherModel)).toEqual([]);
    expect(await names('/v2/repository/index', 'POST', keys.otherModel)).toEqual([]);
  });
});

describe('route × role matrix', () => {
  it('covers every registered route, each with a declared scope', () => {
    const routes = server.running.routes;
    expect(routes.length).toBeGreaterThan(3);
    for (const route of routes) expect(route.scope, `${route.method} ${route.url}`).toBeTruthy();
  });

  it('answers 401 / 403 / allowed as each route declares', async () => {
    const failures: string[] = [];
    // Reads first: the writes below (retire, unload, revoke…) change what later reads would find.
    const ordered = [...server.running.routes].sort((a, b) => Number(a.method !== 'GET') - Number(b.method !== 'GET'));
    for (const route of ordered) {
      if (route.method === 'HEAD' || route.url.startsWith('/docs')) continue;
      const label = `${route.method} ${route.url} [${route.scope}]`;
      const anonymous = await statusFor(route, null);
      if (route.scope === 'public') {
        if (anonymous === 401 || anonymous === 403) failures.push(`${label}: public route refused anonymous (${anonymous})`);
        continue;
      }
      if (anonymous !== 401) failures.push(`${label}: no key → ${anonymous}, expected 401`);
      for (const [role, held] of Object.entries(ALLOWED)) {
        const status = await statusFor(route, keys[role]!);
        const allowed = held.includes(route.scope);
        if (allowed && (status === 401 || status === 403)) failures.push(`${label}: ${role} → ${status}, expected access`);
        // Reads of real objects must succeed outright; writes get an empty body, so only their authorisation is checked.
        if (allowed && route.method === 'GET' && (status < 200 || status > 299)) failures.push(`${label}: ${role} → ${status}, expected 2xx`);
        if (!allowed && status !== 403) failures.push(`${label}: ${role} → ${status}, expected 403`);
      }
      if (route.modelParam) {
        const status = await statusFor(route, keys.otherModel!);
        if (status !== 403) failures.push(`${label}: key for other-* → ${status}, expected 403`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('applies a key\'s model patterns to models named in the body, not only in the path', async () => {
    // The served name is allowed (other-*), the registry model behind it is not.
    const load = await server.call('/v2/repository/models/other-alias/load', {
      method: 'POST',
      key: keys.otherModel!,
      json: { parameters: { reference: 'ids-demo@1.0.0' } },
    });
    expect(load.status).toBe(403);
    expect(((await load.json()) as { error: string }).error).toContain('may not access model "ids-demo"');
    const deployment = await server.call('/api/v1/deployments', {
      method: 'POST',
      key: keys.otherModel!,
      json: { name: 'other-deployment', model: 'ids-demo', traffic: [{ version: '1.0.0', weight: 100 }] },
    });
    expect(deployment.status).toBe(403);
    expect(((await deployment.json()) as { error: { message: string } }).error.message).toContain('may not access model "ids-demo"');
    expect((await server.call('/api/v1/deployments/other-deployment')).status).toBe(404);
  });

  it('refuses to start with a route that declares no scope', async () => {
    await expect(
      startTestServer({}, {
        beforeListen(app) {
          app.get('/api/v1/forgotten', async () => ({}));
        },
      }),
    ).rejects.toMatchObject({ code: 'MP_ERR_ROUTE_WITHOUT_SCOPE', message: expect.stringContaining('/api/v1/forgotten') });
  });

  it('shows each scope as a security requirement in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    expect(doc.paths['/api/v1/keys'].post.security).toEqual([{ apiKey: ['admin'] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });
});

describe('API keys', () => {
  it('stops a revoked key on its very next request', async () => {
    const { id, token } = await createKey({ name: 'short-lived', scopes: ['read'] });
    expect((await server.call('/api/v1/plugins', { key: token })).status).toBe(200);
    expect((await server.call(`/api/v1/keys/${id}`, { method: 'DELETE' })).status).toBe(200);
    const after = await server.call('/api/v1/plugins', { key: token });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('MP_ERR_UNAUTHENTICATED');
  });

  it('rejects a wrong secret for a real key id, and malformed keys, with 401', async () => {
    const { token } = await createKey({ name: 'victim', scopes: ['read'] });
    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await server.call('/api/v1/plugins', { key: forged })).status).toBe(401);
    expect((await server.call('/api/v1/plugins', { key: 'sk-not-ours' })).status).toBe(401);
    const basic = await server.call('/api/v1/plugins', { key: null, headers: { authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);
  });

  it('never shows a secret in responses, logs or the audit log', async () => {
    const { id, token } = await createKey({ name: 'secret-check', scopes: ['read'] });
    const secret = token.split('_').slice(2).join('_');
    await server.call('/api/v1/plugins', { key: token });
    await server.call('/api/v1/keys', { key: `${token.slice(0, -1)}x` });
    await server.call('/api/v1/keys', { key: token }); // 403: read key on an admin route
    const listed = await (await server.call('/api/v1/keys')).text();
    expect(listed).toContain(id);
    expect(listed).not.toContain(secret);
    expect(listed).not.toMatch(/"(salt|hash)"/);
    const db = new DatabaseSync(join(server.dataDir, 'modelplane.sqlite'), { readOnly: true });
    const audit = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
    db.close();
    expect(audit).toContain(`key:${id}`);
    expect(audit).toContain('auth.denied');
    for (const text of [audit, logLines.join('')]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(server.adminKey.split('_').slice(2).join('_'));
    }
  });

  it('validates key creation input with a precise message', async () => {
    const response = await server.call('/api/v1/keys', { method: 'POST', json: { name: 'x', scopes: ['root'] } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('MP_ERR_VALIDATION');
    expect(body.error.message).toContain('body.scopes.0');
  });
});

describe('rate limits', () => {
  it("applies a route's own limit on top of the key's", async () => {
    const admin = (await createKey({ name: 'bulk-minter', scopes: ['admin'] })).token;
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const response = await server.call('/api/v1/keys', { method: 'POST', key: admin, json: { name: `bulk-${i}`, scopes: ['read'] } });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(201));
    expect(statuses.slice(20)).toContain(429);
  });

  it('answers bursts beyond the bucket with 429 and RateLimit headers, then recovers', async () => {
    const { token } = await createKey({ name: 'limited', scopes: ['read'], rateLimit: { perSecond: 5, burst: 3 } });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const response = await server.call('/api/v1/plugins', { key: token });
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
      else expect(response.headers.get('ratelimit-limit')).toBe('3');
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toContain(429);
    expect(refused!.headers.get('retry-after')).toBe('1');
    expect(refused!.headers.get('ratelimit-remaining')).toBe('0');
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe('MP_ERR_RATE_LIMITED');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await server.call('/api/v1/plugins', { key: token })).status).toBe(200);
  });

  it('limits refused requests too, so denials cannot flood the audit log', async () => {
    const { token, id } = await createKey({ name: 'refused-often', scopes: ['infer'], rateLimit: { perSecond: 1, burst: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await server.call('/api/v1/keys', { key: token })).status);
    expect(statuses).toEqual([403, 403, 403, 429, 429, 429]);
    const audit = (await (await server.call(`/api/v1/audit?action=auth.denied&actor=${id}`)).json()) as { entries: unknown[] };
    expect(audit.entries).toHaveLength(3);
  });
});

it('limits failed authentication per client address, without an audit row each once over the limit', async () => {
  const limited = await startTestServer({ auth: { rateLimit: { perSecond: 1, burst: 4 } } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await limited.call('/api/v1/models', { key: `mp_nokey${i}_secret` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429]);
    // A valid key from the same address is not held back by the failures.
    expect((await limited.call('/api/v1/models')).status).toBe(200);
    const denied = (await (await limited.call('/api/v1/audit?action=auth.denied')).json()) as { entries: unknown[] };
    expect(denied.entries).toHaveLength(4);
  } finally {
    await limited.close();
  }
});
