import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushVersion, sha256, uploadBlob, validMetadata } from './support/registry-client.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ registry: { licensePolicy: { commercialUse: true, derivatives: false, expectedMau: 1000 } } });
});
afterAll(() => server?.close());

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string; details?: unknown } }).error;

describe('registry round trip', () => {
  it('pushes a multi-file version, lists it, shows it and serves every file with its digest', async () => {
    const files = { 'model.onnx': Buffer.alloc(200_000, 1), 'model.onnx.data': Buffer.alloc(300_000, 2), 'config/labels.json': '["benign","ddos"]' };
    const pushed = await pushVersion(server, 'ids-mlp', '1.0.0', files);
    expect(pushed.status).toBe(201);
    const version = (await pushed.json()) as { files: Array<{ path: string; digest: string }>; status: string; createdBy: string };
    expect(version.files.map((f) => f.path)).toEqual(['config/labels.json', 'model.onnx', 'model.onnx.data']);
    expect(version.status).toBe('testing');

    const list = (await (await server.call('/api/v1/models')).json()) as { models: Array<{ name: string }> };
    expect(list.models.map((m) => m.name)).toContain('ids-mlp');
    const shown = (await (await server.call('/api/v1/models/ids-mlp')).json()) as { versions: unknown[]; owner: string };
    expect(shown.versions).toHaveLength(1);

    for (const [path, bytes] of Object.entries(files)) {
      const response = await server.call(`/api/v1/models/ids-mlp/versions/1.0.0/files/${path}`);
      expect(response.status).toBe(200);
      const body = Buffer.from(await response.arrayBuffer());
      expect(sha256(body)).toBe(sha256(bytes));
      expect(response.headers.get('digest')).toBe(sha256(bytes));
    }
  });

  it('deduplicates identical uploads and checks an expected digest', async () => {
    const bytes = Buffer.from('same bytes twice');
    const first = await uploadBlob(server, bytes);
    const second = await uploadBlob(server, bytes);
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body).toEqual({ digest: sha256(bytes), size: bytes.length, created: false });
    const wrong = await server.call(`/api/v1/blobs?digest=${sha256('other')}`, { method: 'POST', body: 'not other' });
    expect(wrong.status).toBe(400);
    expect((await errorOf(wrong)).code).toBe('MP_ERR_DIGEST_MISMATCH');
    expect((await server.call(`/api/v1/blobs/${sha256('not other')}`)).status).toBe(404);
  });
});

describe('digest headers', () => {
  it('accepts RFC 9530 Content-Digest and the older Digest header', async () => {
    const b64 = (text: string) => createHash('sha256').update(text).digest('base64');
    const content = await server.call('/api/v1/blobs', { method: 'POST', body: 'cd bytes', headers: { 'content-digest': `sha-256=:${b64('cd bytes')}:` } });
    expect(content.status).toBe(201);
    const legacy = await server.call('/api/v1/blobs', { method: 'POST', body: 'digest bytes', headers: { digest: `SHA-256=${b64('other')}` } });
    expect((await errorOf(legacy)).code).toBe('MP_ERR_DIGEST_MISMATCH');
  });

  it.each([
    ['sha-256=AAAA', 'decodes to 3 bytes, not 32'],
    // The hex digest where base64 belongs, a common slip.
    [`sha-256=${sha256('x').slice(7)}`, 'decodes to 48 bytes, not 32'],
  ])('names a sha-256 value that is not a digest: %s', async (header, message) => {
    const response = await server.call('/api/v1/blobs', { method: 'POST', body: 'x', headers: { digest: header } });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.message).toContain(`digest header "${header}"`);
    expect(error.message).toContain(message);
  });
});

describe('immutability', () => {
  it('answers an identical re-push with 200 and different content with 409', async () => {
    expect((await pushVersion(server, 'immut', '2.1.0', { 'w.bin': 'A' })).status).toBe(201);
    expect((await pushVersion(server, 'immut', '2.1.0', { 'w.bin': 'A' })).status).toBe(200);
    const conflict = await pushVersion(server, 'immut', '2.1.0', { 'w.bin': 'B' });
    expect(conflict.status).toBe(409);
    const error = await errorOf(conflict);
    expect(error.code).toBe('MP_ERR_VERSION_CONFLICT');
    expect(error.message).toContain('immut@2.1.0 already exists');
    const changedMetadata = await pushVersion(server, 'immut', '2.1.0', { 'w.bin': 'A' }, validMetadata({ architecture: 'cnn' }));
    expect(changedMetadata.status).toBe(409);
  });

  it('lists every missing or invalid metadata field at once', async () => {
    const response = await pushVersion(server, 'immut', '3.0.0', { 'w.bin': 'A' }, { framework: 'onnx', parameter_count: -5, license: {} });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('MP_ERR_INVALID_METADATA');
    for (const field of ['metadata.architecture', 'metadata.training_data_description', 'metadata.performance_metrics', 'metadata.license.id', 'metadata.parameter_count']) {
      expect(error.message).toContain(field);
    }
    expect(error.message).toContain('is required');
  });

  it('accepts seed 000\'s license_info spelling', async () => {
    const { license: _license, ...rest } = validMetadata();
    const response = await pushVersion(server, 'immut', '3.1.0', { 'w.bin': 'A' }, { ...rest, license_info: { id: 'MIT' } });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { metadata: { license: { id: string } } }).metadata.license.id).toBe('MIT');
  });
});

