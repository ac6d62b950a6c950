/**
 * Gateway extension points: router strategies and guards, plus the money arithmetic both the router and
 * the metering share. Money is integer micro-dollars (1 USD = 1,000,000 µUSD) everywhere inside.
 */
import type { Contribution } from './contribution.ts';

// ---------------------------------------------------------------------------------------------------------
// Cost profiles and exact pricing
// ---------------------------------------------------------------------------------------------------------

/** Metered provider pricing, as a price list states it, in integer micro-USD per million tokens. */
export interface TokenCostProfile {
  readonly kind: 'tokens';
  readonly inputMicroUsdPerMTok: number;
  readonly outputMicroUsdPerMTok: number;
  /** Input tokens read from the provider's prompt cache; the input price when the provider has no cache discount. */
  readonly cachedInputMicroUsdPerMTok?: number;
  /** Input tokens written to the prompt cache (Anthropic bills them at a premium); the input price when absent. */
  readonly cacheWriteMicroUsdPerMTok?: number;
  /** Which price list these figures come from (`openai-2025-08`); copied onto every cost event. */
  readonly priceVersion: string;
}

/**
 * A model on one's own hardware: seed 003's formula,
 * `cost_per_1k_tokens = hardware_hourly_usd / ((tokens_per_second * 3600) / 1000)`,
 * applied to every token, input and output alike.
 */
export interface SelfHostedCostProfile {
  readonly kind: 'self-hosted';
  readonly hardwareHourlyMicroUsd: number;
  /** Sustained throughput of the deployment, tokens per second (may be fractional; kept to 1/1000). */
  readonly tokensPerSecond: number;
  readonly priceVersion: string;
}

export type CostProfile = TokenCostProfile | SelfHostedCostProfile;

/**
 * Token counts of one call, normalised across providers (the OpenAI convention):
 * `inputTokens` counts every prompt token, cached ones included; `cachedInputTokens` and
 * `cacheWriteInputTokens` say how many of those were read from / written to the cache;
 * `reasoningTokens` is the part of `outputTokens` spent on hidden reasoning, never billed twice.
 */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens?: number;
  readonly cacheWriteInputTokens?: number;
  readonly reasoningTokens?: number;
}

const MICRO = 1_000_000;
const MICRO_N = 1_000_000n;

/**
 * Whole micro-dollars from a USD amount. A string is read digit by digit (`"2.50"`, `"0.000125"`), so no
 * binary fraction creeps in; a number is rounded to the nearest micro-dollar. More than six decimals is
 * an error rather than a silent rounding: it would mean a price list we cannot represent.
 */
export function usdToMicro(usd: number | string): number {
  if (typeof usd === 'number') {
    if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`not a price: ${usd}`);
    return Math.round(usd * MICRO);
  }
  const match = /^\s*(\d+)(?:\.(\d{0,6})(\d*))?\s*$/.exec(usd);
  if (!match) throw new RangeError(`not a USD amount: "${usd}"`);
  const [, whole = '0', fraction = '', excess = ''] = match;
  if (/[1-9]/.test(excess)) throw new RangeError(`"${usd}" has more than 6 decimals`);
  return Number(whole) * MICRO + Number(fraction.padEnd(6, '0'));
}

/** `"12.345678"` from 12345678 µUSD: the 6-decimal form the API and the cost events show. */
export function microToUsd(micro: number): string {
  const sign = micro < 0 ? '-' : '';
  const abs = Math.abs(micro);
  return `${sign}${Math.floor(abs / MICRO)}.${String(abs % MICRO).padStart(6, '0')}`;
}

