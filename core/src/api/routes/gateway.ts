import type { ChatMessage, RankedCandidate, TokenUsage } from '@modelplane/plugin-sdk';
import { microToUsd } from '@modelplane/plugin-sdk';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Errors } from '../../errors.ts';
import type { ChatCall, Gateway, Plan } from '../../gateway/gateway.ts';
import type { Principal } from '../../kernel/container.ts';
import type { Budgets } from '../../gateway/budgets.ts';
import type { MeteringStore } from '../../gateway/metering.ts';
import { describeError } from '../errors.ts';

const TextPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(TextPart), z.null()]),
  name: z.string().optional(),
});

/** OpenAI's chat completion request; unknown fields are accepted and ignored, unsupported ones refused below. */
const ChatBody = z.looseObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  max_tokens: z.int().positive().optional(),
  max_completion_tokens: z.int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
  seed: z.int().optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().optional(),
  n: z.int().positive().optional(),
});
type ChatBodyValue = z.infer<typeof ChatBody>;

function textOf(body: ChatBodyValue): ChatMessage[] {
  if (body.n !== undefined && body.n > 1) throw new Errors.BadRequest('body.n: only n = 1 is supported');
  for (const field of ['tools', 'functions', 'tool_choice']) {
    if ((body as Record<string, unknown>)[field] !== undefined) throw new Errors.BadRequest(`body.${field}: tool calling is not supported by the gateway yet`);
  }
  // Log probabilities would be missing from the answer without a word.
  const { logprobs, top_logprobs: topLogprobs, logit_bias: logitBias } = body as { logprobs?: unknown; top_logprobs?: unknown; logit_bias?: unknown };
  if (logprobs === true || (typeof topLogprobs === 'number' && topLogprobs > 0)) throw new Errors.BadRequest('body.logprobs: log probabilities are not supported by the gateway yet');
  if (logitBias !== undefined && logitBias !== null && Object.keys(logitBias).length > 0) throw new Errors.BadRequest('body.logit_bias: not supported by the gateway yet');
  // Ignoring it would answer prose to a client that asked for JSON.
  const format = (body as { response_format?: { type?: unknown } | null }).response_format;
  if (format !== undefined && format !== null && format.type !== 'text') {
    throw new Errors.BadRequest(`body.response_format: only { "type": "text" } is supported by the gateway yet, got ${JSON.stringify(format.type ?? format)}`);
  }
  return body.messages.map((m, i) => {
    if (m.content === null || typeof m.content === 'string') return { role: m.role, content: m.content ?? '', ...(m.name ? { name: m.name } : {}) };
    const parts = m.content.map((part, j) => {
      if (part.type !== 'text') throw new Errors.BadRequest(`body.messages[${i}].content[${j}]: only text parts are supported, got "${part.type}"`);
      if (part.text === undefined) throw new Errors.BadRequest(`body.messages[${i}].content[${j}].text: a text part needs its text`);
      return part.text;
    });
    return { role: m.role, content: parts.join(''), ...(m.name ? { name: m.name } : {}) };
  });
}

