import { type CostProfile, selfHostedCostProfile, tokenCostProfile } from '@modelplane/plugin-sdk';
import { z } from 'zod';

const Usd = z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d{1,6})?$/, 'a USD amount with at most 6 decimals, e.g. "2.50"')]);

/** `metadata.llm` of a version that points at a provider's model (issue #7, seed 003's models table). */
export const LlmMetadata = z.strictObject({
  provider: z.string().min(1).describe('The provider contribution id: openai, anthropic, or an id given in plugin options'),
  provider_model: z.string().min(1).optional().describe("The vendor's model id; the registered model name when absent"),
  cost: z
    .union([
      z.strictObject({
        input_usd_per_mtok: Usd,
        output_usd_per_mtok: Usd,
        cached_input_usd_per_mtok: Usd.optional(),
        cache_write_usd_per_mtok: Usd.optional(),
        price_version: z.string().min(1),
      }),
      z.strictObject({ hardware_hourly_usd: Usd, tokens_per_second: z.number().positive(), price_version: z.string().min(1) }),
    ])
    .optional()
    .describe('Without a cost profile the model is never routed to and explicit calls are refused (budgets fail closed)'),
  quality: z.strictObject({ overall: z.number().min(0).max(1), by_task: z.record(z.string(), z.number().min(0).max(1)).optional() }).optional(),
  tags: z.array(z.string().min(1)).optional(),
  safety: z.strictObject({ safety_tuned: z.boolean().optional(), content_filter: z.boolean().optional() }).optional(),
  latency_ms: z.number().positive().optional().describe('Declared time to first token, used until measured'),
  tokens_per_second: z.number().positive().optional(),
});
export type LlmMetadataValue = z.infer<typeof LlmMetadata>;

export function costProfileOf(cost: LlmMetadataValue['cost']): CostProfile | undefined {
  if (!cost) return undefined;
  if ('hardware_hourly_usd' in cost) {
    return selfHostedCostProfile({ hardwareHourlyUsd: cost.hardware_hourly_usd, tokensPerSecond: cost.tokens_per_second, priceVersion: cost.price_version });
  }
  return tokenCostProfile({
    inputUsdPerMTok: cost.input_usd_per_mtok,
    outputUsdPerMTok: cost.output_usd_per_mtok,
    ...(cost.cached_input_usd_per_mtok === undefined ? {} : { cachedInputUsdPerMTok: cost.cached_input_usd_per_mtok }),
    ...(cost.cache_write_usd_per_mtok === undefined ? {} : { cacheWriteUsdPerMTok: cost.cache_write_usd_per_mtok }),
    priceVersion: cost.price_version,
  });
}
