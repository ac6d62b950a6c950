import { fromJsonData, loadRequestFromDirectory, runtimeConformance } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import plugin, { FRAMEWORK, runtime } from '../src/index.ts';

const fixtureDir = new URL('./fixtures/linear', import.meta.url).pathname;

describe('the runtime passes the runtime conformance kit', () => {
  const fixtures = [
    {
      name: 'linear',
      load: loadRequestFromDirectory(fixtureDir, { framework: FRAMEWORK }),
      // Two rows, so the kit also checks that a batch answers like single calls.
      input: [fromJsonData('x', 'FP32', [2, 2], [1, 2, 3, 4])],
      expected: { outputs: { y: { shape: [2, 3], data: [1.5, 2, 1, 3.5, 4, 3] } }, tolerance: 1e-6 },
      batchable: true,
    },
  ];
  for (const check of runtimeConformance(runtime, fixtures)) it(check.name, check.run);
});

describe('the plugin', () => {
  it('is named like its package and targets plugin API 1', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    expect(plugin.name).toBe(pkg.name);
    expect(plugin.apiVersion).toBe(pkg.modelplane.apiVersion);
  });
});
