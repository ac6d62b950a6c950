import {
  defineError,
  type ExcludedCandidate,
  type ExclusionCode,
  estimateCostMicroUsd,
  type RouteCandidate,
  type RouteRequest,
} from '@modelplane/plugin-sdk';

export const InvalidRouteRequest = defineError('MP_ERR_INVALID_ROUTE_REQUEST', 400);

export const DEFAULT_MAX_ERROR_RATE = 0.5;

/** Token counts a cost-per-1k figure is taken over when the request gives none (0 tokens has no rate). */
const NOMINAL_TOKENS = 500;

export function checkRouteRequest(request: RouteRequest): void {
  const { inputTokens, maxOutputTokens } = request;
  if (!(Number.isFinite(inputTokens) && inputTokens >= 0)) {
    throw new InvalidRouteRequest(`inputTokens must be a number ≥ 0, got ${inputTokens}`);
  }
  if (!(Number.isFinite(maxOutputTokens) && maxOutputTokens >= 0)) {
    throw new InvalidRouteRequest(`maxOutputTokens must be a number ≥ 0, got ${maxOutputTokens}`);
  }
  const max = request.constraints?.maxCostPer1kTokens;
  if (max !== undefined && !(max >= 0)) throw new InvalidRouteRequest(`maxCostPer1kTokens must be ≥ 0, got ${max}`);
}

/** A request's constraints, read once per ranking rather than once per candidate. */
export interface PreparedFilter {
  readonly excludeModels: readonly string[] | undefined;
  readonly taskType: string | undefined;
  readonly neededContext: number;
  readonly requiredTags: readonly string[] | undefined;
  readonly safetyRequired: boolean;
  readonly maxErrorRate: number;
  readonly now: number;
}

export function prepareFilter(request: RouteRequest, now: number, safetyRequired: boolean): PreparedFilter {
  const c = request.constraints;
  return {
    excludeModels: c?.excludeModels !== undefined && c.excludeModels.length > 0 ? c.excludeModels : undefined,
    taskType: request.taskType,
    neededContext: Math.max(c?.minContextLength ?? 0, request.inputTokens + request.maxOutputTokens),
    requiredTags: c?.requiredTags !== undefined && c.requiredTags.length > 0 ? c.requiredTags : undefined,
    safetyRequired: safetyRequired || c?.safetyRequired === true,
    maxErrorRate: c?.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE,
    now,
  };
}

/**
 * Why a candidate may not serve a request, or null when it may. Checked cheapest first; the cost limit,
 * which needs the estimate, is left to the caller so the estimate is made once.
 */
export function exclusionOf(candidate: RouteCandidate, f: PreparedFilter): ExclusionCode | null {
  if (f.excludeModels !== undefined && f.excludeModels.includes(candidate.model)) return 'excluded-model';
  if (f.taskType !== undefined && !servesTask(candidate, f.taskType)) return 'task-type';
  if (candidate.contextLength < f.neededContext) return 'context-length';
  if (f.requiredTags !== undefined && missingTags(candidate, f.requiredTags) > 0) return 'required-tags';
  if (f.safetyRequired && !isSafetyFlagged(candidate)) return 'safety';
  if (candidate.cost === undefined) return 'no-price';
  const stats = candidate.stats;
  if (stats !== undefined) {
    if (stats.cooldownUntil !== undefined && stats.cooldownUntil > f.now) return 'cooldown';
    if (stats.errorRate !== undefined && stats.errorRate >= f.maxErrorRate) return 'unhealthy';
  }
  return null;
}

function servesTask(candidate: RouteCandidate, task: string): boolean {
  const types = candidate.taskTypes;
  for (let i = 0; i < types.length; i++) {
    if (types[i] === task || types[i] === '*') return true;
  }
  return false;
}

function missingTags(candidate: RouteCandidate, required: readonly string[]): number {
  const tags = candidate.tags;
  let missing = 0;
  for (let i = 0; i < required.length; i++) {
    if (tags === undefined || !tags.includes(required[i]!)) missing++;
  }
  return missing;
}

export function isSafetyFlagged(candidate: RouteCandidate): boolean {
  const safety = candidate.safety;
  return safety !== undefined && (safety.safetyTuned === true || safety.contentFilter === true);
}

/** Tokens the cost-per-1k constraint is measured over. */
export function rateTokens(request: RouteRequest): { input: number; output: number } {
  return request.inputTokens + request.maxOutputTokens > 0
    ? { input: request.inputTokens, output: request.maxOutputTokens }
    : { input: NOMINAL_TOKENS, output: NOMINAL_TOKENS };
}

