import {
  type ChatProvider,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
  definePlugin,
  providerFetch,
  type TokenUsage,
  toProviderError,
  z,
} from '@modelplane/plugin-sdk';
import OpenAI from 'openai';

const VERSION = '0.1.0';

export const ProviderOpenAIOptions = z
  .object({
    /** The contribution id that LLM versions name in `llm.provider`. */
    id: z.string().min(1).default('openai'),
    apiKey: z.string().min(1).optional().describe('defaults to OPENAI_API_KEY'),
    /** Any OpenAI-compatible server: vLLM, Ollama, llama.cpp (`http://host:port/v1`). */
    baseURL: z.url().optional(),
    organization: z.string().optional(),
    /** Per call, until the whole answer (non-streaming) or the first byte (streaming). */
    timeoutMs: z.int().positive().default(60_000),
    /** The model `moderate` calls (`gateway.moderation: { provider: openai }`). */
    moderationModel: z.string().min(1).default('omni-moderation-latest'),
  })
  .strict();

type Usage = {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
};

/** OpenAI counts cached tokens inside `prompt_tokens` and reasoning inside `completion_tokens`: our convention. */
export function usageFromOpenAI(usage: Usage): TokenUsage {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    ...(cached > 0 ? { cachedInputTokens: cached } : {}),
    ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}),
  };
}

function body(request: ChatRequest) {
  return {
    model: request.model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content, ...(m.name ? { name: m.name } : {}) })) as OpenAI.ChatCompletionMessageParam[],
    max_tokens: request.maxTokens,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { top_p: request.topP }),
    ...(request.stop === undefined ? {} : { stop: [...request.stop] }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.presencePenalty === undefined ? {} : { presence_penalty: request.presencePenalty }),
    ...(request.frequencyPenalty === undefined ? {} : { frequency_penalty: request.frequencyPenalty }),
    ...(request.user === undefined ? {} : { user: request.user }),
  };
}

export function createOpenAIProvider(options: z.output<typeof ProviderOpenAIOptions>): ChatProvider {
  const id = options.id;
  // The gateway decides about retries (another model, or a 429 to its caller): the SDK must not retry on its own.
  const client = new OpenAI({
    fetch: providerFetch(),
    apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'unset',
    maxRetries: 0,
    timeout: options.timeoutMs,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    ...(options.organization ? { organization: options.organization } : {}),
  });
  return {
    id,
    description: `OpenAI chat completions at ${options.baseURL ?? 'https://api.openai.com/v1'}`,
    async chat(request, signal): Promise<ChatResult> {
      try {
        const completion = await client.chat.completions.create({ ...body(request), stream: false }, { signal });
        const choice = completion.choices[0];
        return {
          text: choice?.message.content ?? '',
          finishReason: choice?.finish_reason ?? 'stop',
          usage: usageFromOpenAI(completion.usage ?? {}),
          model: completion.model,
        };
      } catch (error) {
        throw toProviderError(id, error);
      }
    },
    async moderate(text, signal) {
      try {
        const response = await client.moderations.create({ model: options.moderationModel, input: text }, signal ? { signal } : {});
        const result = response.results[0];
        if (!result) throw new Error('the moderation answer has no result');
        return {
          flagged: result.flagged,
          categories: { ...result.categories } as Record<string, boolean>,
          scores: { ...result.category_scores } as Record<string, number>,
        };
      } catch (error) {
        throw toProviderError(id, error);
      }
    },
    async *stream(request, signal): AsyncGenerator<ChatStreamEvent> {
      let finishReason: string | undefined;
      let model: string | undefined;
      let usage: TokenUsage | undefined;
      try {
        const stream = await client.chat.completions.create({ ...body(request), stream: true, stream_options: { include_usage: true } }, { signal });
        for await (const chunk of stream) {
          model ??= chunk.model;
          if (chunk.usage) usage = usageFromOpenAI(chunk.usage);
          const choice = chunk.choices[0];
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          const text = choice?.delta?.content;
          if (text) yield { type: 'text', text };
        }
      } catch (error) {
        throw toProviderError(id, error);
      }
      // A stream that stops without a finish reason was cut, however cleanly the connection closed.
      if (finishReason === undefined) throw toProviderError(id, new Error('the stream ended without a finish_reason'));
      yield { type: 'end', finishReason, ...(usage ? { usage } : {}), ...(model ? { model } : {}) };
    },
  };
}

export default definePlugin({
  name: '@modelplane/provider-openai',
  version: VERSION,
  apiVersion: '^1',
  description: 'OpenAI and OpenAI-compatible chat models (official openai SDK)',
  optionsSchema: ProviderOpenAIOptions,
  setup(ctx) {
    ctx.register.provider(createOpenAIProvider(ctx.options));
  },
});
