import type { RouteCandidate, RouteRequest } from '@modelplane/plugin-sdk';
import { tokenCostProfile } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import plugin, { createStrategies, filterCandidates, STRATEGY_IDS, type StrategyId } from '../src/index.ts';
import { candidateTable } from './candidates.ts';

const now = 1_700_000_000_000;
const strategies = createStrategies();
const chat: RouteRequest = { taskType: 'chat', inputTokens: 1000, maxOutputTokens: 500, now };

function pick(strategy: StrategyId, request: RouteRequest = chat, candidates = candidateTable(now)): string | undefined {
  return strategies[strategy].rank(candidates, request).ranked[0]?.candidate.model;
}

function models(list: readonly { candidate: RouteCandidate }[]): string[] {
  return list.map((entry) => entry.candidate.model);
}

describe('each strategy picks what seed 003 says for the candidate table', () => {
  it.each([
    // The best quality among usable models; legacy-unpriced (0.99) and flaky-13b (0.97) are not usable.
    ['quality-first', 'uncensored-70b'],
    // The cheapest per call: $0.10/h at 200 tok/s is $0.000208 for 1,500 tokens; gpt-4o-mini is $0.000450.
    ['cost-optimized', 'phi-3-mini'],
    // 200 ms + 500 tokens at 800 tok/s = 825 ms; the next fastest (phi-3-mini) needs 2,650 ms.
    ['speed-first', 'groq-llama-70b'],
    // Seed weights 0.4/0.4/0.2: good quality (0.80), the third-cheapest, and the fastest.
    ['balanced', 'groq-llama-70b'],
    // Only flagged models; claude-sonnet has the best quality among them.
    ['safety-critical', 'claude-sonnet'],
  ] as const)('%s → %s', (strategy, expected) => {
    expect(pick(strategy)).toBe(expected);
  });

  it('cost-optimized orders by estimated cost when quality and speed are equal', () => {
    const same = (model: string, input: string, output: string): RouteCandidate => ({
      model,
      version: '1',
      provider: 'openai',
      cost: tokenCostProfile({ inputUsdPerMTok: input, outputUsdPerMTok: output, priceVersion: 't' }),
      quality: { overall: 0.8 },
      contextLength: 8192,
      taskTypes: ['chat'],
      latencyMs: 300,
      tokensPerSecond: 100,
    });
    const ranking = strategies['cost-optimized'].rank([same('mid', '1', '2'), same('dear', '5', '15'), same('cheap', '0.1', '0.4')], chat);
    expect(models(ranking.ranked)).toEqual(['cheap', 'mid', 'dear']);
    const costs = ranking.ranked.map((r) => r.components.estimatedCostMicroUsd);
    expect(costs).toEqual([300, 2000, 12_500]); // 1000 × in + 500 × out, µUSD per million tokens
  });

  it('safety-critical never ranks an unflagged model, however good, and says why', () => {
    const ranking = strategies['safety-critical'].rank(candidateTable(now), chat);
    expect(models(ranking.ranked).sort()).toEqual(['claude-haiku', 'claude-sonnet', 'gpt-4o', 'gpt-4o-mini']);
    const uncensored = ranking.excluded.find((e) => e.candidate.model === 'uncensored-70b');
    expect(uncensored?.code).toBe('safety');
    expect(uncensored?.reason).toMatch(/safety is required/);
  });

  it('every ranking is explained, component by component', () => {
    const [best] = strategies.balanced.rank(candidateTable(now), chat).ranked;
    expect(best?.reasons.join('\n')).toMatch(/quality 0\.800 overall .* weight 0\.40/);
    expect(best?.reasons.join('\n')).toMatch(/cost ≈ \$0\.000985 .* weight 0\.40/);
    expect(best?.reasons.join('\n')).toMatch(/latency ≈ 825 ms → 1\.000 × weight 0\.20/);
    expect(best?.components.latency).toBe(1);
    expect(JSON.parse(JSON.stringify(best))).toMatchObject({ model: 'groq-llama-70b', version: '3.3' });
  });
});