/** USD per 1,000 tokens of this call, from its estimated cost in µUSD. */
export function costPer1kUsd(costMicroUsd: number, totalTokens: number): number {
  return costMicroUsd / totalTokens / 1000;
}

/** The sentence explaining an exclusion; built only for excluded candidates, off the hot path. */
export function describeExclusion(candidate: RouteCandidate, code: ExclusionCode, request: RouteRequest, now: number): string {
  const constraints = request.constraints;
  switch (code) {
    case 'excluded-model':
      return `${candidate.model} is excluded by the request`;
    case 'task-type':
      return `serves ${candidate.taskTypes.length > 0 ? candidate.taskTypes.join(', ') : 'no task type'}, not "${request.taskType}"`;
    case 'context-length': {
      const min = constraints?.minContextLength ?? 0;
      const call = request.inputTokens + request.maxOutputTokens;
      return min >= call
        ? `context of ${candidate.contextLength} tokens is below the required ${min}`
        : `context of ${candidate.contextLength} tokens cannot hold ${request.inputTokens} input + ${request.maxOutputTokens} output tokens`;
    }
    case 'required-tags': {
      const tags = candidate.tags ?? [];
      return `missing tag(s) ${(constraints?.requiredTags ?? []).filter((t) => !tags.includes(t)).join(', ')}`;
    }
    case 'safety':
      return 'neither safety-tuned nor content-filtered, and safety is required';
    case 'no-price':
      return 'has no cost profile; an unpriced model is never routed to (budgets fail closed)';
    case 'cooldown':
      return `cooling down after a rate limit for another ${Math.ceil(((candidate.stats?.cooldownUntil ?? now) - now) / 1000)} s`;
    case 'unhealthy':
      return `error rate ${formatPercent(candidate.stats?.errorRate ?? 0)} is at or above ${formatPercent(constraints?.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE)}`;
    case 'max-cost': {
      const tokens = rateTokens(request);
      const cost = candidate.cost === undefined ? 0 : estimateCostMicroUsd(candidate.cost, tokens.input, tokens.output);
      const rate = costPer1kUsd(cost, tokens.input + tokens.output);
      return `estimated $${rate.toFixed(6)} per 1k tokens is above the $${(constraints?.maxCostPer1kTokens ?? 0).toFixed(6)} limit`;
    }
  }
}

function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

/**
 * An excluded candidate whose sentence is written only when read: a ranking excludes many candidates
 * and most callers never look at why.
 */
export class Exclusion implements ExcludedCandidate {
  readonly candidate: RouteCandidate;
  readonly code: ExclusionCode;
  #request: RouteRequest;
  #now: number;
  #reason: string | undefined;

  constructor(candidate: RouteCandidate, code: ExclusionCode, request: RouteRequest, now: number) {
    this.candidate = candidate;
    this.code = code;
    this.#request = request;
    this.#now = now;
  }

  get reason(): string {
    this.#reason ??= describeExclusion(this.candidate, this.code, this.#request, this.#now);
    return this.#reason;
  }

  toJSON(): { model: string; version: string; code: ExclusionCode; reason: string } {
    return { model: this.candidate.model, version: this.candidate.version, code: this.code, reason: this.reason };
  }
}

export interface FilterResult {
  readonly eligible: RouteCandidate[];
  readonly excluded: ExcludedCandidate[];
}

/**
 * Splits candidates into those that may serve the request and those that may not, each exclusion with
 * its code and a sentence saying why. The strategies apply the same rules inside their ranking loop.
 */
export function filterCandidates(
  candidates: readonly RouteCandidate[],
  request: RouteRequest,
  options: { safetyRequired?: boolean } = {},
): FilterResult {
  checkRouteRequest(request);
  const now = request.now ?? Date.now();
  const eligible: RouteCandidate[] = [];
  const excluded: ExcludedCandidate[] = [];
  const maxCost = request.constraints?.maxCostPer1kTokens;
  const tokens = rateTokens(request);
  const prepared = prepareFilter(request, now, options.safetyRequired === true);
  for (const candidate of candidates) {
    let code = exclusionOf(candidate, prepared);
    if (code === null && maxCost !== undefined) {
      const cost = estimateCostMicroUsd(candidate.cost!, tokens.input, tokens.output);
      if (costPer1kUsd(cost, tokens.input + tokens.output) > maxCost) code = 'max-cost';
    }
    if (code === null) eligible.push(candidate);
    else excluded.push(new Exclusion(candidate, code, request, now));
  }
  return { eligible, excluded };
}
