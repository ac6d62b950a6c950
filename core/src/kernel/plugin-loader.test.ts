import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from '../../../test/support/tmp.ts';
import { resolveConfig } from './config.ts';
import { createKernel } from './kernel.ts';

const silent = pino({ level: 'silent' });

/** Writes `node_modules/<name>` packages into a project folder, as `npm install` would. */
function writePackage(projectDir: string, name: string, source: string, pkg: Record<string, unknown> = {}): void {
  const dir = join(projectDir, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.2.3', type: 'module', main: 'index.js', ...pkg }),
  );
  writeFileSync(join(dir, 'index.js'), source);
}

const plugin = (name: string, body = '', extra = '') => `
import { definePlugin, z } from '@modelplane/plugin-sdk';
export default definePlugin({
  name: '${name}', version: '1.2.3', apiVersion: '^1', ${extra}
  setup(ctx) { ${body} },
});`;

let project: { dir: string; remove(): void };

beforeAll(() => {
  project = makeTempDir('loader');
  writePackage(
    project.dir,
    'mp-good',
    plugin(
      'mp-good',
      "ctx.register.guard({ id: 'good-guard', pre: async () => ({ action: 'allow', risk: 0, reasons: [] }) });",
    ),
  );
  writePackage(project.dir, 'mp-import-broken', "import './does-not-exist.js';\nexport default 1;");
  writePackage(project.dir, 'mp-throws-on-import', "throw new Error('kaboom at import');");
  writePackage(project.dir, 'mp-not-plugin', 'export default { name: "x", setup() {} };');
  writePackage(
    project.dir,
    'mp-bad-shape',
    plugin('mp-bad-shape', '', "version: 'one',".replace('version', 'description: 7, x')),
  );
  writePackage(project.dir, 'mp-api-2', plugin('mp-api-2').replace("apiVersion: '^1'", "apiVersion: '^2'"));
  writePackage(project.dir, 'mp-manifest-api-3', "throw new Error('must not be imported');", {
    modelplane: { kinds: ['guard'], apiVersion: '^3' },
  });
  writePackage(project.dir, 'mp-manifest-no-range', "throw new Error('must not be imported');", {
    modelplane: { kinds: ['guard'], apiVersion: 'one' },
  });
  writePackage(
    project.dir,
    'mp-options',
    plugin(
      'mp-options',
      '',
      'optionsSchema: z.object({ threads: z.number().int().positive(), mode: z.enum(["a", "b"]) }),',
    ),
  );
  writePackage(project.dir, 'mp-setup-throws', plugin('mp-setup-throws', "throw new Error('no database');"));
  writePackage(
    project.dir,
    'mp-holds-timer',
    plugin('mp-holds-timer', "const timer = setInterval(() => {}, 1000); ctx.hooks.shutdown.tap(ctx.name, () => { clearInterval(timer); globalThis.mpHoldsTimerClosed = true; });"),
  );
  writePackage(
    project.dir,
    'mp-runtime-typo',
    plugin('mp-runtime-typo', "ctx.register.runtime({ id: 'typo', frameworks: 'x', devices: ['cpu'], laod: async () => ({}) });"),
  );
  writePackage(project.dir, 'mp-setup-hangs', plugin('mp-setup-hangs', 'return new Promise(() => {});'));
  writePackage(project.dir, 'mp-dup-guard', plugin('mp-dup-guard', "ctx.register.guard({ id: 'good-guard' });"));
  writePackage(project.dir, 'mp-exports', plugin('mp-exports'), {
    main: undefined,
    exports: { '.': { import: './index.js' } },
  });
});

afterAll(() => project.remove());

async function boot(plugins: unknown[], server: Record<string, unknown> = {}) {
  const loaded = resolveConfig(
    { plugins, server, storage: { dataDir: join(project.dir, 'data') } },
    { dir: project.dir },
  );
  return createKernel({ loaded, logger: silent });
}

async function bootError(plugins: unknown[], server: Record<string, unknown> = {}) {
  try {
    await boot(plugins, server);
  } catch (error) {
    return error as { code: string; message: string; details: unknown };
  }
  throw new Error('expected boot to fail');
}

