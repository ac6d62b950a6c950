import {
  type ChatMessage,
  type ChatProvider,
  type ChatRequest,
  type ChatStreamEvent,
  type CostProfile,
  isProviderError,
  type ModelCallEvent,
  type ModelplaneHooks,
  priceUsage,
  ProviderError,
  type RankedCandidate,
  type RouteCandidate,
  type RouterStrategy,
  type RouteRequest,
  type TokenUsage,
  usdToMicro,
} from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import { modelAllowed } from '../auth/scopes.ts';
import { Errors } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Principal } from '../kernel/container.ts';
import type { Config } from '../kernel/config.ts';
import type { Contributions } from '../kernel/contributions.ts';
import type { Budgets, BudgetDefinition, Reservation } from './budgets.ts';
import type { LlmCatalog } from './catalog.ts';
import type { GuardDecision, GuardPipeline } from './guards.ts';
import { type CostEvent, type MeteringStore, newEventId } from './metering.ts';
import type { LiveStatsBook } from './stats.ts';

export type GatewayConfig = Config['gateway'];
type RouteConfig = GatewayConfig['routes'][number];

/** What the HTTP layer hands over: the OpenAI request, already validated, with text-only messages. */
export interface ChatCall {
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  user?: string;
  stream: boolean;
  principal: Principal;
  requestId: string;
  signal: AbortSignal;
}

/** How the call was routed, for the response headers and the cost event. */
export interface Plan {
  route: string;
  strategy: string;
  ranked: readonly RankedCandidate[];
  messages: ChatMessage[];
  maxTokens: number;
}

export interface Completion {
  plan: Plan;
  candidate: RouteCandidate;
  text: string;
  finishReason: string;
  usage: TokenUsage;
  costMicroUsd: number;
  eventId: string;
  attempts: number;
  guard?: GuardDecision;
}

/** One streamed answer after its first token arrived: nothing can fall back any more. */
export interface OpenStream {
  plan: Plan;
  candidate: RouteCandidate;
  eventId: string;
  attempts: number;
  /** Text to send as it is released by the guards; ends with the outcome. */
  events: AsyncGenerator<{ text: string }, StreamOutcome>;
}

export type StreamOutcome =
  | { kind: 'completed'; finishReason: string; usage: TokenUsage; costMicroUsd: number }
  | { kind: 'blocked'; guard: GuardDecision; usage: TokenUsage; costMicroUsd: number }
  | { kind: 'failed'; error: ProviderError | Error; usage: TokenUsage; costMicroUsd: number };

/** One vendor call of a planned chat call: what every step after the plan needs. */
interface Attempt {
  plan: Plan;
  call: ChatCall;
  candidate: RouteCandidate;
  eventId: string;
  /** 1 for the first model tried, 2 after one fallback … */
  number: number;
  reservation: Reservation;
  started: number;
  firstToken: number | undefined;
  deadline: Deadline;
}

/**
 * Worst-case input tokens: no tokenizer counts more tokens than UTF-8 bytes, plus a few per message for the
 * chat template. Used for the budget reservation only, so it may overestimate but never under.
 */
export function worstCaseInputTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + Buffer.byteLength(m.content) + 8, 8);
}

/** About four characters a token: for ranking (cost estimates), where a fair guess beats a worst case. */
function estimatedInputTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + Math.ceil(m.content.length / 4) + 4, 3);
}

/** The event feed's name for each gateway hook. */
const EVENT_NAMES = {
  modelCallPlanned: 'model_call.planned',
  modelCallStarted: 'model_call.started',
  modelCallCompleted: 'model_call.completed',
  modelCallFailed: 'model_call.failed',
} as const;

export class Gateway {
  readonly #catalog: LlmCatalog;
  readonly #stats: LiveStatsBook;
  readonly #metering: MeteringStore;
  readonly #budgets: Budgets;
  readonly #guards: GuardPipeline;
  readonly #events: EventBus;
  readonly #hooks: ModelplaneHooks;
  readonly #contributions: Contributions;
  readonly #config: GatewayConfig;
  readonly #logger: Logger;
  readonly #audit: (entry: { actor: string; action: string; target: string; details?: unknown }) => Promise<void>;
  /** Attempts begun and not yet settled, and who waits in `drain()` for them to be. */
  readonly #open = new Set<Attempt>();
  #drained: Array<() => void> = [];

