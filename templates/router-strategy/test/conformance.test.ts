import { routerStrategyConformance, sampleCandidates } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import plugin, { cheapest } from '../src/index.ts';

describe('the strategy passes the router-strategy conformance kit', () => {
  for (const check of routerStrategyConformance(cheapest)) it(check.name, check.run);
});

describe('the strategy', () => {
  it('puts the cheapest eligible model first', () => {
    const ranking = cheapest.rank(sampleCandidates(), { inputTokens: 1000, maxOutputTokens: 500, now: Date.UTC(2025, 0, 1) });
    expect(ranking.ranked[0]?.candidate.model).toBe('small');
  });

  it('is named like its package and targets plugin API 1', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    expect(plugin.name).toBe(pkg.name);
    expect(plugin.apiVersion).toBe(pkg.modelplane.apiVersion);
  });
});
