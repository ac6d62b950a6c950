import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addPlugin, checkRegistryManifest, parseSpec, removePlugin } from './plugin-commands.ts';

describe('parseSpec', () => {
  it.each([
    ['modelplane-plugin-x', { name: 'modelplane-plugin-x', range: 'latest' }],
    ['modelplane-plugin-x@^1.2', { name: 'modelplane-plugin-x', range: '^1.2' }],
    ['@acme/modelplane-plugin-x', { name: '@acme/modelplane-plugin-x', range: 'latest' }],
    ['@acme/modelplane-plugin-x@2.0.0', { name: '@acme/modelplane-plugin-x', range: '2.0.0' }],
  ])('%s', (spec, expected) => expect(parseSpec(spec)).toEqual(expected));
});

describe('checkRegistryManifest', () => {
  const base = { name: 'modelplane-plugin-x', version: '1.0.0' };

  it('accepts a plugin for this plugin API', () => {
    expect(() => checkRegistryManifest({ ...base, modelplane: { kinds: ['runtime'], apiVersion: '^1' } })).not.toThrow();
  });

  it('refuses a package without the modelplane field', () => {
    expect(() => checkRegistryManifest({ ...base })).toThrow('is not a Modelplane plugin: its package.json has no "modelplane": { "apiVersion" } field and no "modelplane-plugin" keyword');
  });

  it('refuses unknown kinds and other plugin APIs, naming both versions', () => {
    expect(() => checkRegistryManifest({ ...base, modelplane: { kinds: ['teleporter'], apiVersion: '^1' } })).toThrow('declares unknown kinds teleporter');
    expect(() => checkRegistryManifest({ ...base, modelplane: { apiVersion: '>=2' } })).toThrow(
      /modelplane-plugin-x@1\.0\.0 requires plugin API >=2, but this Modelplane core provides plugin API 1\.\d+\.\d+/,
    );
  });
});

describe('plugins add / remove with -c in a folder that does not exist', () => {
  it('names the missing folder instead of failing to run npm there', async () => {
    const missing = join(tmpdir(), `mp-no-such-folder-${process.pid}`, 'modelplane.config.yaml');
    for (const command of [() => addPlugin('modelplane-plugin-x', missing), () => removePlugin('modelplane-plugin-x', missing)]) {
      await expect(command()).rejects.toMatchObject({ code: 'MP_ERR_CONFIG_NOT_FOUND', message: `${dirname(missing)} does not exist (the folder of the config file ${missing})` });
    }
  });
});