  constructor(deps: {
    catalog: LlmCatalog;
    stats: LiveStatsBook;
    metering: MeteringStore;
    budgets: Budgets;
    guards: GuardPipeline;
    events: EventBus;
    hooks: ModelplaneHooks;
    contributions: Contributions;
    config: GatewayConfig;
    logger: Logger;
    audit: (entry: { actor: string; action: string; target: string; details?: unknown }) => Promise<void>;
  }) {
    this.#catalog = deps.catalog;
    this.#stats = deps.stats;
    this.#metering = deps.metering;
    this.#budgets = deps.budgets;
    this.#guards = deps.guards;
    this.#events = deps.events;
    this.#hooks = deps.hooks;
    this.#contributions = deps.contributions;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#audit = deps.audit;
  }

  #strategy(id: string): RouterStrategy {
    const strategy = this.#contributions.routerStrategy.get(id);
    if (!strategy) {
      const known = this.#contributions.routerStrategy.list().map((s) => s.contribution.id);
      throw new Errors.NoEligibleModel(
        known.length === 0
          ? `routing strategy "${id}" is not installed: add the @modelplane/router-strategies plugin to the config`
          : `routing strategy "${id}" is not installed (installed: ${known.join(', ')})`,
      );
    }
    return strategy;
  }

  /**
   * Resolves once every attempt begun is settled, its cost event recorded (or after `timeoutMs`). Shutdown waits here
   * before closing the metering store: a stream cut by the shutdown settles after its connection is gone.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#open.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #close(attempt: Attempt): void {
    if (!this.#open.delete(attempt) || this.#open.size > 0) return;
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Ranks the models for a route (or `auto`) without calling any: `POST /api/v1/models/select` and every call. */
  async rank(route: RouteConfig, request: Omit<RouteRequest, 'now'>, principal: Principal, limit?: number) {
    const strategy = this.#strategy(route.strategy ?? this.#config.defaultStrategy);
    const allowed = (await this.#catalog.list()).filter(
      (c) => (route.models === undefined || route.models.includes(c.model)) && modelAllowed(principal.models, c.model),
    );
    const constraints = { ...route.constraints, ...request.constraints };
    const weights = { ...route.weights, ...request.weights };
    const ranking = strategy.rank(
      allowed,
      {
        ...request,
        ...(request.taskType ?? route.taskType ? { taskType: request.taskType ?? route.taskType } : {}),
        constraints,
        weights,
      },
      limit === undefined ? {} : { limit },
    );
    return ranking;
  }

  /** A configured route by name; `auto` is always one (the default strategy over every model). */
  routeConfig(name: string): RouteConfig | undefined {
    if (name === 'auto') return this.#config.routes.find((r) => r.name === 'auto') ?? { name: 'auto' };
    return this.#config.routes.find((r) => r.name === name);
  }

  /** Resolves `model` (a route, `auto`, or a registered LLM), runs the pre-guards, ranks the candidates. */
  async plan(call: ChatCall): Promise<Plan> {
    const route = this.routeConfig(call.model);
    let ranked: readonly RankedCandidate[];
    let strategy: string;
    const maxTokens = call.maxTokens ?? this.#config.defaultMaxTokens;
    if (route) {
      strategy = route.strategy ?? this.#config.defaultStrategy;
      const ranking = await this.rank(route, { inputTokens: estimatedInputTokens(call.messages), maxOutputTokens: maxTokens }, call.principal, this.#config.maxFallbacks + 1);
      if (ranking.ranked.length === 0) {
        const reasons = ranking.excluded.map((e) => `${e.candidate.model}: ${e.reason}`);
        throw new Errors.NoEligibleModel(
          `no model can serve route "${route.name}"${reasons.length > 0 ? `: ${reasons.join('; ')}` : ': no LLM models are registered (versions with metadata.llm)'}`,
          { details: { excluded: ranking.excluded.map((e) => ({ model: e.candidate.model, code: e.code, reason: e.reason })) } },
        );
      }
      ranked = ranking.ranked;
    } else {
      const name = call.model.split('@')[0]!;
      if (!modelAllowed(call.principal.models, name)) throw new Errors.Forbidden(`API key ${call.principal.id} may not access model "${name}"`);
      let candidate: RouteCandidate | undefined;
      try {
        candidate = await this.#catalog.get(call.model);
      } catch (error) {
        // A missing alias or version of a model that exists keeps the registry's own message.
        if ((error as { code?: string }).code === 'MP_ERR_MODEL_NOT_FOUND') {
          const routes = ['auto', ...this.#config.routes.map((r) => r.name)];
          throw new Errors.NotFound(`no model or route "${call.model}": use a registered LLM model, or one of the routes ${routes.join(', ')}`);
        }
        throw error;
      }
      if (!candidate) throw new Errors.NotAnLlm(`model "${call.model}" is not an LLM: its version has no metadata.llm (tensor models are served on /v2)`);
      if (!candidate.cost) {
        throw new Errors.ModelUnpriced(`model "${call.model}" has no cost profile (metadata.llm.cost), so its calls cannot be metered or budgeted; add one`);
      }
      if (maxTokens > candidate.contextLength) {
        throw new Errors.BadRequest(`body.max_tokens: ${maxTokens} is more than ${candidate.model}'s context length of ${candidate.contextLength} tokens`);
      }
      strategy = 'explicit';
      ranked = [{ candidate, score: 1, components: { quality: 1, cost: 1, latency: 1, safety: 1, reliability: 1, estimatedCostMicroUsd: 0, estimatedLatencyMs: 0 }, reasons: ['named in the request'] }];
    }
    const context = { model: ranked[0]!.candidate.model, principal: call.principal.id };
    const guarded = await this.#guards.pre(call.messages, context).catch(async (error: Error & { details?: { decisions?: GuardDecision[] } }) => {
      await this.#auditGuards(call, context.model, error.details?.decisions ?? []);
      throw error;
    });
    await this.#auditGuards(call, context.model, guarded.decisions);
    const plan = { route: route?.name ?? call.model, strategy, ranked, messages: guarded.messages, maxTokens };
    this.#emit('modelCallPlanned', this.#callEvent({ plan, call, candidate: ranked[0]!.candidate, eventId: call.requestId, number: 0 }));
    return plan;
  }

  async #auditGuards(call: ChatCall, model: string, decisions: readonly GuardDecision[]): Promise<void> {
    for (const d of decisions) {
      await this.#audit({ actor: call.principal.id, action: `guard.${d.action}`, target: `model:${model}`, details: { requestId: call.requestId, ...d } });
    }
  }

  #emit(type: keyof typeof EVENT_NAMES, event: ModelCallEvent): void {
    this.#events.emit(EVENT_NAMES[type], event);
    const hook = this.#hooks[type];
    if (hook.isUsed()) hook.promise(event).catch((error: unknown) => this.#logger.error({ err: error, hook: type }, 'a gateway hook tap failed'));
  }

  #provider(candidate: RouteCandidate): ChatProvider | undefined {
    return this.#contributions.provider.get(candidate.provider);
  }

  #request(attempt: Attempt): ChatRequest {
    const { plan, call, candidate } = attempt;
    // Never ask for more output than was reserved.
    return {
      model: candidate.providerModel ?? candidate.model,
      messages: plan.messages,
      maxTokens: plan.maxTokens,
      ...(call.temperature === undefined ? {} : { temperature: call.temperature }),
      ...(call.topP === undefined ? {} : { topP: call.topP }),
      ...(call.stop === undefined ? {} : { stop: call.stop }),
      ...(call.seed === undefined ? {} : { seed: call.seed }),
      ...(call.presencePenalty === undefined ? {} : { presencePenalty: call.presencePenalty }),
      ...(call.frequencyPenalty === undefined ? {} : { frequencyPenalty: call.frequencyPenalty }),
      ...(call.user === undefined ? {} : { user: call.user }),
    };
  }

  /** Reserves the worst case, starts the first-token deadline and says the call started. */
  #begin(plan: Plan, call: ChatCall, candidate: RouteCandidate, eventId: string, number: number): Attempt {
    const worst = priceUsage(candidate.cost as CostProfile, { inputTokens: worstCaseInputTokens(plan.messages), outputTokens: plan.maxTokens });
    const keyBudget = budgetOfKey(call.principal);
    let reservation: Attempt['reservation'];
    try {
      reservation = this.#budgets.reserve({ principal: call.principal.id, model: candidate.model, worstCaseMicroUsd: worst, ...(keyBudget ? { keyBudget } : {}) });
    } catch (error) {
      // A planned call that a budget refuses still ends in the event feed.
      this.#emit('modelCallFailed', this.#callEvent({ plan, call, candidate, eventId, number }, { error: (error as Error).message }));
      throw error;
    }
    const attempt: Attempt = { plan, call, candidate, eventId, number, reservation, started: performance.now(), firstToken: undefined, deadline: new Deadline(call.signal, this.#config.firstTokenTimeoutMs) };
    this.#open.add(attempt);
    this.#emit('modelCallStarted', this.#callEvent(attempt));
    return attempt;
  }

  /** An attempt that failed before its first token: nothing was billed, its reservation goes back. Returns what to throw. */
  #giveUp(attempt: Attempt, error: unknown): unknown {
    attempt.deadline.release();
    this.#budgets.settle(attempt.reservation, 0);
    this.#close(attempt);
    const failure = attempt.deadline.expired ? timeoutError(attempt.candidate) : error;
    this.#failed(attempt, failure);
    return failure;
  }

  #callEvent(attempt: Pick<Attempt, 'plan' | 'call' | 'candidate' | 'eventId' | 'number'>, extra: Partial<ModelCallEvent> = {}): ModelCallEvent {
    const { plan, call, candidate } = attempt;
    return {
      eventId: attempt.eventId,
      requestId: call.requestId,
      principal: call.principal.id,
      route: plan.route,
      strategy: plan.strategy,
      model: candidate.model,
      version: candidate.version,
      provider: candidate.provider,
      attempt: attempt.number,
      stream: call.stream,
      ...extra,
    };
  }

  /** Records the cost event and replaces the reservation by the cost; returns the cost. */
  #settle(attempt: Attempt, outcome: CostEvent['outcome'], usage: TokenUsage, usageEstimated: boolean): number {
    const { plan, call, candidate } = attempt;
    const cost = priceUsage(candidate.cost as CostProfile, usage);
    try {
      this.#metering.record({
        eventId: attempt.eventId,
        time: new Date().toISOString(),
        requestId: call.requestId,
        model: candidate.model,
        version: candidate.version,
        provider: candidate.provider,
        providerModel: candidate.providerModel ?? candidate.model,
        principal: call.principal.id,
        route: plan.route,
        strategy: plan.strategy,
        tokensIn: usage.inputTokens,
        tokensOut: usage.outputTokens,
        tokensCached: usage.cachedInputTokens ?? 0,
        tokensCacheWrite: usage.cacheWriteInputTokens ?? 0,
        tokensReasoning: usage.reasoningTokens ?? 0,
        costMicroUsd: cost,
        priceVersion: (candidate.cost as CostProfile).priceVersion,
        latencyMs: performance.now() - attempt.started,
        ttftMs: attempt.firstToken === undefined ? null : attempt.firstToken - attempt.started,
        stream: call.stream,
        outcome,
        usageEstimated,
      });
    } catch (error) {
      this.#logger.error({ err: error, eventId: attempt.eventId }, 'could not record a cost event');
    }
    this.#budgets.settle(attempt.reservation, cost);
    this.#close(attempt);
    return cost;
  }

  /**
   * Tries the ranked models in turn. `attempt` does one call and returns its result, or throws: a retryable
   * ProviderError moves to the next model (cooling a 429'd one down), anything else ends the call.
   */
  async #withFallback<T>(plan: Plan, call: ChatCall, attempt: (candidate: RouteCandidate, eventId: string, index: number) => Promise<T>): Promise<T> {
    const failures: string[] = [];
    let lastError: ProviderError | undefined;
    for (const [index, { candidate }] of plan.ranked.entries()) {
      if (!this.#provider(candidate)) {
        failures.push(`${candidate.model}: provider "${candidate.provider}" is not installed`);
        continue;
      }
      const eventId = newEventId();
      try {
        return await attempt(candidate, eventId, index + 1);
      } catch (error) {
        if (!isProviderError(error) || !error.retryable || call.signal.aborted) throw mapProviderError(error);
        lastError = error;
        failures.push(`${candidate.model}: ${error.message}`);
      }
    }
    if (!lastError) throw new Errors.NoProvider(`no installed provider can serve this call: ${failures.join('; ')}`);
    throw mapProviderError(lastError, failures.length === 1 ? lastError.message : `every model failed: ${failures.join('; ')}`);
  }

  async complete(call: ChatCall): Promise<Completion> {
    const plan = await this.plan(call);
    return this.#withFallback(plan, call, async (candidate, eventId, number) => {
      const attempt = this.#begin(plan, call, candidate, eventId, number);
      let result;
      try {
        result = await this.#provider(candidate)!.chat(this.#request(attempt), attempt.deadline.signal);
      } catch (error) {
        throw this.#giveUp(attempt, error);
      }
      attempt.deadline.release();
      attempt.firstToken = performance.now();
      let guarded;
      try {
        guarded = await this.#guards.post(result.text, { model: candidate.model, principal: call.principal.id });
        await this.#auditGuards(call, candidate.model, guarded.decisions);
      } catch (error) {
        // The vendor answered (and bills it) even though we cannot: the cost replaces the reservation, which would stay held.
        this.#settle(attempt, 'failed', result.usage, false);
        throw error;
      }
      const cost = this.#settle(attempt, guarded.blocked ? 'blocked' : 'completed', result.usage, false);
      // The answer goes out only once its cost event is on disk: a crash after the reply must not lose the spend.
      await this.#metering.committed();
      this.#stats.succeeded(candidate.model, attempt.firstToken - attempt.started, result.usage.outputTokens, 0);
      this.#emit('modelCallCompleted', this.#callEvent(attempt, { costMicroUsd: cost }));
      return {
        plan,
        candidate,
        text: guarded.text,
        finishReason: guarded.blocked ? 'content_filter' : result.finishReason,
        usage: result.usage,
        costMicroUsd: cost,
        eventId,
        attempts: number,
        ...(guarded.blocked ? { guard: guarded.blocked } : {}),
      };
    });
  }

  #failed(attempt: Attempt, error: unknown): void {
    const cooldown = isProviderError(error) && error.kind === 'rate-limited' ? (error.retryAfterMs ?? 1000) : undefined;
    if (!attempt.call.signal.aborted) this.#stats.failed(attempt.candidate.model, cooldown);
    this.#emit('modelCallFailed', this.#callEvent(attempt, { error: (error as Error).message }));
  }

  /** Opens a stream: falls back until one model produced its first event; from then on it is committed. */
  async stream(call: ChatCall): Promise<OpenStream> {
    const plan = await this.plan(call);
    return this.#withFallback(plan, call, async (candidate, eventId, number) => {
      const attempt = this.#begin(plan, call, candidate, eventId, number);
      const upstream = this.#provider(candidate)!.stream(this.#request(attempt), attempt.deadline.signal)[Symbol.asyncIterator]();
      let first: IteratorResult<ChatStreamEvent>;
      try {
        first = await upstream.next();
      } catch (error) {
        throw this.#giveUp(attempt, error);
      }
      // The first token came: no more timeout, but a client that goes away still stops the upstream stream.
      attempt.deadline.stopTimer();
      attempt.firstToken = performance.now();
      return { plan, candidate, eventId, attempts: number, events: this.#relay(attempt, first, upstream) };
    });
  }

  async *#relay(attempt: Attempt, first: IteratorResult<ChatStreamEvent>, upstream: AsyncIterator<ChatStreamEvent>): AsyncGenerator<{ text: string }, StreamOutcome> {
    const { plan, call, candidate } = attempt;
    const filter = this.#guards.stream({ model: candidate.model, principal: call.principal.id });
    let pieces = 0;
    let received = '';
    // Without the vendor's figures (a cut stream), bill what surely happened: the whole prompt and a token per piece,
    // never more output than was asked for (and reserved): the vendor stops at max_tokens, long words or not.
    const surelyUsed = (): TokenUsage => ({ inputTokens: worstCaseInputTokens(plan.messages), outputTokens: Math.min(plan.maxTokens, Math.max(pieces, Math.ceil(received.length / 4))) });
    let end: Extract<ChatStreamEvent, { type: 'end' }> | undefined;
    let failure: Error | undefined;
    let next = first;
    let accounted = false;
    try {
      try {
        while (!next.done) {
          const event = next.value;
          if (event.type === 'end') {
            end = event;
            break;
          }
          pieces += 1;
          received += event.text;
          const released = filter.push(event.text);
          if (filter.blocked) break;
          if (released) yield { text: released };
          next = await upstream.next();
        }
        if (!filter.blocked && !end) failure = new Error(`${candidate.provider}: the stream ended without its final event`);
      } catch (error) {
        failure = error as Error;
      }
      if (filter.blocked) await upstream.return?.(undefined);
      // Text held back for the guards goes out (judged) even when the upstream broke: the client gets all of it, then the error.
      const tail = !filter.blocked ? await filter.end() : '';
      if (tail) yield { text: tail };
      await this.#auditGuards(call, candidate.model, filter.decisions);
      const usage = end?.usage ?? surelyUsed();
      const outcome = filter.blocked ? 'blocked' : failure ? (call.signal.aborted ? 'abandoned' : 'cut') : 'completed';
      const cost = this.#settle(attempt, outcome, usage, !end?.usage);
      accounted = true;
      // The stream's end (finish chunk, usage, [DONE]) goes out only once its cost event is on disk.
      await this.#metering.committed();
      if (failure) {
        this.#failed(attempt, failure);
        return { kind: 'failed', error: failure, usage, costMicroUsd: cost };
      }
      const firstToken = attempt.firstToken ?? attempt.started;
      this.#stats.succeeded(candidate.model, firstToken - attempt.started, usage.outputTokens, performance.now() - firstToken);
      this.#emit('modelCallCompleted', this.#callEvent(attempt, { costMicroUsd: cost }));
      if (filter.blocked) return { kind: 'blocked', guard: filter.blocked, usage, costMicroUsd: cost };
      return { kind: 'completed', finishReason: end!.finishReason, usage, costMicroUsd: cost };
    } finally {
      if (!accounted) {
        // The consumer left mid-stream (the client went away): stop the upstream and bill what it surely produced,
        // so the reservation is released and the budget stays exact.
        await upstream.return?.(undefined)?.catch(() => {});
        const cost = this.#settle(attempt, 'abandoned', surelyUsed(), true);
        this.#emit('modelCallFailed', this.#callEvent(attempt, { error: 'the client went away mid-stream', costMicroUsd: cost }));
      }
      // However the relay ends, the stream's link to the caller's signal goes with it.
      attempt.deadline.release();
    }
  }

  models(principal: Principal): Promise<RouteCandidate[]> {
    return this.#catalog.list().then((all) => all.filter((c) => modelAllowed(principal.models, c.model)));
  }

  routes(): string[] {
    return ['auto', ...this.#config.routes.map((r) => r.name).filter((n) => n !== 'auto')];
  }
}

