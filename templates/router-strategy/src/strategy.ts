import {
  estimateCostMicroUsd,
  type ExcludedCandidate,
  type ExclusionCode,
  type RankedCandidate,
  type RouteCandidate,
  type RouteRequest,
  type RouterStrategy,
} from '@modelplane/plugin-sdk';

/** Why a candidate cannot take this request, or undefined when it can. The router never calls an excluded model. */
function exclusion(c: RouteCandidate, r: RouteRequest, now: number): [ExclusionCode, string] | undefined {
  const k = r.constraints ?? {};
  if (k.excludeModels?.includes(c.model)) return ['excluded-model', 'excluded by the request'];
  if (r.taskType && !c.taskTypes.includes(r.taskType) && !c.taskTypes.includes('*')) return ['task-type', `does not serve ${r.taskType}`];
  const needed = Math.max(k.minContextLength ?? 0, r.inputTokens + r.maxOutputTokens);
  if (c.contextLength < needed) return ['context-length', `context ${c.contextLength} < ${needed} tokens`];
  const missing = (k.requiredTags ?? []).filter((t) => !c.tags?.includes(t));
  if (missing.length > 0) return ['required-tags', `lacks tags ${missing.join(', ')}`];
  if (k.safetyRequired && !c.safety?.safetyTuned && !c.safety?.contentFilter) return ['safety', 'not safety-tuned or filtered'];
  // No price: budgets could not be enforced, so the model is never picked.
  if (!c.cost) return ['no-price', 'has no price'];
  const usdPer1k = estimateCostMicroUsd(c.cost, r.inputTokens, r.maxOutputTokens) / (r.inputTokens + r.maxOutputTokens) / 1000;
  if (k.maxCostPer1kTokens !== undefined && usdPer1k > k.maxCostPer1kTokens) return ['max-cost', `$${usdPer1k.toFixed(6)}/1k tokens over the limit`];
  if ((c.stats?.cooldownUntil ?? 0) > now) return ['cooldown', 'cooling down after a rate limit'];
  if ((c.stats?.errorRate ?? 0) >= (k.maxErrorRate ?? 0.5)) return ['unhealthy', `error rate ${c.stats?.errorRate}`];
  return undefined;
}

/** Ranks eligible candidates by estimated cost of this call, cheapest first; quality breaks ties. */
export const cheapest: RouterStrategy = {
  id: 'template-router-strategy',
  description: 'the cheapest eligible model for this call',
  weights: { quality: 0, cost: 1, latency: 0 },
  rank(candidates, request, options) {
    const now = request.now ?? Date.now();
    const excluded: ExcludedCandidate[] = [];
    const eligible: Array<{ candidate: RouteCandidate; cost: number }> = [];
    for (const candidate of candidates) {
      const why = exclusion(candidate, request, now);
      if (why) excluded.push({ candidate, code: why[0], reason: why[1] });
      else eligible.push({ candidate, cost: estimateCostMicroUsd(candidate.cost!, request.inputTokens, request.maxOutputTokens) });
    }
    const lowest = Math.min(...eligible.map((e) => e.cost));
    const ranked: RankedCandidate[] = eligible
      .map(({ candidate, cost }) => {
        const score = cost === 0 ? 1 : lowest / cost;
        const latencyMs = (candidate.latencyMs ?? 500) + (request.maxOutputTokens / (candidate.tokensPerSecond ?? 50)) * 1000;
        return {
          candidate,
          score,
          components: { quality: candidate.quality.overall, cost: score, latency: 0, safety: 0, reliability: 1 - (candidate.stats?.errorRate ?? 0), estimatedCostMicroUsd: cost, estimatedLatencyMs: latencyMs },
          reasons: [`estimated ${Math.round(cost)} µUSD for this call`],
        };
      })
      .sort((a, b) => b.score - a.score || b.candidate.quality.overall - a.candidate.quality.overall || a.candidate.model.localeCompare(b.candidate.model));
    return { strategy: this.id, ranked: ranked.slice(0, options?.limit ?? ranked.length), excluded };
  },
};