function openAIUsage(usage: TokenUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

/** The routing decision, in headers: which model answered, by which strategy, and the runners-up's scores. */
function routingHeaders(plan: Plan, model: string, version: string, attempts: number, eventId: string): Record<string, string> {
  const scores = plan.ranked.map((r) => `${r.candidate.model}=${r.score.toFixed(4)}`).join(', ');
  return {
    'x-modelplane-model': `${model}@${version}`,
    'x-modelplane-route': plan.route,
    'x-modelplane-strategy': plan.strategy,
    'x-modelplane-scores': scores,
    'x-modelplane-attempts': String(attempts),
    'x-modelplane-event-id': eventId,
  };
}

function rankingJson(ranked: readonly RankedCandidate[]) {
  return ranked.map((r) => ({
    model: r.candidate.model,
    version: r.candidate.version,
    provider: r.candidate.provider,
    score: r.score,
    components: r.components,
    estimated_cost_usd: microToUsd(Math.ceil(r.components.estimatedCostMicroUsd)),
    reasons: r.reasons,
  }));
}

export function gatewayRoutes(deps: { gateway: Gateway; metering: MeteringStore; budgets: Budgets }): FastifyPluginAsync {
  const { gateway, metering, budgets } = deps;
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['gateway'];

    app.post('/v1/chat/completions', { config: { scope: 'infer', inference: true }, schema: { tags, summary: 'OpenAI-compatible chat completion (stream: true for SSE)', body: ChatBody } }, async (request, reply) => {
      const body = request.body;
      const principal = request.principal;
      const controller = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) controller.abort();
      });
      const maxTokens = body.max_completion_tokens ?? body.max_tokens;
      const call: ChatCall = {
        model: body.model,
        messages: textOf(body),
        ...(maxTokens === undefined ? {} : { maxTokens }),
        ...(body.temperature === undefined ? {} : { temperature: body.temperature }),
        ...(body.top_p === undefined ? {} : { topP: body.top_p }),
        ...(body.stop === undefined ? {} : { stop: [body.stop].flat() }),
        ...(body.seed === undefined ? {} : { seed: body.seed }),
        ...(body.presence_penalty === undefined ? {} : { presencePenalty: body.presence_penalty }),
        ...(body.frequency_penalty === undefined ? {} : { frequencyPenalty: body.frequency_penalty }),
        ...(body.user === undefined ? {} : { user: body.user }),
        stream: body.stream === true,
        principal,
        requestId: request.id,
        signal: controller.signal,
      };
      const created = Math.floor(Date.now() / 1000);
      if (!call.stream) {
        const done = await gateway.complete(call);
        reply.headers(routingHeaders(done.plan, done.candidate.model, done.candidate.version, done.attempts, done.eventId));
        reply.header('x-modelplane-cost-usd', microToUsd(done.costMicroUsd));
        return {
          id: `chatcmpl-${done.eventId}`,
          object: 'chat.completion',
          created,
          model: done.candidate.model,
          choices: [{ index: 0, message: { role: 'assistant', content: done.text, refusal: null }, finish_reason: done.finishReason, logprobs: null }],
          usage: openAIUsage(done.usage),
          ...(done.guard ? { modelplane: { blocked_by: done.guard } } : {}),
        };
      }
      const open = await gateway.stream(call);
      return streamAnswer(reply, open, { created, includeUsage: body.stream_options?.include_usage === true });
    });

    const openAIModels = async (principal: Principal) => [
      ...(await gateway.models(principal)).map((m) => ({
        id: m.model,
        object: 'model',
        created: 0,
        owned_by: m.provider,
        modelplane: { version: m.version, provider_model: m.providerModel, context_length: m.contextLength, task_types: m.taskTypes },
      })),
      ...gateway.routes().map((name) => ({ id: name, object: 'model', created: 0, owned_by: 'modelplane-route' })),
    ];
    app.get('/v1/models', { config: { scope: 'infer' }, schema: { tags, summary: 'The LLM models and routes callable through the gateway (OpenAI format)' } }, async (request) => ({
      object: 'list',
      data: await openAIModels(request.principal),
    }));
    app.get(
      '/v1/models/:model',
      { config: { scope: 'infer' }, schema: { tags, summary: 'One LLM model or route (OpenAI format)', params: z.object({ model: z.string() }) } },
      async (request) => {
        const found = (await openAIModels(request.principal)).find((m) => m.id === request.params.model);
        if (!found) throw new Errors.NotFound(`no LLM model or route "${request.params.model}" is callable with this key; GET /v1/models lists them`);
        return found;
      },
    );

    app.post(
      '/api/v1/models/select',
      {
        config: { scope: 'infer' },
        schema: {
          tags,
          summary: "Rank the LLM models for a request without calling any (seed 003's selection)",
          body: z.strictObject({
            route: z.string().min(1).optional().describe('A configured route; `auto` by default'),
            strategy: z.string().min(1).optional(),
            task_type: z.string().min(1).optional(),
            quality_weight: z.number().min(0).optional(),
            cost_weight: z.number().min(0).optional(),
            latency_weight: z.number().min(0).optional(),
            safety_weight: z.number().min(0).optional(),
            safety_required: z.boolean().optional(),
            max_cost_per_1k_tokens: z.number().positive().optional(),
            min_context_length: z.int().positive().optional(),
            required_tags: z.array(z.string()).optional(),
            input_tokens: z.int().nonnegative().default(500),
            max_tokens: z.int().positive().default(500),
          }),
        },
      },
      async (request) => {
        const b = request.body;
        const routeName = b.route ?? 'auto';
        const configured = gateway.routeConfig(routeName);
        if (!configured) throw new Errors.NotFound(`no route "${routeName}" (routes: ${gateway.routes().join(', ')})`);
        const weights = {
          ...(b.quality_weight === undefined ? {} : { quality: b.quality_weight }),
          ...(b.cost_weight === undefined ? {} : { cost: b.cost_weight }),
          ...(b.latency_weight === undefined ? {} : { latency: b.latency_weight }),
          ...(b.safety_weight === undefined ? {} : { safety: b.safety_weight }),
        };
        const constraints = {
          ...(b.safety_required === undefined ? {} : { safetyRequired: b.safety_required }),
          ...(b.max_cost_per_1k_tokens === undefined ? {} : { maxCostPer1kTokens: b.max_cost_per_1k_tokens }),
          ...(b.min_context_length === undefined ? {} : { minContextLength: b.min_context_length }),
          ...(b.required_tags === undefined ? {} : { requiredTags: b.required_tags }),
        };
        const ranking = await gateway.rank(
          { ...configured, ...(b.strategy ? { strategy: b.strategy } : {}) },
          { inputTokens: b.input_tokens, maxOutputTokens: b.max_tokens, ...(b.task_type ? { taskType: b.task_type } : {}), weights, constraints },
          request.principal,
        );
        return {
          strategy: ranking.strategy,
          selected: ranking.ranked[0]?.candidate.model ?? null,
          ranked: rankingJson(ranking.ranked),
          excluded: ranking.excluded.map((e) => ({ model: e.candidate.model, code: e.code, reason: e.reason })),
        };
      },
    );

    app.get(
      '/api/v1/costs',
      {
        config: { scope: 'admin' },
        schema: {
          tags,
          summary: "Cost analytics over the last hours (seed 003's shape; amounts are exact 6-decimal USD strings)",
          querystring: z.object({ hours: z.coerce.number().positive().max(24 * 366).default(24) }),
        },
      },
      async (request) => {
        const summary = metering.summary(request.query.hours);
        return { ...summary, daily: metering.dailyCosts(summary.since.slice(0, 10)) };
      },
    );

    app.get(
      '/api/v1/costs/events',
      {
        config: { scope: 'admin' },
        schema: {
          tags,
          summary: 'Cost events, newest first',
          querystring: z.object({ hours: z.coerce.number().positive().max(24 * 366).default(24), principal: z.string().optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) }),
        },
      },
      async (request) => {
        const since = new Date(Date.now() - request.query.hours * 3_600_000).toISOString();
        const list = metering.events({ since, limit: request.query.limit, ...(request.query.principal ? { principal: request.query.principal } : {}) });
        return { events: list.map((e) => ({ ...e, costUsd: microToUsd(e.costMicroUsd) })) };
      },
    );

    app.get('/api/v1/budgets', { config: { scope: 'admin' }, schema: { tags, summary: 'Budgets in their current period: limit, spent, held by calls in flight' } }, async () => ({
      budgets: budgets.status(),
    }));

  };
}

