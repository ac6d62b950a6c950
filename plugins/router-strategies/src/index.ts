import { definePlugin, z } from '@modelplane/plugin-sdk';
import { createStrategies, STRATEGY_IDS } from './strategies.ts';

export {
  checkRouteRequest,
  DEFAULT_MAX_ERROR_RATE,
  describeExclusion,
  Exclusion,
  exclusionOf,
  type FilterResult,
  filterCandidates,
  InvalidRouteRequest,
  isSafetyFlagged,
  type PreparedFilter,
  prepareFilter,
} from './filter.ts';
export { createStrategies, STRATEGY_IDS, STRATEGY_WEIGHTS, type StrategyId } from './strategies.ts';
export {
  createStrategy,
  DEFAULT_TOKENS_PER_SECOND,
  DEFAULT_TTFT_MS,
  effectiveWeights,
  QUALITY_SPAN,
  type StrategyDefinition,
} from './strategy.ts';

const VERSION = '0.1.0';

export const RouterStrategiesOptions = z
  .object({
    /** Register only these; all five by default. */
    enabled: z.array(z.enum(STRATEGY_IDS as [string, ...string[]])).optional(),
  })
  .strict();

export default definePlugin({
  name: '@modelplane/router-strategies',
  version: VERSION,
  apiVersion: '^1',
  description: 'quality-first, cost-optimized, balanced, speed-first and safety-critical routing',
  optionsSchema: RouterStrategiesOptions,
  setup(ctx) {
    const wanted = new Set(ctx.options.enabled ?? STRATEGY_IDS);
    for (const strategy of Object.values(createStrategies())) {
      if (wanted.has(strategy.id)) ctx.register.routerStrategy(strategy);
    }
  },
});
