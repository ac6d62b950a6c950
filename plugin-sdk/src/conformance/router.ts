/**
 * The router-strategy conformance kit: checks a strategy's rankings against the routing contract (pure, complete,
 * ordered, constraints honoured), from any test runner
 * (`for (const check of routerStrategyConformance(strategy)) it(check.name, check.run)`).
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { estimateCostMicroUsd, type RouteCandidate, type RouteRequest, type RouterStrategy, tokenCostProfile } from '../gateway.ts';
import type { ConformanceCheck } from './runtime.ts';

const NOW = Date.UTC(2025, 0, 1);

/** Five usable candidates and three the router must never pick (no price, cooling down, failing). */
export function sampleCandidates(now = NOW): RouteCandidate[] {
  const base = { provider: 'test', taskTypes: ['chat', 'code'], latencyMs: 500, tokensPerSecond: 50 };
  const price = (input: string, output: string) => tokenCostProfile({ inputUsdPerMTok: input, outputUsdPerMTok: output, priceVersion: 'test' });
  return [
    { ...base, model: 'big', version: '1', cost: price('10', '30'), quality: { overall: 0.95 }, contextLength: 200_000, tags: ['eu'], safety: { safetyTuned: true } },
    { ...base, model: 'mid', version: '1', cost: price('1', '3'), quality: { overall: 0.8 }, contextLength: 128_000, tags: ['eu', 'us'], latencyMs: 300 },
    { ...base, model: 'small', version: '1', cost: price('0.1', '0.3'), quality: { overall: 0.6 }, contextLength: 16_000, tags: ['us'], tokensPerSecond: 200 },
    { ...base, model: 'filtered', version: '1', cost: price('2', '6'), quality: { overall: 0.85 }, contextLength: 64_000, safety: { contentFilter: true } },
    { ...base, model: 'coder', version: '1', cost: price('0.5', '1.5'), quality: { overall: 0.7 }, contextLength: 32_000, taskTypes: ['code'] },
    { ...base, model: 'unpriced', version: '1', quality: { overall: 0.99 }, contextLength: 200_000 },
    { ...base, model: 'cooling', version: '1', cost: price('0.01', '0.01'), quality: { overall: 0.99 }, contextLength: 200_000, stats: { cooldownUntil: now + 60_000 } },
    { ...base, model: 'failing', version: '1', cost: price('0.01', '0.01'), quality: { overall: 0.99 }, contextLength: 200_000, stats: { errorRate: 0.9 } },
  ];
}

/** Each scenario's request, and the rule every ranked candidate must satisfy under it. */
const SCENARIOS: Array<{ name: string; request: RouteRequest; allowed(c: RouteCandidate, r: RouteRequest): boolean }> = [
  { name: 'no constraints', request: { inputTokens: 1000, maxOutputTokens: 500 }, allowed: () => true },
  { name: 'excludeModels', request: { inputTokens: 1000, maxOutputTokens: 500, constraints: { excludeModels: ['big', 'mid'] } }, allowed: (c) => !['big', 'mid'].includes(c.model) },
  { name: 'minContextLength', request: { inputTokens: 1000, maxOutputTokens: 500, constraints: { minContextLength: 100_000 } }, allowed: (c) => c.contextLength >= 100_000 },
  { name: 'requiredTags', request: { inputTokens: 1000, maxOutputTokens: 500, constraints: { requiredTags: ['eu'] } }, allowed: (c) => c.tags?.includes('eu') === true },
  { name: 'safetyRequired', request: { inputTokens: 1000, maxOutputTokens: 500, constraints: { safetyRequired: true } }, allowed: (c) => c.safety?.safetyTuned === true || c.safety?.contentFilter === true },
  {
    name: 'maxCostPer1kTokens',
    request: { inputTokens: 1000, maxOutputTokens: 1000, constraints: { maxCostPer1kTokens: 0.005 } },
    allowed: (c, r) => c.cost !== undefined && estimateCostMicroUsd(c.cost, r.inputTokens, r.maxOutputTokens) / (r.inputTokens + r.maxOutputTokens) / 1000 <= 0.005,
  },
  { name: 'taskType', request: { inputTokens: 1000, maxOutputTokens: 500, taskType: 'chat' }, allowed: (c) => c.taskTypes.includes('chat') || c.taskTypes.includes('*') },
];