describe('concurrency', () => {
  it('50 parallel pushes of distinct versions all succeed', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => pushVersion(server, 'parallel', `1.0.${i}`, { 'w.bin': `weights ${i}` })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    const versions = (await (await server.call('/api/v1/models/parallel/versions')).json()) as { versions: unknown[] };
    expect(versions.versions).toHaveLength(50);
  });

  it('10 parallel pushes of one version with different bytes: exactly one wins, the rest 409', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => pushVersion(server, 'race', '1.0.0', { 'w.bin': `contender ${i}` })));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    const winner = (await responses[responses.findIndex((r) => r.status === 201)]!.json()) as { manifestDigest: string; files: Array<{ digest: string }> };
    const stored = (await (await server.call('/api/v1/models/race/versions/1.0.0')).json()) as { manifestDigest: string };
    expect(stored.manifestDigest).toBe(winner.manifestDigest);
    const file = await server.call('/api/v1/models/race/versions/1.0.0/files/w.bin');
    expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(winner.files[0]!.digest);
  });
});

describe('aliases, status and licenses', () => {
  it('resolves name@alias, name@version and a bare name', async () => {
    await pushVersion(server, 'resolve-me', '1.0.0', { 'a.bin': '1' });
    await pushVersion(server, 'resolve-me', '1.2.0', { 'a.bin': '2' });
    await pushVersion(server, 'resolve-me', '2.0.0-rc.1', { 'a.bin': '3' });
    const get = async (selector: string) => ((await (await server.call(`/api/v1/models/resolve-me/versions/${selector}`)).json()) as { version: string }).version;
    // No alias, nothing active: the highest version that is not retired.
    await server.call('/api/v1/models/resolve-me/versions/1.0.0/status', { method: 'PUT', json: { status: 'active' } });
    expect((await server.call('/api/v1/models/resolve-me/aliases/production', { method: 'PUT', json: { version: '1.2.0' } })).status).toBe(200);
    expect(await get('production')).toBe('1.2.0');
    expect(await get('1.0.0')).toBe('1.0.0');
    expect(await get('default')).toBe('1.0.0'); // no default alias: the highest active version
    const unknown = await server.call('/api/v1/models/resolve-me/versions/staging');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).message).toContain('aliases: production');
  });

  it('validates status transitions and makes retired final', async () => {
    await pushVersion(server, 'lifecycle', '1.0.0', { 'a.bin': 'x' });
    const set = (status: string) => server.call('/api/v1/models/lifecycle/versions/1.0.0/status', { method: 'PUT', json: { status } });
    expect((await set('active')).status).toBe(200);
    expect((await set('deprecated')).status).toBe(200);
    expect((await server.call('/api/v1/models/lifecycle/versions/1.0.0', { method: 'DELETE' })).status).toBe(200);
    const back = await set('active');
    expect(back.status).toBe(409);
    expect((await errorOf(back)).message).toContain('retired is final');
  });

  it('checks licenses against the usage policy and audits an acknowledgement', async () => {
    await pushVersion(server, 'llama-ish', '1.0.0', { 'w.bin': 'l' }, validMetadata({ license: { id: 'llama-3.1-community' } }));
    await pushVersion(server, 'research', '1.0.0', { 'w.bin': 'r' }, validMetadata({ license: { id: 'mistral-research' } }));
    const llama = (await (await server.call('/api/v1/models/llama-ish/license')).json()) as { decision: string; reasons: string[] };
    expect(llama.decision).toBe('warning');
    expect(llama.reasons.join(' ')).toContain('700,000,000');
    const research = (await (await server.call('/api/v1/models/research/license')).json()) as { decision: string; reasons: string[] };
    expect(research.decision).toBe('blocked');
    expect(research.reasons[0]).toContain('commercial use');
    // SPDX ids are case-insensitive: "apache-2.0" is the catalogue's Apache-2.0, not an unknown license.
    await pushVersion(server, 'lowercase-license', '1.0.0', { 'w.bin': 'a' }, validMetadata({ license: { id: 'apache-2.0' } }));
    const apache = (await (await server.call('/api/v1/models/lowercase-license/license')).json()) as { decision: string; reasons: string[] };
    expect(apache).toMatchObject({ decision: 'allowed', reasons: [] });
    const ack = await server.call('/api/v1/models/llama-ish/license/acknowledge', { method: 'POST', json: { reason: 'legal reviewed, ticket LEG-12' } });
    expect(ack.status).toBe(201);
    const audit = (await (await server.call('/api/v1/audit?action=license.acknowledge')).json()) as { entries: Array<{ target: string; details: { reason: string } }> };
    expect(audit.entries[0]).toMatchObject({ target: 'model:llama-ish@1.0.0', details: { reason: 'legal reviewed, ticket LEG-12' } });
  });

  it('audits mutations with the actor key id', async () => {
    const audit = (await (await server.call('/api/v1/audit?target=model:immut@2.1.0')).json()) as { entries: Array<{ actor: string; action: string; afterDigest: string }> };
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'version.register', actor: server.adminKey.split('_')[1], afterDigest: expect.stringMatching(/^sha256:/) }));
    // No scanner is installed in this server: the automatic scan records SKIPPED, as the system.
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'version.scan', actor: 'system', details: expect.objectContaining({ status: 'SKIPPED' }) }));
  });

  it('filters and paginates the model list', async () => {
    await pushVersion(server, 'tf-model', '1.0.0', { 'w.bin': 'tf' }, validMetadata({ framework: 'tfjs', parameter_count: 5_000_000 }));
    const byFramework = (await (await server.call('/api/v1/models?framework=tfjs')).json()) as { models: Array<{ name: string }> };
    expect(byFramework.models.map((m) => m.name)).toEqual(['tf-model']);
    const small = (await (await server.call('/api/v1/models?max_params=100000')).json()) as { models: Array<{ name: string }> };
    expect(small.models.map((m) => m.name)).not.toContain('tf-model');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await server.call(`/api/v1/models?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { models: Array<{ name: string }>; nextCursor: string | null };
      expect(page.models.length).toBeLessThanOrEqual(2);
      seen.push(...page.models.map((m) => m.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('tf-model');
  });

  it('gives a key limited to some models full pages of the models it may see', async () => {
    for (const name of ['pg-a', 'pg-keep-b', 'pg-c', 'pg-keep-d', 'pg-e', 'pg-f', 'pg-keep-g']) await pushVersion(server, name, '1.0.0', { 'w.bin': name }, validMetadata());
    const created = await server.call('/api/v1/keys', { method: 'POST', json: { name: 'pages', scopes: ['read'], models: ['pg-keep-*'] } });
    const { token } = (await created.json()) as { token: string };
    const first = (await (await server.call('/api/v1/models?limit=2', { key: token })).json()) as { models: Array<{ name: string }>; nextCursor: string | null };
    expect(first.models.map((m) => m.name)).toEqual(['pg-keep-b', 'pg-keep-d']);
    const second = (await (await server.call(`/api/v1/models?limit=2&cursor=${first.nextCursor}`, { key: token })).json()) as { models: Array<{ name: string }>; nextCursor: string | null };
    expect(second.models.map((m) => m.name)).toEqual(['pg-keep-g']);
    expect(second.nextCursor).toBeNull();
  });

  it('garbage-collects only unreferenced blobs', async () => {
    const orphan = await uploadBlob(server, 'nobody references me');
    const recent = (await (await server.call('/api/v1/gc?dry_run=true', { method: 'POST' })).json()) as { removed: string[] };
    expect(recent.removed).not.toContain(orphan.body.digest); // younger than an hour: may still get its manifest
    const dry = (await (await server.call('/api/v1/gc?dry_run=true&min_age_seconds=0', { method: 'POST' })).json()) as { removed: string[] };
    expect(dry.removed).toContain(orphan.body.digest);
    expect((await server.call(`/api/v1/blobs/${orphan.body.digest}`)).status).toBe(200);
    const real = (await (await server.call('/api/v1/gc?min_age_seconds=0', { method: 'POST' })).json()) as { removed: string[] };
    expect(real.removed).toContain(orphan.body.digest);
    expect((await server.call(`/api/v1/blobs/${orphan.body.digest}`)).status).toBe(404);
    expect((await server.call('/api/v1/models/ids-mlp/versions/1.0.0/files/model.onnx')).status).toBe(200);
  });
});

describe('bad input gets a precise 4xx', () => {
  const post = (path: string, body: string, type = 'application/json') =>
    server.call(path, { method: 'POST', body, headers: { 'content-type': type } });

  it('malformed JSON', async () => {
    const response = await post('/api/v1/models/x/versions', '{"version": "1.0.0", files: ');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe('MP_ERR_INVALID_JSON');
  });

  it('a wrong content type', async () => {
    const response = await post('/api/v1/models', 'name=x', 'application/x-www-form-urlencoded');
    expect(response.status).toBe(415);
    expect((await errorOf(response)).code).toBe('MP_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it.each([
    ['../x', 'leaves the version'],
    ['/etc/passwd', 'is absolute'],
    ['a\\b', 'backslash'],
    ['a//b', 'empty'],
  ])('manifest path %s', async (path, message) => {
    const blob = await uploadBlob(server, 'payload');
    const response = await server.call('/api/v1/models/paths/versions', {
      method: 'POST',
      json: { version: '1.0.0', files: [{ path, digest: blob.body.digest, size: blob.body.size }], metadata: validMetadata() },
    });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('MP_ERR_INVALID_MANIFEST');
    expect(error.message).toContain('files[0].path');
    expect(error.message).toContain(message);
  });

  it.each([
    ['/api/v1/models', 'W10'], // base64url of []: SQLite cannot bind it
    ['/api/v1/models', 'eyJhIjoxfQ'], // {"a":1}
    ['/api/v1/models', 'MjA'], // 20: an audit cursor
    ['/api/v1/models', 'not-a-cursor!'],
    ['/api/v1/audit', 'InBnLTIi'], // "pg-2": a model cursor
  ])('a cursor the list did not hand out (%s, %s)', async (path, cursor) => {
    const response = await server.call(`${path}?limit=2&cursor=${encodeURIComponent(cursor)}`);
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('MP_ERR_INVALID_CURSOR');
    expect(error.message).toContain(`cursor "${cursor}"`);
  });

  it('a manifest path that is both a file and a folder', async () => {
    const blob = await uploadBlob(server, 'payload');
    const file = (path: string) => ({ path, digest: blob.body.digest, size: blob.body.size });
    const response = await server.call('/api/v1/models/paths/versions', {
      method: 'POST',
      json: { version: '1.0.0', files: [file('weights'), file('weights/shard-1.bin'), file('x/y'), file('x/y/z/w')], metadata: validMetadata() },
    });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('MP_ERR_INVALID_MANIFEST');
    expect(error.details).toEqual([
      'files[1].path: "weights/shard-1.bin" is inside "weights", which is listed as a file',
      'files[3].path: "x/y/z/w" is inside "x/y", which is listed as a file',
    ]);
  });

  it('a manifest naming a blob that was never uploaded', async () => {
    const response = await server.call('/api/v1/models/paths/versions', {
      method: 'POST',
      json: { version: '1.0.0', files: [{ path: 'm.onnx', digest: sha256('never uploaded'), size: 3 }], metadata: validMetadata() },
    });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain('has not been uploaded');
  });

  it('oversize metadata', async () => {
    const response = await pushVersion(server, 'big-meta', '1.0.0', { 'a.bin': 'a' }, validMetadata({ changelog: 'x'.repeat(70_000) }));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/metadata is \d+ bytes; the limit is 65536/);
  });

  it('an invalid semantic version', async () => {
    const response = await pushVersion(server, 'semver', 'v1', { 'a.bin': 'a' });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('MP_ERR_INVALID_VERSION');
    expect(error.message).toContain('"v1" is not a semantic version');
    // Build metadata does not tell versions apart in semver: refused, not silently dropped.
    const build = await pushVersion(server, 'semver', '1.2.0+build.5', { 'a.bin': 'a' });
    expect(build.status).toBe(400);
    expect((await errorOf(build)).message).toContain('build metadata (+build.5) does not make a distinct version; use a prerelease such as 1.2.0-build.5');
  });

  it('an invalid model name and an unknown model', async () => {
    const bad = await pushVersion(server, 'Bad_Name', '1.0.0', { 'a.bin': 'a' });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('MP_ERR_INVALID_NAME');
    const missing = await server.call('/api/v1/models/no-such-model');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).message).toBe('no model named "no-such-model"');
  });

  it('an unknown alias when setting one, and an alias that looks like a version', async () => {
    await pushVersion(server, 'alias-errors', '1.0.0', { 'a.bin': 'a' });
    const unknown = await server.call('/api/v1/models/alias-errors/aliases/production', { method: 'PUT', json: { version: 'staging' } });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('MP_ERR_ALIAS_NOT_FOUND');
    const versionLike = await server.call('/api/v1/models/alias-errors/aliases/1.0.0', { method: 'PUT', json: { version: '1.0.0' } });
    expect(versionLike.status).toBe(400);
  });
});
