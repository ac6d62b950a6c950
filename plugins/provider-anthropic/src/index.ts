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
import Anthropic from '@anthropic-ai/sdk';

const VERSION = '0.1.0';

export const ProviderAnthropicOptions = z
  .object({
    id: z.string().min(1).default('anthropic'),
    apiKey: z.string().min(1).optional().describe('defaults to ANTHROPIC_API_KEY'),
    baseURL: z.url().optional(),
    timeoutMs: z.int().positive().default(60_000),
  })
  .strict();

type Usage = {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
};

/**
 * Anthropic reports cache reads and writes apart from `input_tokens`; our convention (OpenAI's) counts every
 * prompt token in `inputTokens`, so they are added back before pricing, each to be priced at its own rate.
 */
export function usageFromAnthropic(usage: Usage): TokenUsage {
  const cached = usage.cache_read_input_tokens ?? 0;
  const written = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + cached + written,
    outputTokens: usage.output_tokens ?? 0,
    ...(cached > 0 ? { cachedInputTokens: cached } : {}),
    ...(written > 0 ? { cacheWriteInputTokens: written } : {}),
  };
}

const FINISH: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter' };

/**
 * The Messages API takes the system prompt apart from the turns, and only user/assistant turns. Sampling
 * parameters (temperature, top_p) are not sent: the API version the current SDK speaks refuses them.
 */
function body(request: ChatRequest) {
  const system = request.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.content);
  const turns = request.messages
    .filter((m) => m.role !== 'system' && m.role !== 'developer')
    .map((m) => ({ role: m.role === 'assistant' ? ('assistant' as const) : ('user' as const), content: m.content }));
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    messages: turns,
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    ...(request.stop === undefined ? {} : { stop_sequences: [...request.stop] }),
    ...(request.user === undefined ? {} : { metadata: { user_id: request.user } }),
  };
}

export function createAnthropicProvider(options: z.output<typeof ProviderAnthropicOptions>): ChatProvider {
  const id = options.id;
  const client = new Anthropic({
    fetch: providerFetch(),
    apiKey: options.apiKey ?? process.env.ANTHROPIC_API_KEY ?? 'unset',
    maxRetries: 0,
    timeout: options.timeoutMs,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
  });
  return {
    id,
    description: `Anthropic Messages API at ${options.baseURL ?? 'https://api.anthropic.com'}`,
    async chat(request, signal): Promise<ChatResult> {
      try {
        const message = await client.messages.create({ ...body(request), stream: false }, { signal });
        const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
        return { text, finishReason: FINISH[message.stop_reason ?? 'end_turn'] ?? 'stop', usage: usageFromAnthropic(message.usage), model: message.model };
      } catch (error) {
        throw toProviderError(id, error);
      }
    },
    async *stream(request, signal): AsyncGenerator<ChatStreamEvent> {
      let finishReason = 'stop';
      let model: string | undefined;
      let usage: Usage = {};
      let complete = false;
      try {
        const stream = await client.messages.create({ ...body(request), stream: true }, { signal });
        for await (const event of stream) {
          if (event.type === 'message_start') {
            model = event.message.model;
            usage = { ...event.message.usage };
          } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
            yield { type: 'text', text: event.delta.text };
          } else if (event.type === 'message_delta') {
            finishReason = FINISH[event.delta.stop_reason ?? 'end_turn'] ?? 'stop';
            // message_delta's usage is cumulative for output; input figures repeat or are absent.
            usage = { ...usage, ...Object.fromEntries(Object.entries(event.usage).filter(([, v]) => v !== null && v !== undefined)) };
          } else if (event.type === 'message_stop') {
            complete = true;
          }
        }
      } catch (error) {
        throw toProviderError(id, error);
      }
      if (!complete) throw toProviderError(id, new Error('the stream ended before message_stop'));
      yield { type: 'end', finishReason, usage: usageFromAnthropic(usage), ...(model ? { model } : {}) };
    },
  };
}

export default definePlugin({
  name: '@modelplane/provider-anthropic',
  version: VERSION,
  apiVersion: '^1',
  description: 'Anthropic Claude chat models (official @anthropic-ai/sdk)',
  optionsSchema: ProviderAnthropicOptions,
  setup(ctx) {
    ctx.register.provider(createAnthropicProvider(ctx.options));
  },
});