const NEVER = new Set(['unpriced', 'cooling', 'failing']);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

export interface RouterConformanceOptions {
  /** Replaces the sample table; it must keep the sample's model names for the constraint checks to mean anything. */
  candidates?: RouteCandidate[];
}

export function routerStrategyConformance(strategy: RouterStrategy, options: RouterConformanceOptions = {}): ConformanceCheck[] {
  const candidates = deepFreeze(options.candidates ?? sampleCandidates());
  const rank = (request: RouteRequest, limit?: number) =>
    strategy.rank(candidates, deepFreeze({ now: NOW, ...request }), limit === undefined ? undefined : { limit });
  return [
    {
      name: 'declares an id and non-negative weights',
      run: async () => {
        ok(typeof strategy.id === 'string' && strategy.id.length > 0, 'id must be a non-empty string');
        const weights = Object.values(strategy.weights).filter((w) => w !== undefined);
        ok(weights.every((w) => Number.isFinite(w) && w >= 0), `weights must be finite and ≥ 0: ${JSON.stringify(strategy.weights)}`);
        ok(weights.some((w) => w > 0), 'at least one weight must be positive');
      },
    },
    {
      name: 'is pure: the same input gives the same ranking, and the candidates are not modified',
      run: async () => {
        // The candidates and request are frozen: a strategy that writes to them throws here.
        const first = rank(SCENARIOS[0]!.request);
        deepStrictEqual(rank(SCENARIOS[0]!.request), first);
      },
    },
    ...SCENARIOS.map(
      (scenario): ConformanceCheck => ({
        name: `${scenario.name}: accounts for every candidate once, best first, honouring the constraint`,
        run: async () => {
          const ranking = rank(scenario.request);
          strictEqual(ranking.strategy, strategy.id, 'ranking.strategy names the strategy');
          const seen = [...ranking.ranked, ...ranking.excluded].map((r) => `${r.candidate.model}@${r.candidate.version}`).sort();
          deepStrictEqual(seen, candidates.map((c) => `${c.model}@${c.version}`).sort(), 'each candidate is either ranked or excluded, once');
          for (const excluded of ranking.excluded) ok(excluded.reason.length > 0, `exclusion of ${excluded.candidate.model} must say why`);
          ranking.ranked.forEach((r, i) => {
            ok(Number.isFinite(r.score), `${r.candidate.model}: score must be finite`);
            if (i > 0) ok(r.score <= ranking.ranked[i - 1]!.score, `ranked out of order at ${i}: ${r.candidate.model}`);
            ok(!NEVER.has(r.candidate.model), `${r.candidate.model} must never be ranked (no price, cooling down or failing)`);
            ok(scenario.allowed(r.candidate, scenario.request), `${r.candidate.model} breaks the ${scenario.name} constraint`);
          });
          ok(ranking.ranked.length > 0, 'some candidate satisfies this constraint; nothing was ranked');
        },
      }),
    ),
    {
      name: 'returns at most `limit` candidates, the best ones',
      run: async () => {
        const all = rank(SCENARIOS[0]!.request);
        const top = rank(SCENARIOS[0]!.request, 2);
        ok(top.ranked.length <= 2, `asked for 2, got ${top.ranked.length}`);
        deepStrictEqual(top.ranked.map((r) => r.candidate.model), all.ranked.slice(0, 2).map((r) => r.candidate.model));
      },
    },
    {
      name: 'ranks an empty list as empty',
      run: async () => {
        const ranking = strategy.rank([], { inputTokens: 10, maxOutputTokens: 10, now: NOW });
        deepStrictEqual([ranking.ranked.length, ranking.excluded.length], [0, 0]);
      },
    },
  ];
}