describe('plugin loader', () => {
  it('loads a plugin by package name relative to the config directory and records what it registered', async () => {
    const kernel = await boot(['mp-good', 'mp-exports']);
    expect(kernel.plugins.map((p) => [p.name, p.version, p.configIndex])).toEqual([
      ['@modelplane/core/embedded-stores', expect.any(String), undefined],
      ['mp-good', '1.2.3', 0],
      ['mp-exports', '1.2.3', 1],
    ]);
    expect(kernel.plugins[1]?.contributions).toEqual({ guard: ['good-guard'] });
    expect(kernel.contributions.guard.get('good-guard')).toBeDefined();
    await kernel.shutdown();
  });

  it('loads the example plugin from its workspace package, as the example config names it', async () => {
    const loaded = resolveConfig(
      { plugins: [{ package: 'modelplane-plugin-hello', options: { blockedWords: ['secret'] } }] },
      { dir: join(repoRoot, 'examples') },
    );
    const kernel = await createKernel({ loaded: { ...loaded, dataDir: join(project.dir, 'data') }, logger: silent });
    const guard = kernel.contributions.guard.get('blocked-words');
    expect(await guard?.pre?.({ text: 'my SECRET plan' })).toMatchObject({ action: 'block' });
    expect(await guard?.pre?.({ text: 'hello' })).toMatchObject({ action: 'allow' });
    await kernel.shutdown();
  });

  it('tells "not installed" apart and names the plugin', async () => {
    const error = await bootError(['mp-good', 'mp-missing']);
    expect(error.code).toBe('MP_ERR_PLUGIN_NOT_INSTALLED');
    expect(error.message).toContain('mp-missing');
    expect(error.message).toContain('npm install mp-missing');
    // A path is not something npm can install: the message names the folder it looked in.
    const path = await bootError(['./plugins/mp-missing']);
    expect(path.code).toBe('MP_ERR_PLUGIN_NOT_INSTALLED');
    expect(path.message).toBe(`plugin ./plugins/mp-missing is not a package folder: ${join(project.dir, 'plugins', 'mp-missing', 'package.json')} does not exist`);
  });

  it('reports an installed plugin whose import fails, with the cause', async () => {
    const broken = await bootError(['mp-import-broken']);
    expect(broken.code).toBe('MP_ERR_PLUGIN_IMPORT_FAILED');
    expect(broken.message).toMatch(/mp-import-broken.*does-not-exist/s);
    const throws = await bootError(['mp-throws-on-import']);
    expect(throws.code).toBe('MP_ERR_PLUGIN_IMPORT_FAILED');
    expect(throws.message).toContain('kaboom at import');
  });

  it('refuses a package that is not a Modelplane plugin', async () => {
    const error = await bootError(['mp-not-plugin']);
    expect(error.code).toBe('MP_ERR_NOT_A_PLUGIN');
    expect(error.message).toContain('mp-not-plugin');
    expect(error.message).toContain('definePlugin');
    const shape = await bootError(['mp-bad-shape']);
    expect(shape.code).toBe('MP_ERR_NOT_A_PLUGIN');
    expect(shape.message).toContain('description');
  });

  it('refuses an incompatible apiVersion, naming both versions', async () => {
    const error = await bootError(['mp-api-2']);
    expect(error.code).toBe('MP_ERR_PLUGIN_API_INCOMPATIBLE');
    expect(error.message).toContain('mp-api-2@1.2.3');
    expect(error.message).toContain('^2');
    expect(error.message).toContain('1.0.0');
  });

  it('checks the package.json manifest range before importing any code', async () => {
    const error = await bootError(['mp-manifest-api-3']);
    expect(error.code).toBe('MP_ERR_PLUGIN_API_INCOMPATIBLE');
    expect(error.message).toContain('^3');
  });

  it('refuses a package.json manifest whose apiVersion is not a semver range, instead of calling it incompatible', async () => {
    const error = await bootError(['mp-manifest-no-range']);
    expect(error.code).toBe('MP_ERR_NOT_A_PLUGIN');
    expect(error.message).toBe('plugin mp-manifest-no-range@1.2.3 declares plugin API "one", which is not a semver range such as ^1');
  });

  it('validates options with the plugin schema and names the config path', async () => {
    const error = await bootError([
      'mp-good',
      'mp-exports',
      { package: 'mp-options', options: { threads: 'four', mode: 'c' } },
    ]);
    expect(error.code).toBe('MP_ERR_PLUGIN_OPTIONS_INVALID');
    expect(error.message).toContain('mp-options');
    expect(error.message).toContain('plugins[2].options.threads');
    expect(error.message).toContain('plugins[2].options.mode');
    const kernel = await boot([{ package: 'mp-options', options: { threads: 4, mode: 'a' } }]);
    await kernel.shutdown();
  });

  it('wraps an error thrown by setup', async () => {
    const error = await bootError(['mp-setup-throws']);
    expect(error.code).toBe('MP_ERR_PLUGIN_SETUP_FAILED');
    expect(error.message).toContain('mp-setup-throws');
    expect(error.message).toContain('no database');
  });

  it('shuts down the plugins already set up when a later one fails, so nothing they started keeps running', async () => {
    const error = await bootError(['mp-holds-timer', 'mp-setup-throws']);
    expect(error.code).toBe('MP_ERR_PLUGIN_SETUP_FAILED');
    expect((globalThis as { mpHoldsTimerClosed?: boolean }).mpHoldsTimerClosed).toBe(true);
  });

  it('times out a setup that never finishes', async () => {
    const error = await bootError(['mp-setup-hangs'], { pluginSetupTimeoutMs: 100 });
    expect(error.code).toBe('MP_ERR_PLUGIN_SETUP_TIMEOUT');
    expect(error.message).toContain('mp-setup-hangs');
  });

  it('refuses two plugins registering the same id for one extension point', async () => {
    const error = await bootError(['mp-good', 'mp-dup-guard']);
    expect(error.code).toBe('MP_ERR_DUPLICATE_CONTRIBUTION');
    expect(error.message).toContain('mp-good');
    expect(error.message).toContain('mp-dup-guard');
    expect(error.message).toContain('good-guard');
  });

  it('refuses a contribution missing what its extension point calls, at boot rather than at the first request', async () => {
    const error = await bootError(['mp-runtime-typo']);
    expect(error.code).toBe('MP_ERR_INVALID_CONTRIBUTION');
    expect(error.message).toBe('plugin mp-runtime-typo registered runtime "typo" without frameworks (a list) and load (a function)');
  });

  it('refuses the same plugin configured twice', async () => {
    const error = await bootError(['mp-exports', 'mp-exports']);
    expect(error.code).toBe('MP_ERR_PLUGIN_DUPLICATE');
    expect(error.message).toContain('plugins[0]');
    expect(error.message).toContain('plugins[1]');
  });
});
