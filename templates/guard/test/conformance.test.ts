import { guardConformance } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import plugin, { termsGuard } from '../src/index.ts';

describe('the guard passes the guard conformance kit', () => {
  const guard = termsGuard({ block: ['project zebra'], redact: ['ACME-1234'] });
  const samples = { allowed: ['How do tides work?'], flagged: ['Status of Project Zebra?', 'Ticket ACME-1234 is open'] };
  for (const check of guardConformance(guard, samples)) it(check.name, check.run);
});

describe('the plugin', () => {
  it('is named like its package and targets plugin API 1', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    expect(plugin.name).toBe(pkg.name);
    expect(plugin.apiVersion).toBe(pkg.modelplane.apiVersion);
  });
});
