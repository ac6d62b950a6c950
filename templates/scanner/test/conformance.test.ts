import { scannerConformance } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import plugin, { EICAR, Options, signatureScanner } from '../src/index.ts';

const scanner = signatureScanner(Options.parse({}).signatures, plugin.version);

describe('the scanner passes the scanner conformance kit', () => {
  const fixtures = [
    { path: 'weights.bin', content: new Uint8Array(4096).fill(7), expect: 'clean' as const },
    { path: 'eicar.bin', content: `padding ${EICAR} padding`, expect: { rules: ['eicar-test'] } },
  ];
  for (const check of scannerConformance(scanner, fixtures)) it(check.name, check.run);
});

describe('the plugin', () => {
  it('is named like its package and targets plugin API 1', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    expect(plugin.name).toBe(pkg.name);
    expect(plugin.apiVersion).toBe(pkg.modelplane.apiVersion);
  });
});