describe('unusable candidates are excluded, each with its reason', () => {
  it('no price, cooling down after a 429, and unhealthy', () => {
    // safety-critical turns the unflagged ones away earlier, for safety (tested above).
    for (const id of STRATEGY_IDS.filter((s) => s !== 'safety-critical')) {
      const { ranked, excluded } = strategies[id].rank(candidateTable(now), chat);
      const byModel = Object.fromEntries(excluded.map((e) => [e.candidate.model, e]));
      expect(byModel['legacy-unpriced']?.code).toBe('no-price');
      expect(byModel['o3-mini']?.code).toBe('cooldown');
      expect(byModel['o3-mini']?.reason).toMatch(/another 30 s/);
      expect(byModel['flaky-13b']?.code).toBe('unhealthy');
      expect(byModel['flaky-13b']?.reason).toMatch(/60% is at or above 50%/);
      expect(models(ranked)).not.toContain('legacy-unpriced');
    }
  });

  it('a cooldown that has passed no longer excludes', () => {
    const later = { ...chat, now: now + 31_000 };
    const ranking = strategies['quality-first'].rank(candidateTable(now), later);
    expect(models(ranking.ranked)).toContain('o3-mini');
  });

  it('the error-rate limit is a constraint, and errors lower the score below it', () => {
    const lenient = strategies['cost-optimized'].rank(candidateTable(now), { ...chat, constraints: { maxErrorRate: 0.9 } });
    const flaky = lenient.ranked.find((r) => r.candidate.model === 'flaky-13b');
    expect(flaky?.components.reliability).toBeCloseTo(0.4);
    expect(flaky?.reasons.at(-1)).toMatch(/error rate 60\.0% → score × 0\.400/);
  });
});

describe('constraints', () => {
  it('maxCostPer1kTokens keeps only models estimated at or under the limit', () => {
    // $0.001 per 1k tokens over 1,500 tokens: at most $0.0015 for the call.
    const request: RouteRequest = { ...chat, constraints: { maxCostPer1kTokens: 0.001 } };
    const ranking = strategies['quality-first'].rank(candidateTable(now), request);
    expect(models(ranking.ranked).sort()).toEqual(['gpt-4o-mini', 'groq-llama-70b', 'phi-3-mini']);
    expect(ranking.ranked[0]?.candidate.model).toBe('groq-llama-70b');
    const sonnet = ranking.excluded.find((e) => e.candidate.model === 'claude-sonnet');
    expect(sonnet?.code).toBe('max-cost');
    expect(sonnet?.reason).toBe('estimated $0.007000 per 1k tokens is above the $0.001000 limit');
  });

  it('safetyRequired on any strategy', () => {
    const request: RouteRequest = { ...chat, constraints: { safetyRequired: true } };
    expect(pick('quality-first', request)).toBe('claude-sonnet');
    expect(pick('cost-optimized', request)).toBe('gpt-4o-mini');
  });

  it('minContextLength, and a call that does not fit the context', () => {
    const big: RouteRequest = { ...chat, constraints: { minContextLength: 100_000 } };
    const ranking = strategies['cost-optimized'].rank(candidateTable(now), big);
    expect(ranking.ranked[0]?.candidate.model).toBe('gpt-4o-mini');
    expect(ranking.excluded.find((e) => e.candidate.model === 'phi-3-mini')?.reason).toBe(
      'context of 4096 tokens is below the required 100000',
    );
    const long: RouteRequest = { ...chat, inputTokens: 4000 };
    const phi = strategies['cost-optimized'].rank(candidateTable(now), long).excluded.find((e) => e.candidate.model === 'phi-3-mini');
    expect(phi?.reason).toBe('context of 4096 tokens cannot hold 4000 input + 500 output tokens');
  });

  it('requiredTags and excludeModels', () => {
    const eu: RouteRequest = { ...chat, constraints: { requiredTags: ['eu'], excludeModels: ['phi-3-mini'] } };
    const ranking = strategies['cost-optimized'].rank(candidateTable(now), eu);
    expect(models(ranking.ranked).sort()).toEqual(['gpt-4o', 'gpt-4o-mini']);
    const codes = Object.fromEntries(ranking.excluded.map((e) => [e.candidate.model, e.code]));
    expect(codes['phi-3-mini']).toBe('excluded-model');
    expect(codes['claude-sonnet']).toBe('required-tags');
    expect(ranking.excluded.find((e) => e.candidate.model === 'claude-sonnet')?.reason).toBe('missing tag(s) eu');
  });

  it('task type: only models serving it, scored on their per-task quality', () => {
    const code: RouteRequest = { ...chat, taskType: 'code' };
    const ranking = strategies['quality-first'].rank(candidateTable(now), code);
    expect(models(ranking.ranked).sort()).toEqual(['claude-sonnet', 'gpt-4o', 'gpt-4o-mini', 'uncensored-70b']);
    // claude-sonnet's code score (0.95) equals uncensored-70b's overall, and it is cheaper and faster.
    expect(ranking.ranked[0]?.candidate.model).toBe('claude-sonnet');
    expect(ranking.ranked[0]?.reasons[0]).toMatch(/^quality 0\.950 for code/);
    expect(ranking.excluded.find((e) => e.candidate.model === 'groq-llama-70b')?.code).toBe('task-type');
  });

  it('the request may reweigh a strategy (seed 003 quality_weight / cost_weight / latency_weight)', () => {
    expect(pick('quality-first', { ...chat, weights: { quality: 0, cost: 1, latency: 0 } })).toBe('phi-3-mini');
    expect(() => strategies.balanced.rank(candidateTable(now), { ...chat, weights: { quality: 0, cost: 0, latency: 0 } })).toThrow(
      expect.objectContaining({ code: 'MP_ERR_INVALID_ROUTE_REQUEST' }),
    );
  });

  it('bad token counts are a coded 400', () => {
    expect(() => strategies.balanced.rank(candidateTable(now), { ...chat, inputTokens: -1 })).toThrow(
      expect.objectContaining({ code: 'MP_ERR_INVALID_ROUTE_REQUEST', statusCode: 400 }),
    );
  });

  it('nothing eligible gives an empty ranking with every exclusion', () => {
    const ranking = strategies.balanced.rank(candidateTable(now), { ...chat, taskType: 'embedding' });
    expect(ranking.ranked).toEqual([]);
    // legacy-unpriced serves every task ('*'), so it is out for its price instead.
    expect(ranking.excluded.map((e) => e.code).sort()).toEqual([...Array(9).fill('task-type'), 'no-price'].sort());
  });

  it('filterCandidates applies the same rules on its own', () => {
    const { eligible, excluded } = filterCandidates(candidateTable(now), { ...chat, constraints: { maxCostPer1kTokens: 0.001 } });
    expect(eligible.map((c) => c.model).sort()).toEqual(['gpt-4o-mini', 'groq-llama-70b', 'phi-3-mini']);
    expect(excluded).toHaveLength(7);
    expect(JSON.parse(JSON.stringify(excluded[0]))).toEqual({
      model: 'gpt-4o',
      version: '2024-08-06',
      code: 'max-cost',
      reason: 'estimated $0.005000 per 1k tokens is above the $0.001000 limit',
    });
  });
});