/** A token profile from a price list in USD per million tokens (`{ input: '2.50', output: '10', cachedInput: '1.25' }`). */
export function tokenCostProfile(prices: {
  inputUsdPerMTok: number | string;
  outputUsdPerMTok: number | string;
  cachedInputUsdPerMTok?: number | string;
  cacheWriteUsdPerMTok?: number | string;
  priceVersion: string;
}): TokenCostProfile {
  return {
    kind: 'tokens',
    inputMicroUsdPerMTok: usdToMicro(prices.inputUsdPerMTok),
    outputMicroUsdPerMTok: usdToMicro(prices.outputUsdPerMTok),
    ...(prices.cachedInputUsdPerMTok === undefined ? {} : { cachedInputMicroUsdPerMTok: usdToMicro(prices.cachedInputUsdPerMTok) }),
    ...(prices.cacheWriteUsdPerMTok === undefined ? {} : { cacheWriteMicroUsdPerMTok: usdToMicro(prices.cacheWriteUsdPerMTok) }),
    priceVersion: prices.priceVersion,
  };
}

export function selfHostedCostProfile(hardware: {
  hardwareHourlyUsd: number | string;
  tokensPerSecond: number;
  priceVersion: string;
}): SelfHostedCostProfile {
  if (!(hardware.tokensPerSecond > 0)) throw new RangeError(`tokensPerSecond must be positive, got ${hardware.tokensPerSecond}`);
  return {
    kind: 'self-hosted',
    hardwareHourlyMicroUsd: usdToMicro(hardware.hardwareHourlyUsd),
    tokensPerSecond: hardware.tokensPerSecond,
    priceVersion: hardware.priceVersion,
  };
}

