import {
  type ExcludedCandidate,
  type ExclusionCode,
  estimateCostMicroUsd,
  type RankedCandidate,
  type RankOptions,
  type RouteCandidate,
  type RouteRanking,
  type RouteRequest,
  type RouterStrategy,
  type ScoreComponents,
  type ScoreWeights,
} from '@modelplane/plugin-sdk';
import { checkRouteRequest, costPer1kUsd, Exclusion, exclusionOf, InvalidRouteRequest, prepareFilter, rateTokens } from './filter.ts';

/** Time to first token assumed for a model with neither live stats nor a declared baseline. */
export const DEFAULT_TTFT_MS = 800;
/** Generation speed assumed likewise, output tokens per second. */
export const DEFAULT_TOKENS_PER_SECOND = 50;
/**
 * Quality differences are read against a span of at least this much, so two models 0.001 apart are not
 * scored as best and worst of the set.
 */
export const QUALITY_SPAN = 0.1;
/** Keeps `cheapest / cost` defined when the cheapest model is free. */
const COST_EPSILON = 1e-3;
/** Scores closer than this are a tie, decided by name. */
const TIE = 1e-12;

export interface StrategyDefinition {
  id: string;
  description: string;
  weights: ScoreWeights;
  /** Only safety-flagged models are eligible, whatever the request says. */
  safetyOnly?: boolean;
}

const NO_EXCLUSIONS: readonly ExcludedCandidate[] = Object.freeze([]);

/**
 * Per-strategy scratch space, reused across calls so ranking allocates nothing per candidate. `rank` is
 * synchronous, so one strategy object never has two rankings in flight.
 */
class Workspace {
  capacity = 0;
  index = new Int32Array(0);
  quality = new Float64Array(0);
  cost = new Float64Array(0);
  latency = new Float64Array(0);
  safety = new Float64Array(0);
  reliability = new Float64Array(0);
  score = new Float64Array(0);
  order = new Int32Array(0);

  ensure(size: number): void {
    if (size <= this.capacity) return;
    const capacity = Math.max(size, this.capacity * 2, 16);
    this.capacity = capacity;
    this.index = new Int32Array(capacity);
    this.quality = new Float64Array(capacity);
    this.cost = new Float64Array(capacity);
    this.latency = new Float64Array(capacity);
    this.safety = new Float64Array(capacity);
    this.reliability = new Float64Array(capacity);
    this.score = new Float64Array(capacity);
    this.order = new Int32Array(capacity);
  }
}

/** Strategy weights with the request's overrides applied, normalised to sum to 1. */
export function effectiveWeights(defaults: ScoreWeights, override: Partial<ScoreWeights> | undefined): Required<ScoreWeights> {
  const w = {
    quality: override?.quality ?? defaults.quality,
    cost: override?.cost ?? defaults.cost,
    latency: override?.latency ?? defaults.latency,
    safety: override?.safety ?? defaults.safety ?? 0,
  };
  for (const [name, value] of Object.entries(w)) {
    if (!(Number.isFinite(value) && value >= 0)) throw new InvalidRouteRequest(`${name} weight must be a number ≥ 0, got ${value}`);
  }
  const sum = w.quality + w.cost + w.latency + w.safety;
  if (sum <= 0) throw new InvalidRouteRequest('at least one weight must be above 0');
  return { quality: w.quality / sum, cost: w.cost / sum, latency: w.latency / sum, safety: w.safety / sum };
}

/**
 * A router strategy scoring each eligible candidate as seed 003 does,
 * `score = w_q·quality + w_c·cost_efficiency + w_l·speed (+ w_s·safety)`, times `1 − errorRate`.
 * Quality is relative to the best eligible model (over a span of at least QUALITY_SPAN), cost efficiency
 * is `cheapest / cost`, speed is `fastest / latency`, so each weight is the worth of going from the
 * worst to the best of the set on its axis.
 */