/** Writes an OpenAI SSE stream: role chunk, text chunks, the finish chunk, usage (when asked), `[DONE]`. */
async function streamAnswer(reply: FastifyReply, open: Awaited<ReturnType<Gateway['stream']>>, options: { created: number; includeUsage: boolean }): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': reply.request.id,
    ...routingHeaders(open.plan, open.candidate.model, open.candidate.version, open.attempts, open.eventId),
  });
  const base = { id: `chatcmpl-${open.eventId}`, object: 'chat.completion.chunk', created: options.created, model: open.candidate.model };
  const send = (payload: unknown) => raw.write(`data: ${JSON.stringify(payload)}\n\n`);
  send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] });
  let result: Awaited<ReturnType<typeof open.events.next>>;
  try {
    result = await open.events.next();
    while (!result.done) {
      if (raw.destroyed) {
        await open.events.return(undefined as never);
        return;
      }
      send({ ...base, choices: [{ index: 0, delta: { content: result.value.text }, finish_reason: null, logprobs: null }] });
      result = await open.events.next();
    }
  } catch (error) {
    // Our own failure (a guard, the audit log) after the response began: the headers are gone, so it ends like a cut
    // stream, with an explicit error event; left alone the response would never end.
    reply.request.log.error({ err: error }, 'a stream failed after it began');
    const described = describeError(error);
    send({ error: { message: described.message, type: 'api_error', param: null, code: described.code } });
    raw.end();
    return;
  }
  const outcome = result.value;
  if (outcome.kind === 'failed') {
    // A stream that breaks after tokens went out ends with an explicit error event, never a silent close.
    const described = describeError(outcome.error);
    send({ error: { message: `the upstream stream failed after it began: ${outcome.error.message}`, type: 'api_error', param: null, code: described.statusCode >= 500 ? 'MP_ERR_UPSTREAM_STREAM_FAILED' : described.code } });
    raw.end();
    return;
  }
  const finish = outcome.kind === 'blocked' ? 'content_filter' : outcome.finishReason;
  send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish, logprobs: null }], ...(outcome.kind === 'blocked' ? { modelplane: { blocked_by: outcome.guard } } : {}) });
  if (options.includeUsage) send({ ...base, choices: [], usage: openAIUsage(outcome.usage) });
  raw.write('data: [DONE]\n\n');
  raw.end();
}
