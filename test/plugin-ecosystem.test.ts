/**
 * The plugin ecosystem end to end, against a real npm registry (Verdaccio on loopback, no uplinks): scaffold a
 * runtime plugin, run its own tests, publish it, `modelplane plugins add` it into a fresh project, serve a model
 * with it over V2; and refuse a plugin built for another plugin API without touching the config.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateApiKey, PLUGIN_API_VERSION } from '@modelplane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stagePackage } from '../scripts/stage-package.ts';
import { requireService } from './support/services.ts';
import { repoRoot } from './support/tmp.ts';
import { startVerdaccio, type Verdaccio } from './support/verdaccio.ts';

const execAsync = promisify(execFile);
const node = join(repoRoot, 'node_modules', '.bin', 'node');
const cli = join(repoRoot, 'core', 'bin', 'modelplane.js');

// Outside the repository, so the fresh project can only get its packages from the registry.
const tmp = mkdtempSync(join(tmpdir(), 'mp-plugin-eco-'));
let registry: Verdaccio | undefined;
let env: NodeJS.ProcessEnv;

async function run(command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execAsync(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const npmAvailable = () =>
  new Promise<{ available: boolean; reason?: string }>((done) =>
    execFile('npm', ['--version'], (error) => done(error ? { available: false, reason: `npm is not on PATH: ${error.message}` } : { available: true })),
  );

beforeAll(async () => {
  if (!(await requireService('npm', npmAvailable))) return;
  registry = await startVerdaccio(join(tmp, 'registry'));
  // Children get the project's Node 24 first on PATH, and none of the npm_* variables `npm test` sets for itself
  // (npm_config_local_prefix would point npm at this repository).
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  symlinkSync(node, join(bin, 'node'));
  env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  env.PATH = `${bin}:${process.env.PATH}`;
  // User-level npm config: the publish token and a cache of its own; the registry itself comes from each project's
  // .npmrc or --registry, so `plugins add` is shown to respect the project's configuration.
  const host = registry.url.replace(/^http:/, '');
  writeFileSync(join(tmp, 'user.npmrc'), `${host}/:_authToken=${registry.token}\ncache=${join(tmp, 'npm-cache')}\nfund=false\naudit=false\nupdate-notifier=false\n`);
  env.npm_config_userconfig = join(tmp, 'user.npmrc');
  env.NO_COLOR = '1';

  // What a fresh project needs from the registry besides the plugin: the SDK (the plugin's peer), built to JavaScript
  // as it would be released, and its one dependency, zod, republished from this repository's node_modules.
  const publish = (dir: string) => ok('npm', ['publish', '--registry', registry!.url, '--ignore-scripts'], dir);
  await publish(join(repoRoot, 'node_modules', 'zod'));
  await publish(stagePackage(join(repoRoot, 'plugin-sdk'), join(tmp, 'stage', 'plugin-sdk')));
  // The scaffolder, with the templates inside, so `npm create modelplane-plugin` runs from the registry.
  await publish(stagePackage(join(repoRoot, 'packages', 'create-modelplane-plugin'), join(tmp, 'stage', 'create'), { templates: join(repoRoot, 'templates') }));
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const CONFIG = `# A fresh project's config.
server:
  host: 127.0.0.1 # loopback only
  logLevel: warn
auth:
  adminKey: \${MODELPLANE_ADMIN_KEY}
storage:
  dataDir: .modelplane
plugins: [] # filled in by modelplane plugins add
models:
  - name: linear
    register:
      path: models/linear
      version: 1.0.0
      metadata:
        framework: tiny-linear
        architecture: linear-2x3
        training_data_description: hand-written weights
        performance_metrics: { accuracy: 1 }
        license: { id: Apache-2.0 }
`;

describe('plugin ecosystem against a real npm registry', () => {
  it('scaffolds, tests, publishes and installs a runtime plugin, then serves a model with it over V2', async (ctx) => {
    if (!registry) return ctx.skip();
    const started = performance.now();

    // Scaffold from the template with `npm create`, the scaffolder coming from the registry, and run the plugin's own
    // tests. Verdaccio has no uplinks, so the plugin's devDependencies (vitest, typescript, the SDK) come from this
    // repository's node_modules, linked in.
    const pluginDir = join(tmp, 'modelplane-plugin-tiny-linear');
    const created = await ok('npm', ['create', '--yes', '--registry', registry.url, 'modelplane-plugin@latest', '--', 'tiny-linear', '--template', 'runtime'], tmp);
    expect(created).toContain(`Created modelplane-plugin-tiny-linear in ${pluginDir}`);
    symlinkSync(join(repoRoot, 'node_modules'), join(pluginDir, 'node_modules'));
    expect(await ok(node, [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=dot'], pluginDir)).toMatch(/Tests\s+\d+ passed/);
    await ok('npm', ['publish', '--registry', registry.url], pluginDir);

    // A fresh project whose .npmrc points npm at the registry.
    const project = join(tmp, 'project');
    mkdirSync(join(project, 'models', 'linear'), { recursive: true });
    writeFileSync(join(project, '.npmrc'), `registry=${registry.url}/\nprefer-offline=true\n`);
    writeFileSync(join(project, 'models', 'linear', 'model.json'), JSON.stringify({ weights: [[1, 0, 2], [0, 1, -1]], bias: [0.5, 0, 1] }));
    writeFileSync(join(project, 'modelplane.config.yaml'), CONFIG);

    const added = await ok(node, [cli, 'plugins', 'add', 'modelplane-plugin-tiny-linear@^0.1'], project);
    expect(added).toContain('added modelplane-plugin-tiny-linear@0.1.0 (runtime) to modelplane.config.yaml');
    const config = readFileSync(join(project, 'modelplane.config.yaml'), 'utf8');
    expect(config).toContain('plugins: [ modelplane-plugin-tiny-linear ] # filled in by modelplane plugins add');
    expect(config).toContain("# A fresh project's config.");
    expect(existsSync(join(project, 'node_modules', '@modelplane', 'plugin-sdk', 'dist', 'index.js'))).toBe(true);

    const found = JSON.parse(await ok(node, [cli, 'plugins', 'search', 'tiny', '--json'], project)) as Array<{ name: string }>;
    expect(found.map((hit) => hit.name)).toContain('modelplane-plugin-tiny-linear');

    // Serve: the declared model is registered and loaded through the plugin at start.
    const adminKey = generateApiKey().token;
    const server = spawn(node, [cli, 'serve', '--port', '0'], { cwd: project, env: { ...env, MODELPLANE_ADMIN_KEY: adminKey }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (data: Buffer) => {
          output += data;
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match) resolve(match[1]!);
        };
        server.stdout.on('data', onData);
        server.stderr.on('data', onData);
        server.once('exit', (code) => reject(new Error(`modelplane serve exited with ${code}:\n${output}`)));
      });
      const auth = { authorization: `Bearer ${adminKey}` };
      // Only the plugin serves framework tiny-linear, so a ready model means it was loaded through the plugin.
      expect((await fetch(`${url}/v2/models/linear/ready`, { headers: auth })).status).toBe(200);
      const response = await fetch(`${url}/v2/models/linear/infer`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }] }),
      });
      const body = (await response.json()) as { model_name: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body.model_name).toBe('linear');
      expect(body.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [2, 3], data: [1.5, 2, 1, 3.5, 4, 3] }]);
    } finally {
      const exited = new Promise((done) => server.once('exit', done));
      server.kill('SIGTERM');
      await exited;
    }

    const removed = await ok(node, [cli, 'plugins', 'remove', 'modelplane-plugin-tiny-linear'], project);
    expect(removed).toContain('removed modelplane-plugin-tiny-linear from modelplane.config.yaml; uninstalled it');
    expect(readFileSync(join(project, 'modelplane.config.yaml'), 'utf8')).toBe(CONFIG);
    expect(existsSync(join(project, 'node_modules', 'modelplane-plugin-tiny-linear'))).toBe(false);
    console.log(`plugin ecosystem round trip: ${Math.round(performance.now() - started)} ms`);
  }, 180_000);

  it('refuses a plugin built for another plugin API, naming both versions, and leaves the config byte for byte', async (ctx) => {
    if (!registry) return ctx.skip();
    const pluginDir = join(tmp, 'modelplane-plugin-from-the-future');
    mkdirSync(pluginDir);
    writeFileSync(
      join(pluginDir, 'package.json'),
      JSON.stringify({
        name: 'modelplane-plugin-from-the-future',
        version: '3.0.0',
        type: 'module',
        main: 'index.js',
        keywords: ['modelplane-plugin'],
        modelplane: { kinds: ['guard'], apiVersion: '^2' },
        peerDependencies: { '@modelplane/plugin-sdk': '^2' },
      }),
    );
    writeFileSync(join(pluginDir, 'index.js'), "throw new Error('a refused plugin must never be imported');\n");
    await ok('npm', ['publish', '--registry', registry.url], pluginDir);

    const project = join(tmp, 'project-refuses');
    mkdirSync(project);
    writeFileSync(join(project, '.npmrc'), `registry=${registry.url}/\n`);
    const configText = '# keep me exactly\nplugins:\n  - modelplane-plugin-hello   # odd spacing, kept\n';
    writeFileSync(join(project, 'modelplane.config.yaml'), configText);

    const refused = await run(node, [cli, 'plugins', 'add', 'modelplane-plugin-from-the-future'], project);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('MP_ERR_PLUGIN_API_INCOMPATIBLE');
    expect(refused.stderr).toContain('modelplane-plugin-from-the-future@3.0.0 requires plugin API ^2');
    expect(refused.stderr).toContain(`provides plugin API ${PLUGIN_API_VERSION}`);
    expect(readFileSync(join(project, 'modelplane.config.yaml'), 'utf8')).toBe(configText);
    expect(existsSync(join(project, 'node_modules')) || existsSync(join(project, 'package.json'))).toBe(false);

    const missing = await run(node, [cli, 'plugins', 'add', 'modelplane-plugin-nowhere'], project);
    expect(missing.stderr).toContain(`MP_ERR_PLUGIN_NOT_FOUND: plugin modelplane-plugin-nowhere was not found in the npm registry ${registry.url}/`);
    const noMatch = await run(node, [cli, 'plugins', 'add', 'modelplane-plugin-from-the-future@^9'], project);
    expect(noMatch.stderr).toContain(`MP_ERR_PLUGIN_NOT_FOUND: no version of modelplane-plugin-from-the-future matches "^9" in the npm registry ${registry.url}/`);
    const notPlugin = await run(node, [cli, 'plugins', 'add', 'zod'], project);
    expect(notPlugin.stderr).toMatch(/MP_ERR_NOT_A_PLUGIN: zod@\S+ is not a Modelplane plugin/);
    expect(readFileSync(join(project, 'modelplane.config.yaml'), 'utf8')).toBe(configText);

    // A plugin whose peer range clashes with what the project already has installed.
    const clashing = join(tmp, 'modelplane-plugin-old-zod');
    mkdirSync(clashing);
    writeFileSync(
      join(clashing, 'package.json'),
      JSON.stringify({ name: 'modelplane-plugin-old-zod', version: '1.0.0', type: 'module', keywords: ['modelplane-plugin'], modelplane: { kinds: ['guard'], apiVersion: '^1' }, peerDependencies: { zod: '^3' } }),
    );
    writeFileSync(join(clashing, 'index.js'), 'export default {};\n');
    await ok('npm', ['publish', '--registry', registry.url], clashing);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ private: true, dependencies: { zod: '^4' } }));
    await ok('npm', ['install'], project);
    const conflict = await run(node, [cli, 'plugins', 'add', 'modelplane-plugin-old-zod'], project);
    expect(conflict.stderr).toContain('MP_ERR_PLUGIN_PEER_CONFLICT: modelplane-plugin-old-zod@1.0.0 cannot be installed');
    expect(conflict.stderr).toContain('zod@"^3"');
    expect(readFileSync(join(project, 'modelplane.config.yaml'), 'utf8')).toBe(configText);

    // A plugin refused only once installed (its code fails to import) is uninstalled again: the project is as it was.
    const broken = join(tmp, 'modelplane-plugin-broken-import');
    mkdirSync(broken);
    writeFileSync(
      join(broken, 'package.json'),
      JSON.stringify({ name: 'modelplane-plugin-broken-import', version: '1.0.0', type: 'module', main: 'index.js', keywords: ['modelplane-plugin'], modelplane: { kinds: ['guard'], apiVersion: '^1' } }),
    );
    writeFileSync(join(broken, 'index.js'), "throw new Error('kaboom at import');\n");
    await ok('npm', ['publish', '--registry', registry.url], broken);
    const packageJson = readFileSync(join(project, 'package.json'), 'utf8');
    const importFails = await run(node, [cli, 'plugins', 'add', 'modelplane-plugin-broken-import'], project);
    expect(importFails.code).toBe(1);
    expect(importFails.stderr).toContain('MP_ERR_PLUGIN_IMPORT_FAILED');
    expect(readFileSync(join(project, 'package.json'), 'utf8')).toBe(packageJson);
    expect(existsSync(join(project, 'node_modules', 'modelplane-plugin-broken-import'))).toBe(false);
    expect(readFileSync(join(project, 'modelplane.config.yaml'), 'utf8')).toBe(configText);
    // In a project without a package.json, the one it created goes too, with the lock file and node_modules.
    const bare = join(tmp, 'project-bare');
    mkdirSync(bare);
    writeFileSync(join(bare, '.npmrc'), `registry=${registry.url}/\n`);
    writeFileSync(join(bare, 'modelplane.config.yaml'), configText);
    expect((await run(node, [cli, 'plugins', 'add', 'modelplane-plugin-broken-import'], bare)).stderr).toContain('MP_ERR_PLUGIN_IMPORT_FAILED');
    expect(readdirSync(bare).sort()).toEqual(['.npmrc', 'modelplane.config.yaml']);
  }, 90_000);
});