export function createStrategy(definition: StrategyDefinition): RouterStrategy {
  const ws = new Workspace();
  const safetyOnly = definition.safetyOnly === true;
  const defaultWeights = effectiveWeights(definition.weights, undefined);
  return {
    id: definition.id,
    description: definition.description,
    weights: Object.freeze({ ...definition.weights }),
    rank(candidates: readonly RouteCandidate[], request: RouteRequest, options?: RankOptions): RouteRanking {
      checkRouteRequest(request);
      const weights = request.weights === undefined ? defaultWeights : effectiveWeights(definition.weights, request.weights);
      const now = request.now ?? Date.now();
      const task = request.taskType;
      const inputTokens = request.inputTokens;
      const outputTokens = request.maxOutputTokens;
      const maxCost = request.constraints?.maxCostPer1kTokens;
      const rate = maxCost === undefined ? undefined : rateTokens(request);
      // Only a request with no token counts is measured on nominal ones; otherwise the call's own estimate serves.
      const nominalRate = inputTokens + outputTokens === 0;
      const prepared = prepareFilter(request, now, safetyOnly);
      const n = candidates.length;
      ws.ensure(n);
      const { index, quality, cost, latency, safety, reliability, score } = ws;

      let excluded: ExcludedCandidate[] | undefined;
      let eligible = 0;
      let maxQuality = Number.NEGATIVE_INFINITY;
      let minQuality = Number.POSITIVE_INFINITY;
      let minCost = Number.POSITIVE_INFINITY;
      let minLatency = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const candidate = candidates[i]!;
        let code: ExclusionCode | null = exclusionOf(candidate, prepared);
        let c = 0;
        if (code === null) {
          c = estimateCostMicroUsd(candidate.cost!, inputTokens, outputTokens);
          if (rate !== undefined) {
            const perCall = nominalRate ? estimateCostMicroUsd(candidate.cost!, rate.input, rate.output) : c;
            if (costPer1kUsd(perCall, rate.input + rate.output) > maxCost!) code = 'max-cost';
          }
        }
        if (code !== null) {
          (excluded ??= []).push(new Exclusion(candidate, code, request, now));
          continue;
        }
        const scores = candidate.quality;
        const q = (task === undefined ? undefined : scores.byTask?.[task]) ?? scores.overall;
        const stats = candidate.stats;
        const ttft = stats?.latencyEwmaMs ?? candidate.latencyMs ?? DEFAULT_TTFT_MS;
        const tps = stats?.tokensPerSecond ?? candidate.tokensPerSecond ?? DEFAULT_TOKENS_PER_SECOND;
        const l = ttft + (outputTokens * 1000) / tps;
        const flags = candidate.safety;
        index[eligible] = i;
        quality[eligible] = q;
        cost[eligible] = c;
        latency[eligible] = l;
        safety[eligible] = flags === undefined ? 0 : (flags.safetyTuned === true ? 0.5 : 0) + (flags.contentFilter === true ? 0.5 : 0);
        reliability[eligible] = 1 - (stats?.errorRate ?? 0);
        if (q > maxQuality) maxQuality = q;
        if (q < minQuality) minQuality = q;
        if (c < minCost) minCost = c;
        if (l < minLatency) minLatency = l;
        eligible++;
      }

      const span = Math.max(maxQuality - minQuality, QUALITY_SPAN);
      const wq = weights.quality;
      const wc = weights.cost;
      const wl = weights.latency;
      const wsafe = weights.safety;
      for (let k = 0; k < eligible; k++) {
        const qn = 1 - (maxQuality - quality[k]!) / span;
        const ce = (minCost + COST_EPSILON) / (cost[k]! + COST_EPSILON);
        const sp = minLatency / latency[k]!;
        score[k] = (wq * qn + wc * ce + wl * sp + wsafe * safety[k]!) * reliability[k]!;
      }

      const limit = Math.min(options?.limit ?? eligible, eligible);
      const count = selectTop(ws, candidates, eligible, limit);
      const ranked: RankedCandidate[] = new Array(count);
      for (let r = 0; r < count; r++) {
        const k = ws.order[r]!;
        const components: ScoreComponents = {
          quality: 1 - (maxQuality - quality[k]!) / span,
          cost: (minCost + COST_EPSILON) / (cost[k]! + COST_EPSILON),
          latency: minLatency / latency[k]!,
          safety: safety[k]!,
          reliability: reliability[k]!,
          estimatedCostMicroUsd: cost[k]!,
          estimatedLatencyMs: latency[k]!,
        };
        ranked[r] = new Ranked(candidates[index[k]!]!, score[k]!, components, quality[k]!, weights, task);
      }
      return { strategy: definition.id, ranked, excluded: excluded ?? (NO_EXCLUSIONS as ExcludedCandidate[]) };
    },
  };
}