describe('determinism and limits', () => {
  const twin = (model: string): RouteCandidate => ({
    model,
    version: '1',
    provider: 'openai',
    cost: tokenCostProfile({ inputUsdPerMTok: 1, outputUsdPerMTok: 2, priceVersion: 't' }),
    quality: { overall: 0.8 },
    contextLength: 8192,
    taskTypes: ['chat'],
    latencyMs: 300,
  });

  it('ties go to the model name, whatever the input order', () => {
    const names = ['delta', 'alpha', 'charlie', 'bravo'];
    for (const order of [names, [...names].reverse(), ['charlie', 'alpha', 'delta', 'bravo']]) {
      for (const limit of [1, 2, undefined]) {
        const ranked = strategies.balanced.rank(order.map(twin), chat, limit === undefined ? undefined : { limit }).ranked;
        expect(models(ranked)).toEqual(['alpha', 'bravo', 'charlie', 'delta'].slice(0, limit));
      }
    }
  });

  it('a limited ranking is the prefix of the full one', () => {
    for (const id of STRATEGY_IDS) {
      const full = models(strategies[id].rank(candidateTable(now), chat).ranked);
      for (const limit of [1, 2, 3]) {
        expect(models(strategies[id].rank(candidateTable(now), chat, { limit }).ranked)).toEqual(full.slice(0, limit));
      }
    }
  });

  it('one strategy object ranks differently sized lists back to back', () => {
    const many = Array.from({ length: 200 }, (_, i) => twin(`m${String(i).padStart(3, '0')}`));
    expect(strategies.balanced.rank(many, chat).ranked).toHaveLength(200);
    expect(models(strategies.balanced.rank(candidateTable(now), chat, { limit: 1 }).ranked)).toEqual(['groq-llama-70b']);
  });
});

describe('plugin', () => {
  it('registers the five strategies by id', async () => {
    const registered: string[] = [];
    const register = { routerStrategy: (s: { id: string }) => registered.push(s.id) };
    await plugin.setup({ options: {}, register } as never);
    expect(registered).toEqual(['quality-first', 'cost-optimized', 'balanced', 'speed-first', 'safety-critical']);
  });

  it('can register a subset', async () => {
    const registered: string[] = [];
    const register = { routerStrategy: (s: { id: string }) => registered.push(s.id) };
    await plugin.setup({ options: { enabled: ['balanced'] }, register } as never);
    expect(registered).toEqual(['balanced']);
  });
});
