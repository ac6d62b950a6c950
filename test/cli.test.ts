import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from './support/tmp.ts';

const exec = promisify(execFile);
const node = join(repoRoot, 'node_modules', '.bin', 'node');
const bin = join(repoRoot, 'core', 'bin', 'modelplane.js');
const tmp = makeTempDir('cli');
afterAll(() => tmp.remove());

async function modelplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(node, [bin, ...args], { cwd: tmp.dir, env: { ...process.env, MODELPLANE_PY_CACHE: join(tmp.dir, 'py-cache') } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('modelplane CLI', () => {
  it('prints help through npx', async () => {
    const { stdout } = await exec('npx', ['--no-install', 'modelplane', '--help'], { cwd: repoRoot });
    expect(stdout).toContain('Usage: modelplane');
    for (const command of ['serve', 'config', 'plugins']) expect(stdout).toContain(command);
  });

  it('plugins setup: builds a plugin\'s Python environment once, showing progress, and refuses plugins without one', async () => {
    const plugin = join(tmp.dir, 'py-plugin');
    mkdirSync(plugin, { recursive: true });
    writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: '@acme/runtime-py', version: '1.0.0', modelplane: { python: { requirements: 'requirements.txt' } } }));
    // No packages, so the test needs no network: the venv is created and pip runs over an empty list.
    writeFileSync(join(plugin, 'requirements.txt'), '# nothing to install\n');
    const first = await modelplane('plugins', 'setup', './py-plugin');
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/\[\d+\.\ds\] creating .*venv-runtime-py-[0-9a-f]{16}/);
    const dir = /at (\S+)/.exec(first.stdout)![1]!;
    expect(existsSync(join(dir, 'bin', 'python'))).toBe(true);
    expect((await modelplane('plugins', 'setup', './py-plugin')).stdout).toContain('already set up');
    const onnx = await modelplane('plugins', 'setup', '@modelplane/runtime-onnx', '-c', join(repoRoot, 'examples', 'modelplane.config.yaml'));
    expect(onnx.code).not.toBe(0);
    expect(onnx.stderr).toContain('declares no Python requirements');
    expect(onnx.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('prints its version', async () => {
    const { code, stdout } = await modelplane('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('config check: exits non-zero and lists every error by path', async () => {
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  port: 99999\n  hots: x\nplugins:\n  - package: ""\n');
    const { code, stderr } = await modelplane('config', 'check', '-c', bad);
    expect(code).toBe(1);
    expect(stderr).toContain('MP_ERR_CONFIG_INVALID');
    expect(stderr).toContain('server.port');
    expect(stderr).toContain('"hots"');
    expect(stderr).toContain('plugins[0].package');
  });

  it('config check: checks the configured plugins as the server will, short of running their setup', async () => {
    const plugin = (name: string, extra = '') =>
      `import { definePlugin, z } from '@modelplane/plugin-sdk';\nexport default definePlugin({ name: '${name}', version: '1.0.0', apiVersion: '^1', ${extra} setup() { throw new Error('setup must not run'); } });\n`;
    const write = (dir: string, name: string, source: string, manifest: Record<string, unknown> = {}) => {
      mkdirSync(join(tmp.dir, dir), { recursive: true });
      writeFileSync(join(tmp.dir, dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', main: 'index.js', ...manifest }));
      writeFileSync(join(tmp.dir, dir, 'index.js'), source);
    };
    write('check-options', 'modelplane-plugin-check-options', plugin('modelplane-plugin-check-options', 'optionsSchema: z.object({ threads: z.int() }).strict(),'));
    write('check-future', 'modelplane-plugin-check-future', "throw new Error('must not be imported');\n", { modelplane: { apiVersion: '^2' } });
    write('check-fine', 'modelplane-plugin-check-fine', plugin('modelplane-plugin-check-fine'));
    const config = join(tmp.dir, 'plugins-check.yaml');
    writeFileSync(
      config,
      'plugins:\n  - { package: ./check-options, options: { threads: two } }\n  - ./check-future\n  - modelplane-plugin-nowhere\n  - ./check-fine\n  - ./check-fine\n',
    );
    const { code, stderr } = await modelplane('config', 'check', '-c', config);
    expect(code).toBe(1);
    expect(stderr).toContain('has 4 problem(s)');
    expect(stderr).toContain('plugins[0].options.threads: Invalid input: expected number, received string');
    expect(stderr).toContain('plugins[1]: MP_ERR_PLUGIN_API_INCOMPATIBLE: plugin modelplane-plugin-check-future@1.0.0 requires plugin API ^2');
    expect(stderr).toContain('plugins[2]: MP_ERR_PLUGIN_NOT_INSTALLED: plugin modelplane-plugin-nowhere is not installed');
    expect(stderr).toContain('plugins[4]: MP_ERR_PLUGIN_DUPLICATE: plugin modelplane-plugin-check-fine is configured twice (plugins[3] and plugins[4])');
    writeFileSync(config, 'plugins:\n  - { package: ./check-options, options: { threads: 2 } }\n  - ./check-fine\n');
    expect(await modelplane('config', 'check', '-c', config)).toMatchObject({ code: 0, stdout: `${config}: OK (2 plugin(s))\n` });
  });

  it('config check: accepts the example config', async () => {
    const { code, stdout } = await modelplane(
      'config',
      'check',
      '-c',
      join(repoRoot, 'examples/modelplane.config.yaml'),
    );
    expect(code).toBe(0);
    expect(stdout).toContain('OK');
  });

  it('plugins list --tree shows the example plugin and what it registered', async () => {
    const { code, stdout } = await modelplane(
      'plugins',
      'list',
      '--tree',
      '-c',
      join(repoRoot, 'examples/modelplane.config.yaml'),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/├─ @modelplane\/core\/embedded-stores@\S+ {2}\(built in, api \^1\)/);
    expect(stdout).toMatch(/└─ modelplane-plugin-hello@0\.1\.0 {2}\(plugins\[1\], api \^1\)/);
    expect(stdout).toContain('guard: blocked-words');
    expect(stdout).toContain('hooks: ready');
  });

  it('create plugin: scaffolds from a template, and refuses a bad name without a stack trace', async () => {
    const made = await modelplane('create', 'plugin', '@acme/shouty', '--template', 'guard', '--dir', 'shouty');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('Created @acme/modelplane-plugin-shouty');
    expect(readFileSync(join(tmp.dir, 'shouty', 'package.json'), 'utf8')).toContain('"name": "@acme/modelplane-plugin-shouty"');
    const bad = await modelplane('create', 'plugin', 'Shouty', '--template', 'guard');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: "Shouty" is not a valid npm package name (lowercase letters, digits, - . _ ~, optionally @scope/)\n');
  });

  it('explains a plugin that is not installed', async () => {
    const config = join(tmp.dir, 'missing.yaml');
    writeFileSync(config, 'plugins:\n  - modelplane-plugin-nowhere\n');
    const { code, stderr } = await modelplane('plugins', 'list', '-c', config);
    expect(code).toBe(1);
    expect(stderr).toContain('MP_ERR_PLUGIN_NOT_INSTALLED');
    expect(stderr).toContain('npm install modelplane-plugin-nowhere');
  });

  it('exits once a plugin setup times out, though the setup is still running', async () => {
    const plugin = join(tmp.dir, 'slow-plugin');
    mkdirSync(plugin, { recursive: true });
    writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: 'modelplane-plugin-slow', version: '1.0.0', type: 'module', main: 'index.js' }));
    writeFileSync(
      join(plugin, 'index.js'),
      "import { definePlugin } from '@modelplane/plugin-sdk';\n" +
        "export default definePlugin({ name: 'modelplane-plugin-slow', version: '1.0.0', apiVersion: '^1', setup: () => new Promise((done) => setTimeout(done, 60_000)) });\n",
    );
    const config = join(tmp.dir, 'slow-setup.yaml');
    writeFileSync(config, `server: { pluginSetupTimeoutMs: 200 }\nplugins: [./slow-plugin]\n`);
    const started = performance.now();
    const { code, stderr } = await modelplane('plugins', 'list', '-c', config);
    expect(code).toBe(1);
    expect(stderr).toContain('MP_ERR_PLUGIN_SETUP_TIMEOUT: plugin modelplane-plugin-slow: setup did not finish within 200 ms');
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('says which port is taken instead of printing a stack', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = String((blocker.address() as { port: number }).port);
    try {
      const { code, stderr } = await modelplane('serve', '--port', port);
      expect(code).toBe(1);
      expect(stderr).toContain(`MP_ERR_LISTEN_FAILED: port ${port} on 127.0.0.1 is already in use`);
      expect(stderr).not.toContain('    at ');
    } finally {
      blocker.close();
    }
  });

  it('rejects an unknown command with a suggestion and a bad port with a reason', async () => {
    const unknown = await modelplane('serv');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('serve');
    const port = await modelplane('serve', '--port', 'http');
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain('expected an integer from 0 to 65535');
  });
});

describe('modelplane keys (against a running server)', () => {
  it('creates, lists and revokes a key', async () => {
    const { startTestServer } = await import('./support/server.ts');
    const server = await startTestServer();
    try {
      const remote = ['--url', server.url, '--key', server.adminKey];
      const created = await modelplane('keys', 'create', '-n', 'ci', '-s', 'read,infer', '-m', 'ids-*', '--budget', '2.50:monthly', ...remote);
      expect(created.code).toBe(0);
      const token = created.stdout.trim().split('\n')[1]!;
      expect(token).toMatch(/^mp_/);
      expect(created.stderr).toContain('shown only once');
      expect((await server.call('/api/v1/plugins', { key: token })).status).toBe(200);

      const listed = await modelplane('keys', 'list', ...remote);
      expect(listed.stdout).toMatch(/ci {2}\[read,infer\] {2}models=ids-\* {2}active/);
      expect(listed.stdout).not.toContain(token.split('_').slice(2).join('_'));
      const views = (await (await server.call('/api/v1/keys')).json()) as { keys: Array<{ name: string; budget: unknown }> };
      expect(views.keys.find((k) => k.name === 'ci')?.budget).toEqual({ usd: '2.500000', period: 'monthly' });
      const badBudget = await modelplane('keys', 'create', '-n', 'x', '-s', 'infer', '--budget', '5:weekly', ...remote);
      expect(badBudget.code).toBe(1);
      expect(badBudget.stderr).toContain('budget.period');

      const id = token.split('_')[1]!;
      expect((await modelplane('keys', 'revoke', id, ...remote)).stdout).toContain(`revoked ${id}`);
      expect((await server.call('/api/v1/plugins', { key: token })).status).toBe(401);

      const denied = await modelplane('keys', 'list', '--url', server.url, '--key', token);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('MP_ERR_UNAUTHENTICATED');
    } finally {
      await server.close();
    }
  });

  it('lists an expired key as expired, and refuses to create one that has already expired', async () => {
    const { startTestServer } = await import('./support/server.ts');
    const server = await startTestServer();
    try {
      const past = await server.call('/api/v1/keys', { method: 'POST', json: { name: 'stale', scopes: ['read'], expiresAt: '2020-01-01T00:00:00Z' } });
      expect(past.status).toBe(400);
      expect(((await past.json()) as { error: { message: string } }).error.message).toContain('body.expiresAt: is in the past');
      const soon = new Date(Date.now() + 1000).toISOString();
      const later = new Date(Date.now() + 3_600_000).toISOString();
      for (const [name, expiresAt] of [['brief', soon], ['hourly', later]]) {
        expect((await server.call('/api/v1/keys', { method: 'POST', json: { name, scopes: ['read'], expiresAt } })).status).toBe(201);
      }
      // A time with an offset is accepted and kept in UTC.
      const offset = await server.call('/api/v1/keys', { method: 'POST', json: { name: 'offset', scopes: ['read'], expiresAt: '2099-01-31T02:00:00+02:00' } });
      expect(offset.status).toBe(201);
      expect(((await offset.json()) as { expiresAt: string }).expiresAt).toBe('2099-01-31T00:00:00.000Z');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const viaCli = await modelplane('keys', 'create', '--name', 'yearly', '--scopes', 'read', '--expires', '2099-06-30T12:00:00Z', '--url', server.url, '--key', server.adminKey);
      expect(viaCli.code).toBe(0);
      const stale = await modelplane('keys', 'create', '--name', 'stale-cli', '--scopes', 'read', '--expires', '2001-01-01T00:00:00Z', '--url', server.url, '--key', server.adminKey);
      expect(stale).toMatchObject({ code: 1, stderr: expect.stringContaining('body.expiresAt: is in the past') });
      const listed = await modelplane('keys', 'list', '--url', server.url, '--key', server.adminKey);
      expect(listed.stdout).toContain('yearly  [read]  models=*  active until 2099-06-30T12:00:00.000Z');
      expect(listed.stdout).toContain(`brief  [read]  models=*  expired ${soon}`);
      expect(listed.stdout).toContain(`hourly  [read]  models=*  active until ${later}`);
    } finally {
      await server.close();
    }
  });

  it('scan fails (exit 1) when the version fails its scan, so a CI step can gate on it', async () => {
    const { startTestServer } = await import('./support/server.ts');
    const { pushVersion } = await import('./support/registry-client.ts');
    const server = await startTestServer({ plugins: ['@modelplane/scanner-formats'] });
    try {
      const pickle = readFileSync(join(repoRoot, 'plugins/scanner-formats/corpus/malicious/cloudpickle_function.pkl'));
      expect((await pushVersion(server, 'tainted', '1.0.0', { 'model.pkl': pickle })).status).toBe(201);
      expect((await pushVersion(server, 'clean', '1.0.0', { 'model.onnx': readFileSync(join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx')) })).status).toBe(201);
      const failed = await modelplane('scan', 'tainted', '1.0.0', '--url', server.url, '--key', server.adminKey);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toContain('tainted@1.0.0: FAILED');
      const all = await modelplane('scan', '--all', '--url', server.url, '--key', server.adminKey);
      expect(all).toMatchObject({ code: 1, stdout: expect.stringContaining('tainted@1.0.0: FAILED') });
      const passed = await modelplane('scan', 'clean', '1.0.0', '--url', server.url, '--key', server.adminKey);
      expect(passed).toMatchObject({ code: 0, stdout: expect.stringContaining('clean@1.0.0: PASSED') });
    } finally {
      await server.close();
    }
  });

  it('says when the server cannot be reached', async () => {
    const { code, stderr } = await modelplane('keys', 'list', '--url', 'http://127.0.0.1:9', '--key', 'x');
    expect(code).toBe(1);
    expect(stderr).toContain('cannot reach the Modelplane server at http://127.0.0.1:9');
  });
});

describe('modelplane push and registry commands', () => {
  it('pushes a directory with metadata, then lists, shows, aliases, retires and collects garbage', async () => {
    const { startTestServer } = await import('./support/server.ts');
    const server = await startTestServer();
    try {
      const dir = join(tmp.dir, 'model-dir');
      mkdirSync(join(dir, 'weights'), { recursive: true });
      writeFileSync(join(dir, 'model.onnx'), Buffer.alloc(3_000_000, 5));
      writeFileSync(join(dir, 'weights', 'shard-1.bin'), Buffer.alloc(1_000, 6));
      const meta = join(tmp.dir, 'meta.yaml');
      writeFileSync(
        meta,
        'framework: onnx\narchitecture: mlp\ntraining_data_description: flows\nperformance_metrics: { accuracy: 0.95 }\nlicense: { id: MIT }\n',
      );
      const remote = ['--url', server.url, '--key', server.adminKey];
      const pushed = await modelplane('push', dir, '--name', 'cli-model', '--version', '1.0.0', '--meta', meta, '--alias', 'production', ...remote);
      expect(pushed.stderr).toContain('[1/2] model.onnx');
      expect(pushed.stderr).toContain('MB/s');
      expect(pushed.stdout).toMatch(/registered cli-model@1\.0\.0 sha256:[a-f0-9]{64}; production → 1\.0\.0/);
      expect(pushed.code).toBe(0);

      const again = await modelplane('push', dir, '--name', 'cli-model', '--version', '1.0.0', '--meta', meta, ...remote);
      expect(again.stdout).toContain('already registered (identical content)');
      expect(again.stderr).toContain('already stored');

      expect((await modelplane('models', 'list', ...remote)).stdout).toContain('cli-model');
      const shown = await modelplane('models', 'show', 'cli-model', ...remote);
      expect(shown.stdout).toContain('@production → 1.0.0');
      expect(shown.stdout).toMatch(/1\.0\.0\s+testing/);
      expect((await modelplane('status', 'set', 'cli-model', '1.0.0', 'active', ...remote)).stdout).toContain('is active');
      expect((await modelplane('versions', 'list', 'cli-model', ...remote)).stdout).toMatch(/1\.0\.0\s+active\s+scan=SKIPPED\s+2 file\(s\) 3\.0 MB/);

      const missingMeta = await modelplane('push', dir, '--name', 'cli-model', '--version', '2.0.0', ...remote);
      expect(missingMeta.code).toBe(1);
      expect(missingMeta.stderr).toContain('MP_ERR_INVALID_METADATA');
      expect(missingMeta.stderr).toContain('metadata.framework is required');

      // The failed push left its blobs unreferenced only if their bytes differ; these are the same bytes, so nothing to collect.
      expect((await modelplane('gc', '--dry-run', ...remote)).stdout).toContain('would remove 0 blob(s)');

    } finally {
      await server.close();
    }
  });

  it('models list shows every model, not only the first page of 500', async () => {
    const { startTestServer } = await import('./support/server.ts');
    const server = await startTestServer({ auth: { rateLimit: { perSecond: 10_000, burst: 10_000 } } });
    try {
      const names = Array.from({ length: 505 }, (_, i) => `many-${String(i).padStart(3, '0')}`);
      for (const name of names) expect((await server.call('/api/v1/models', { method: 'POST', json: { name } })).status).toBe(201);
      const listed = await modelplane('models', 'list', '--url', server.url, '--key', server.adminKey);
      expect(listed.code).toBe(0);
      expect(listed.stdout.trim().split('\n').filter((line) => line.startsWith('many-'))).toEqual(names);
    } finally {
      await server.close();
    }
  });

  it('reports an early refusal and an unreachable server instead of a broken pipe', async () => {
    const { startTestServer } = await import('./support/server.ts');
    const server = await startTestServer();
    try {
      const dir = join(tmp.dir, 'big-model');
      mkdirSync(dir);
      const meta = join(tmp.dir, 'big-meta.yaml');
      writeFileSync(meta, 'framework: onnx\n');
      // The server refuses before reading the 40 MB body: the CLI reports its answer, not a broken pipe.
      writeFileSync(join(dir, 'model.onnx'), Buffer.alloc(40_000_000, 7));
      const refused = await modelplane('push', dir, '--name', 'cli-model', '--version', '3.0.0', '--meta', meta, '--url', server.url, '--key', 'mp_wrongwrong_x');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('server answered 401');
      const unreachable = await modelplane('push', dir, '--name', 'cli-model', '--version', '3.0.0', '--meta', meta, '--url', 'http://127.0.0.1:9', '--key', 'k');
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toContain('cannot reach the Modelplane server at http://127.0.0.1:9');
    } finally {
      await server.close();
    }
  });
});

describe('modelplane CLI on bad local input and closed pipes', () => {
  it('names a missing path, a missing --meta file and a --meta file that does not parse, without a stack trace', async () => {
    const dir = join(tmp.dir, 'push-errors');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'w.bin'), 'w');
    const broken = join(tmp.dir, 'broken-meta.yaml');
    writeFileSync(broken, 'framework: [onnx\n');
    const remote = ['--name', 'm', '--version', '1.0.0', '--url', 'http://127.0.0.1:9', '--key', 'k'];
    const missingPath = await modelplane('push', join(tmp.dir, 'no-such-dir'), ...remote);
    const missingMeta = await modelplane('push', dir, '--meta', join(tmp.dir, 'no-such-meta.yaml'), ...remote);
    const badMeta = await modelplane('push', dir, '--meta', broken, ...remote);
    for (const result of [missingPath, missingMeta, badMeta]) {
      expect(result.code).toBe(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(missingPath.stderr).toContain(`ENOENT: no such file or directory, stat '${join(tmp.dir, 'no-such-dir')}'`);
    expect(missingMeta.stderr).toContain('no-such-meta.yaml');
    expect(badMeta.stderr).toContain(`error MP_ERR_BAD_REQUEST: ${broken} is not valid YAML`);
  });

  it('stops quietly when the reader of its output has gone (| head)', async () => {
    const child = spawn(node, [bin, '--help'], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closed before the CLI writes anything
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});

describe('modelplane keys recover-admin', () => {
  it('mints a working admin key from the data directory', async () => {
    const config = join(tmp.dir, 'recover.yaml');
    writeFileSync(config, 'storage: { dataDir: recover-data }\n');
    const recovered = await modelplane('keys', 'recover-admin', '-c', config);
    expect(recovered.code).toBe(0);
    const token = recovered.stdout.trim();
    expect(token).toMatch(/^mp_[a-z0-9]{12}_/);
    expect(recovered.stderr).toContain('shown only once');
    const { startTestServer } = await import('./support/server.ts');
    const server = await startTestServer({ storage: { dataDir: join(tmp.dir, 'recover-data') } });
    try {
      expect((await server.call('/api/v1/keys', { key: token })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
