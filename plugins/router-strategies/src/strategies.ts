import type { RouterStrategy, ScoreWeights } from '@modelplane/plugin-sdk';
import { createStrategy } from './strategy.ts';

/**
 * The five strategies of seed 003. `balanced` carries the seed's own weights (0.4 / 0.4 / 0.2); the
 * others lean the same composite towards their axis, keeping the rest as tie-breakers between models
 * that are close on it.
 */
export const STRATEGY_WEIGHTS = Object.freeze({
  'quality-first': Object.freeze({ quality: 0.7, cost: 0.15, latency: 0.15 }),
  'cost-optimized': Object.freeze({ quality: 0.2, cost: 0.7, latency: 0.1 }),
  balanced: Object.freeze({ quality: 0.4, cost: 0.4, latency: 0.2 }),
  'speed-first': Object.freeze({ quality: 0.2, cost: 0.1, latency: 0.7 }),
  'safety-critical': Object.freeze({ quality: 0.5, cost: 0.1, latency: 0.1, safety: 0.3 }),
} satisfies Record<string, ScoreWeights>);

export type StrategyId = keyof typeof STRATEGY_WEIGHTS;

export const STRATEGY_IDS = Object.freeze(Object.keys(STRATEGY_WEIGHTS) as StrategyId[]);

const DESCRIPTIONS: Record<StrategyId, string> = {
  'quality-first': 'Prioritises model performance; cost and speed only separate models of similar quality',
  'cost-optimized': 'Minimises the cost of the call; quality and speed only separate models of similar price',
  balanced: "Seed 003's weighted combination: quality 0.4, cost 0.4, latency 0.2",
  'speed-first': 'Minimises the expected time to the last token',
  'safety-critical': 'Only safety-tuned or content-filtered models; prefers both flags, then quality',
};

/** Fresh strategy objects (each owns its scratch space). */
export function createStrategies(): Record<StrategyId, RouterStrategy> {
  const out = {} as Record<StrategyId, RouterStrategy>;
  for (const id of STRATEGY_IDS) {
    out[id] = createStrategy({ id, description: DESCRIPTIONS[id], weights: STRATEGY_WEIGHTS[id], safetyOnly: id === 'safety-critical' });
  }
  return out;
}