/**
 * A signal that aborts when the caller's does, or when `ms` pass first (`expired`). Cheaper than
 * AbortSignal.any + AbortSignal.timeout per call, and released explicitly rather than left to the GC.
 */
class Deadline {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal;
  readonly #onAbort = () => this.#controller.abort(this.#parent.reason);
  #timer: NodeJS.Timeout | undefined;
  expired = false;

  constructor(parent: AbortSignal, ms: number) {
    this.#parent = parent;
    if (parent.aborted) this.#controller.abort(parent.reason);
    else parent.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.#controller.abort(new Error(`no first token within ${ms} ms`));
    }, ms);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  stopTimer(): void {
    clearTimeout(this.#timer);
  }

  release(): void {
    this.stopTimer();
    this.#parent.removeEventListener('abort', this.#onAbort);
  }
}

function timeoutError(candidate: RouteCandidate): ProviderError {
  return new ProviderError(candidate.provider, 'timeout', `${candidate.provider}: no answer from ${candidate.model} within the first-token timeout`);
}

/** A vendor failure as our error: the status tells the client what the vendor said, not a generic 500. */
export function mapProviderError(error: unknown, message?: string): Error {
  if (!isProviderError(error)) return error as Error;
  message ??= error.message;
  const details = { provider: error.provider, kind: error.kind, ...(error.status === undefined ? {} : { status: error.status }) };
  switch (error.kind) {
    case 'rate-limited':
      return new Errors.UpstreamRateLimited(message, { details: { ...details, retryAfterSeconds: Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000)) } });
    case 'timeout':
      return new Errors.UpstreamTimeout(message, { details });
    case 'bad-request':
      return new Errors.UpstreamRejected(message, { details });
    default:
      return new Errors.UpstreamFailed(message, { details });
  }
}

/** The budget an API key was created with (`modelplane keys create --budget`), as a key-scoped budget. */
export function budgetOfKey(principal: Principal): BudgetDefinition | undefined {
  if (!principal.budget) return undefined;
  return { name: `key:${principal.id}`, scope: 'key', subject: principal.id, period: principal.budget.period, limitMicroUsd: principal.budget.microUsd };
}

export function budgetDefinitions(config: GatewayConfig): BudgetDefinition[] {
  return config.budgets.map((b) => ({ name: b.name, scope: b.scope, ...(b.subject ? { subject: b.subject } : {}), period: b.period, limitMicroUsd: usdToMicro(b.limitUsd) }));
}
