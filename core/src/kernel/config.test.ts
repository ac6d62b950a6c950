import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tmp.ts';
import { loadConfigFile, resolveConfig } from './config.ts';

const temps: Array<{ remove(): void }> = [];
afterEach(() => {
  for (const t of temps.splice(0)) t.remove();
});

function writeConfig(name: string, text: string): string {
  const tmp = makeTempDir('config');
  temps.push(tmp);
  const file = join(tmp.dir, name);
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (error) {
    expect((error as { code: string }).code).toBe('MP_ERR_CONFIG_INVALID');
    return (error as { details: Array<{ path: string; message: string }> }).details;
  }
  throw new Error('expected the config to be rejected');
}

describe('config', () => {
  it('fills defaults for an empty config', () => {
    const loaded = resolveConfig({}, { dir: '/srv/app' });
    expect(loaded.config.server).toMatchObject({ host: '127.0.0.1', port: 8080, logLevel: 'info' });
    expect(loaded.dataDir).toBe('/srv/app/.modelplane');
    expect(loaded.plugins).toEqual([]);
  });

  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf(() =>
      resolveConfig({
        server: { port: 'eighty', logLevel: 'loud', colour: 'blue' },
        plugins: ['ok-plugin', { options: {} }, 42],
        extra: true,
      }),
    );
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['server.port', 'server.logLevel', 'server', 'plugins[1]', 'plugins[2]', '(root)']),
    );
    expect(problems.find((p) => p.path === 'server')?.message).toContain('"colour"');
    expect(problems.find((p) => p.path === '(root)')?.message).toContain('"extra"');
    expect(problems.find((p) => p.path === 'server.port')?.message).toMatch(/number/);
  });

  it('refuses timer durations Node cannot wait for (they would fire after 1 ms)', () => {
    const problems = problemsOf(() =>
      resolveConfig({ server: { pluginSetupTimeoutMs: 1e12, shutdownTimeoutMs: 2 ** 31 }, gateway: { firstTokenTimeoutMs: 1e10 }, updates: { intervalMs: 1e10 } }),
    );
    expect(problems.map((p) => p.path)).toEqual(['server.shutdownTimeoutMs', 'server.pluginSetupTimeoutMs', 'gateway.firstTokenTimeoutMs', 'updates.intervalMs']);
    expect(problems[0]!.message).toBe('at most 2147483647 ms (about 24.8 days), the longest timer Node.js supports');
    expect(resolveConfig({ server: { pluginSetupTimeoutMs: 2 ** 31 - 1 } }).config.server.pluginSetupTimeoutMs).toBe(2 ** 31 - 1);
  });

  it('interpolates ${VAR} and ${VAR:-default}, typing whole-value references', () => {
    const loaded = resolveConfig(
      { server: { host: '${HOST}', port: '${PORT:-9090}' }, storage: { dataDir: '/data/${TENANT}/mp' } },
      { env: { HOST: '0.0.0.0', TENANT: 'acme' } },
    );
    expect(loaded.config.server.host).toBe('0.0.0.0');
    expect(loaded.config.server.port).toBe(9090);
    expect(loaded.config.storage.dataDir).toBe('/data/acme/mp');
  });

  it('keeps $${VAR} literal and reports unset variables by path', () => {
    const loaded = resolveConfig({ storage: { dataDir: '/x/$${NOT_EXPANDED}' } }, { env: {} });
    expect(loaded.config.storage.dataDir).toBe('/x/${NOT_EXPANDED}');
    const problems = problemsOf(() => resolveConfig({ server: { host: '${MISSING_HOST}' } }, { env: {} }));
    expect(problems).toContainEqual({
      path: 'server.host',
      message: expect.stringContaining('MISSING_HOST is not set'),
    });
  });

  it('loads YAML and JSON files; relative paths resolve against the file', async () => {
    const yamlFile = writeConfig('mp.yaml', '# comment\nserver:\n  port: 1234\nplugins:\n  - a-plugin\n');
    const loaded = await loadConfigFile(yamlFile);
    expect(loaded.config.server.port).toBe(1234);
    expect(loaded.plugins).toEqual([{ package: 'a-plugin', options: undefined, index: 0 }]);
    expect(loaded.dataDir).toBe(join(loaded.dir, '.modelplane'));

    const jsonFile = writeConfig('mp.json', JSON.stringify({ plugins: [{ package: 'p', enabled: false }, 'q'] }));
    expect((await loadConfigFile(jsonFile)).plugins).toEqual([{ package: 'q', options: undefined, index: 1 }]);
  });

  it('names the file and position of a YAML syntax error', async () => {
    const file = writeConfig('broken.yaml', 'server:\n  port: [1, 2\n');
    await expect(loadConfigFile(file)).rejects.toMatchObject({
      code: 'MP_ERR_CONFIG_SYNTAX',
      message: expect.stringContaining('broken.yaml'),
    });
  });

  it('says which file is missing', async () => {
    await expect(loadConfigFile('/nonexistent/modelplane.yaml')).rejects.toMatchObject({
      code: 'MP_ERR_CONFIG_NOT_FOUND',
      message: expect.stringContaining('/nonexistent/modelplane.yaml'),
    });
  });
});
