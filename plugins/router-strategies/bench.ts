/**
 * Router selections per second with 100 candidates: `node plugins/router-strategies/bench.ts`
 * (Node 24 runs the TypeScript directly; use node_modules/.bin/node where the system node is older).
 * Prints one row per strategy and rank depth; the target is ≥ 200,000 selections/s.
 */
import { type RouteCandidate, type RouteRequest, selfHostedCostProfile, tokenCostProfile } from '@modelplane/plugin-sdk';
import { createStrategies } from './src/index.ts';

const CANDIDATES = 100;
const now = Date.now();

/** Deterministic pseudo-random numbers (mulberry32), so every run ranks the same table. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function table(): RouteCandidate[] {
  const rand = random(42);
  const out: RouteCandidate[] = [];
  for (let i = 0; i < CANDIDATES; i++) {
    const selfHosted = i % 5 === 0;
    out.push({
      model: `model-${String(i).padStart(3, '0')}`,
      version: '1',
      provider: selfHosted ? 'self-hosted' : i % 2 === 0 ? 'openai' : 'anthropic',
      cost: selfHosted
        ? selfHostedCostProfile({ hardwareHourlyUsd: Math.round(rand() * 8_000_000) / 1e6, tokensPerSecond: 20 + Math.round(rand() * 900), priceVersion: 'bench' })
        : tokenCostProfile({ inputUsdPerMTok: Math.round(rand() * 15_000_000) / 1e6, outputUsdPerMTok: Math.round(rand() * 60_000_000) / 1e6, priceVersion: 'bench' }),
      quality: { overall: 0.5 + rand() * 0.45, byTask: { code: 0.4 + rand() * 0.55 } },
      contextLength: [8_192, 32_768, 128_000, 200_000][i % 4]!,
      taskTypes: i % 7 === 0 ? ['chat'] : ['chat', 'code', 'summarization'],
      tags: i % 3 === 0 ? ['general', 'eu'] : ['general'],
      safety: { safetyTuned: i % 2 === 0, contentFilter: i % 3 === 0 },
      latencyMs: 100 + rand() * 1500,
      tokensPerSecond: 20 + rand() * 800,
      stats: {
        latencyEwmaMs: 100 + rand() * 1500,
        errorRate: i % 17 === 0 ? 0.7 : rand() * 0.05,
        ...(i % 23 === 0 ? { cooldownUntil: now + 60_000 } : {}),
      },
    });
  }
  return out;
}

const candidates = table();
const requests: RouteRequest[] = [
  { taskType: 'chat', inputTokens: 1200, maxOutputTokens: 512, now },
  { taskType: 'code', inputTokens: 6000, maxOutputTokens: 2048, constraints: { requiredTags: ['general'], maxCostPer1kTokens: 0.02 }, now },
  { taskType: 'summarization', inputTokens: 30_000, maxOutputTokens: 1024, constraints: { minContextLength: 64_000 }, now },
];

function measure(run: () => void, ms: number): number {
  for (let i = 0; i < 20_000; i++) run(); // warm-up: let the JIT settle before timing
  let iterations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let t = start;
  while (t < deadline) {
    for (let i = 0; i < 1000; i++) run();
    iterations += 1000;
    t = process.hrtime.bigint();
  }
  return iterations / (Number(t - start) / 1e9);
}

const strategies = createStrategies();
const rows: { strategy: string; depth: string; 'selections/s': string }[] = [];
let total = 0;
let count = 0;
for (const strategy of Object.values(strategies)) {
  for (const [depth, limit] of [['best (limit 1)', 1], ['top 3', 3], ['full ranking', undefined]] as const) {
    let r = 0;
    const perSecond = measure(() => {
      strategy.rank(candidates, requests[r++ % requests.length]!, limit === undefined ? undefined : { limit });
    }, 300);
    if (limit === 1) {
      total += perSecond;
      count++;
    }
    rows.push({ strategy: strategy.id, depth, 'selections/s': Math.round(perSecond).toLocaleString('en-US') });
  }
}
console.log(`router selections with ${CANDIDATES} candidates, Node ${process.version}`);
console.table(rows);
console.log(`mean best-pick selections/s over the five strategies: ${Math.round(total / count).toLocaleString('en-US')} (target ≥ 200,000)`);