/** A ranked candidate whose explanation is written only when read (most calls only want the pick). */
class Ranked implements RankedCandidate {
  readonly candidate: RouteCandidate;
  readonly score: number;
  readonly components: ScoreComponents;
  #rawQuality: number;
  #weights: Required<ScoreWeights>;
  #task: string | undefined;
  #reasons: readonly string[] | undefined;

  constructor(
    candidate: RouteCandidate,
    score: number,
    components: ScoreComponents,
    rawQuality: number,
    weights: Required<ScoreWeights>,
    task: string | undefined,
  ) {
    this.candidate = candidate;
    this.score = score;
    this.components = components;
    this.#rawQuality = rawQuality;
    this.#weights = weights;
    this.#task = task;
  }

  get reasons(): readonly string[] {
    this.#reasons ??= explain(this.candidate, this.components, this.#rawQuality, this.#weights, this.#task);
    return this.#reasons;
  }

  toJSON(): { model: string; version: string; score: number; components: ScoreComponents; reasons: readonly string[] } {
    const { model, version } = this.candidate;
    return { model, version, score: this.score, components: this.components, reasons: this.reasons };
  }
}

/** True when slot a ranks before slot b: higher score, then model name, then version. */
function before(score: Float64Array, index: Int32Array, candidates: readonly RouteCandidate[], a: number, b: number): boolean {
  const diff = score[a]! - score[b]!;
  if (diff > TIE) return true;
  if (diff < -TIE) return false;
  const ca = candidates[index[a]!]!;
  const cb = candidates[index[b]!]!;
  if (ca.model !== cb.model) return ca.model < cb.model;
  return ca.version < cb.version;
}

/**
 * Puts the best `limit` slots, in order, at the front of `ws.order`: an insertion into a short sorted
 * prefix, which beats sorting everything when the gateway wants the top few for its fallbacks.
 */
function selectTop(ws: Workspace, candidates: readonly RouteCandidate[], eligible: number, limit: number): number {
  if (limit <= 0) return 0;
  const { order, score, index } = ws;
  if (limit === 1) {
    let best = 0;
    for (let k = 1; k < eligible; k++) {
      if (score[k]! >= score[best]! - TIE && before(score, index, candidates, k, best)) best = k;
    }
    order[0] = best;
    return 1;
  }
  let filled = 0;
  for (let k = 0; k < eligible; k++) {
    if (filled === limit && !before(score, index, candidates, k, order[filled - 1]!)) continue;
    let pos = filled === limit ? limit - 1 : filled++;
    while (pos > 0 && before(score, index, candidates, k, order[pos - 1]!)) {
      order[pos] = order[pos - 1]!;
      pos--;
    }
    order[pos] = k;
  }
  return filled;
}

function explain(
  candidate: RouteCandidate,
  c: ScoreComponents,
  rawQuality: number,
  w: Required<ScoreWeights>,
  task: string | undefined,
): string[] {
  const taskScore = task !== undefined && candidate.quality.byTask?.[task] !== undefined;
  const reasons = [
    `quality ${rawQuality.toFixed(3)}${taskScore ? ` for ${task}` : ' overall'} → ${c.quality.toFixed(3)} × weight ${w.quality.toFixed(2)}`,
    `cost ≈ $${(c.estimatedCostMicroUsd / 1e6).toFixed(6)} for this call → ${c.cost.toFixed(3)} × weight ${w.cost.toFixed(2)}`,
    `latency ≈ ${Math.round(c.estimatedLatencyMs)} ms → ${c.latency.toFixed(3)} × weight ${w.latency.toFixed(2)}`,
  ];
  if (w.safety > 0) reasons.push(`safety ${c.safety.toFixed(1)} × weight ${w.safety.toFixed(2)}`);
  if (c.reliability < 1) reasons.push(`error rate ${((1 - c.reliability) * 100).toFixed(1)}% → score × ${c.reliability.toFixed(3)}`);
  return reasons;
}