function count(name: string, value: number | undefined): bigint {
  const n = value ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number of tokens ≥ 0, got ${value}`);
  return BigInt(n);
}

/** Ceiling division of non-negative bigints. */
function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

/**
 * The exact cost of a call in whole micro-dollars. Each token class is multiplied by its own price in
 * integer arithmetic and the sum is divided once, rounding up: a call is never billed below its price,
 * and the same usage always gives the same figure (no float drift, no per-class rounding).
 */
export function priceUsage(profile: CostProfile, usage: TokenUsage): number {
  const input = count('inputTokens', usage.inputTokens);
  const output = count('outputTokens', usage.outputTokens);
  const cached = count('cachedInputTokens', usage.cachedInputTokens);
  const cacheWrite = count('cacheWriteInputTokens', usage.cacheWriteInputTokens);
  const reasoning = count('reasoningTokens', usage.reasoningTokens);
  if (cached + cacheWrite > input) {
    throw new RangeError(`cached (${cached}) and cache-write (${cacheWrite}) tokens exceed the ${input} input tokens they are part of`);
  }
  if (reasoning > output) throw new RangeError(`reasoning tokens (${reasoning}) exceed the ${output} output tokens they are part of`);
  if (profile.kind === 'self-hosted') {
    // hourly / (tps × 3600) per token; tokens/s kept to thousandths so the division stays integral.
    const milliTps = BigInt(Math.round(profile.tokensPerSecond * 1000));
    if (milliTps <= 0n) throw new RangeError(`tokensPerSecond must be positive, got ${profile.tokensPerSecond}`);
    return Number(ceilDiv(BigInt(profile.hardwareHourlyMicroUsd) * (input + output) * 1000n, milliTps * 3600n));
  }
  const inputPrice = BigInt(profile.inputMicroUsdPerMTok);
  const cachedPrice = BigInt(profile.cachedInputMicroUsdPerMTok ?? profile.inputMicroUsdPerMTok);
  const writePrice = BigInt(profile.cacheWriteMicroUsdPerMTok ?? profile.inputMicroUsdPerMTok);
  const outputPrice = BigInt(profile.outputMicroUsdPerMTok);
  const scaled = (input - cached - cacheWrite) * inputPrice + cached * cachedPrice + cacheWrite * writePrice + output * outputPrice;
  return Number(ceilDiv(scaled, MICRO_N));
}

/**
 * A fast floating-point estimate of a call's cost in micro-dollars, for ranking only (never for billing):
 * uncached input at the input price plus the output tokens at the output price.
 */
export function estimateCostMicroUsd(profile: CostProfile, inputTokens: number, outputTokens: number): number {
  if (profile.kind === 'self-hosted') {
    return (profile.hardwareHourlyMicroUsd * (inputTokens + outputTokens)) / (profile.tokensPerSecond * 3600);
  }
  return (inputTokens * profile.inputMicroUsdPerMTok + outputTokens * profile.outputMicroUsdPerMTok) / MICRO;
}

// ---------------------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------------------

/** Well-known task types; any other string is allowed. `*` in a candidate's `taskTypes` serves every task. */
export type TaskType = 'chat' | 'text-generation' | 'code' | 'summarization' | 'reasoning' | 'classification' | 'embedding' | (string & {});

/** Benchmark-derived quality, normalised to 0..1 (seed 003's `normalized_score`). */
export interface QualityScores {
  readonly overall: number;
  /** Per task type; a request's task type uses its own score when present, `overall` otherwise. */
  readonly byTask?: Readonly<Record<string, number>>;
}

export interface SafetyFlags {
  /** The model itself was trained for refusals / harmlessness. */
  readonly safetyTuned?: boolean;
  /** The provider runs a content filter on inputs and outputs. */
  readonly contentFilter?: boolean;
}

/** What the gateway has measured about a model lately. All fields optional: a new model has none. */
export interface LiveStats {
  /** Exponentially weighted moving average of the time to first token, in ms. */
  readonly latencyEwmaMs?: number;
  /** Fraction of recent calls that failed, 0..1. */
  readonly errorRate?: number;
  /** Epoch ms before which the model must not be called (set after a 429 from its Retry-After). */
  readonly cooldownUntil?: number;
  /** Measured generation speed, output tokens per second. */
  readonly tokensPerSecond?: number;
}

export interface RouteCandidate {
  /** Registered model name (what `model` in a request and `x-modelplane-model` say). */
  readonly model: string;
  readonly version: string;
  /** Provider runtime id (`openai`, `anthropic`, `self-hosted` …). */
  readonly provider: string;
  /** The model name the provider knows (`gpt-4o-mini-2024-07-18`); the registered name when absent. */
  readonly providerModel?: string;
  /** Absent: the model has no price, and the router never picks it (budgets fail closed). */
  readonly cost?: CostProfile;
  readonly quality: QualityScores;
  /** Context window in tokens (input + output). */
  readonly contextLength: number;
  readonly taskTypes: readonly TaskType[];
  readonly tags?: readonly string[];
  readonly safety?: SafetyFlags;
  /** Declared baselines, used until live stats exist: time to first token (ms) and output tokens per second. */
  readonly latencyMs?: number;
  readonly tokensPerSecond?: number;
  readonly stats?: LiveStats;
}

export interface RouteConstraints {
  /** Upper bound on the estimated cost of this call per 1,000 tokens (input + output), in USD. */
  readonly maxCostPer1kTokens?: number;
  /** Only models with a safety flag (safety-tuned or content-filtered). */
  readonly safetyRequired?: boolean;
  readonly minContextLength?: number;
  /** Every one of these must be among the candidate's tags. */
  readonly requiredTags?: readonly string[];
  /** By registered model name. */
  readonly excludeModels?: readonly string[];
  /** A model whose recent error rate is at or above this is left out; default 0.5. */
  readonly maxErrorRate?: number;
}

/** Relative weights of a composite score; they need not sum to 1 (they are normalised). */
export interface ScoreWeights {
  readonly quality: number;
  readonly cost: number;
  readonly latency: number;
  /** Only the safety-critical strategy weighs safety by default. */
  readonly safety?: number;
}

export interface RouteRequest {
  readonly taskType?: TaskType;
  /** Estimated prompt tokens. */
  readonly inputTokens: number;
  /** The request's `max_tokens`: the most output it may produce. */
  readonly maxOutputTokens: number;
  readonly constraints?: RouteConstraints;
  /** Overrides the strategy's weights (seed 003's `quality_weight`, `cost_weight`, `latency_weight`). */
  readonly weights?: Partial<ScoreWeights>;
  /** Clock for cooldowns, epoch ms; `Date.now()` when absent. */
  readonly now?: number;
}

/** Each part of a composite score, 0..1, before weighting. */
export interface ScoreComponents {
  readonly quality: number;
  /** Cost efficiency: 1 for the cheapest eligible candidate, `cheapest / cost` for the others. */
  readonly cost: number;
  /** 1 for the fastest eligible candidate, `fastest / latency` for the others. */
  readonly latency: number;
  readonly safety: number;
  /** `1 - errorRate`; the weighted sum is multiplied by it. */
  readonly reliability: number;
  /** Estimated cost of this call (input + max output) in micro-dollars. */
  readonly estimatedCostMicroUsd: number;
  /** Estimated time to the last token, ms. */
  readonly estimatedLatencyMs: number;
}

export interface RankedCandidate {
  readonly candidate: RouteCandidate;
  readonly score: number;
  readonly components: ScoreComponents;
  /** Human-readable account of the score, for the API and the cost event. */
  readonly reasons: readonly string[];
}

export type ExclusionCode =
  | 'excluded-model'
  | 'task-type'
  | 'context-length'
  | 'required-tags'
  | 'safety'
  | 'no-price'
  | 'max-cost'
  | 'cooldown'
  | 'unhealthy';

export interface ExcludedCandidate {
  readonly candidate: RouteCandidate;
  readonly code: ExclusionCode;
  readonly reason: string;
}

export interface RouteRanking {
  readonly strategy: string;
  /** Best first; ties broken by model name, then version. Empty when nothing is eligible. */
  readonly ranked: readonly RankedCandidate[];
  readonly excluded: readonly ExcludedCandidate[];
}

export interface RankOptions {
  /** Return only the best `limit` candidates (the gateway needs a few for fallbacks, not all). */
  readonly limit?: number;
}

export interface RouterStrategy extends Contribution {
  readonly description?: string;
  /** The default weights of its composite score. */
  readonly weights: ScoreWeights;
  /** Pure and synchronous: same candidates, request and clock → same ranking. */
  rank(candidates: readonly RouteCandidate[], request: RouteRequest, options?: RankOptions): RouteRanking;
}

// ---------------------------------------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------------------------------------

export interface GuardMessage {
  readonly role: string;
  readonly content: string;
}

/** The shape of OpenAI's moderation result (a provider with a moderation endpoint supplies it). */
export interface ModerationResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  /** 0..1 per category. */
  scores: Record<string, number>;
}

export type Moderate = (text: string, signal?: AbortSignal) => Promise<ModerationResult>;

export interface GuardInput {
  /** All the text to judge; for a chat request, the messages joined. */
  readonly text: string;
  readonly messages?: readonly GuardMessage[];
  readonly model?: string;
  readonly principal?: string;
  /** The moderation call the gateway is configured with (`gateway.moderation`), for guards that use one. */
  readonly moderate?: Moderate;
}

/** One thing a guard found, by offset into the text it judged. */
export interface GuardFinding {
  /** Category, also the placeholder's name (`email` → `[EMAIL]`). */
  readonly type: string;
  /** The precise rule (`secret.openai`, `phone.us`, `injection.ignore-previous`). */
  readonly rule: string;
  readonly start: number;
  readonly end: number;
  /** This finding's contribution to the risk, 0..1. */
  readonly risk: number;
}

export interface GuardVerdict {
  action: 'allow' | 'redact' | 'block';
  /** 0..1; the guard blocks at or above its threshold. */
  risk: number;
  reasons: string[];
  /** The text to pass on when action is `redact`. */
  redacted?: string;
  findings?: GuardFinding[];
}

/** What a streaming post-guard lets through after a piece of output. */
export interface StreamRelease {
  /** Text that is safe to send to the client now (already redacted). */
  readonly text: string;
  /** Set once the stream must stop: nothing more may be sent, and this says why. */
  readonly blocked?: GuardVerdict;
}

/** A per-stream filter: push each generated piece, send what it releases, call `end` when the model is done. */
export interface GuardStream {
  push(text: string): StreamRelease;
  end(): StreamRelease;
  /** Everything decided so far, for the audit trail. */
  verdict(): GuardVerdict;
}

export interface Guard extends Contribution {
  pre?(input: GuardInput): Promise<GuardVerdict>;
  post?(output: GuardInput): Promise<GuardVerdict>;
  /** A fresh filter for one streamed response; a guard without it is run on the whole text at the end. */
  stream?(context?: Omit<GuardInput, 'text'>): GuardStream;
}
