/**
 * The OpenAI mock, driven by the official `openai` client: if the client parses it, the wire format is
 * right. Raw fetches check what the client hides (usage: null on every chunk, the [DONE] line).
 */
import { piiGuard } from '@modelplane/guard-pii';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, type MockOpenAI, startMockOpenAI } from '../support/mock-openai.ts';
import { parseSse } from '../support/sse.ts';

let mock: MockOpenAI;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockOpenAI({ apiKey: 'sk-test' });
  client = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterEach(() => mock.reset());
afterAll(() => mock.close());

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to the mock' },
];
// 3 + 5 words; the echo is "Echo: Say hello to the mock", 6 words.
const PROMPT = 8;
const ECHO = 'Echo: Say hello to the mock';

describe('chat completions, not streamed', () => {
  it('answers in the chat.completion format with usage', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: ECHO });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({
      prompt_tokens: PROMPT,
      completion_tokens: 6,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(countTokens(ECHO)).toBe(6);
  });

  it('reports scripted cached and reasoning tokens inside prompt and completion counts', async () => {
    mock.enqueue({ text: 'forty two', cachedTokens: 5, reasoningTokens: 30 });
    const { usage, choices } = await client.chat.completions.create({ model: 'o3-mini', messages });
    expect(choices[0]?.message.content).toBe('forty two');
    expect(usage?.prompt_tokens).toBe(PROMPT);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(5);
    expect(usage?.completion_tokens).toBe(32);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(30);
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 3 });
    expect(completion.choices[0]?.message.content).toBe('Echo: Say hello');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(3);
  });

  it('records every request body as the upstream saw it', async () => {
    await client.chat.completions.create({ model: 'gpt-4o', messages, temperature: 0.2 });
    expect(mock.generationBodies()).toEqual([{ model: 'gpt-4o', messages, temperature: 0.2 }]);
    expect(mock.requests[0]?.headers.authorization).toBe('Bearer sk-test');
    expect(mock.requests[0]?.outcome).toBe('completed');
  });

  it('records what a guard in front of it let through: the masked prompt, never the original', async () => {
    const verdict = await piiGuard().pre!({ text: 'My card is 4111 1111 1111 1111, mail me at jane@example.com' });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: verdict.redacted! }] });
    const seen = JSON.stringify(mock.generationBodies());
    expect(seen).toContain('My card is [CARD], mail me at [EMAIL]');
    expect(seen).not.toContain('4111');
    expect(seen).not.toContain('jane@');
  });

  it('a reply can be chosen per request with the x-mock-reply header', async () => {
    const completion = await client.chat.completions.create(
      { model: 'gpt-4o', messages },
      { headers: { 'x-mock-reply': JSON.stringify({ text: 'from the header' }) } },
    );
    expect(completion.choices[0]?.message.content).toBe('from the header');
  });
});

describe('chat completions, streamed', () => {
  it('sends chat.completion.chunk events, then a usage chunk when asked, then [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(ECHO);
    const finish = chunks.at(-2);
    expect(finish?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 6, total_tokens: 14 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks).toHaveLength(1 + 6 + 1 + 1);
  });

  it('without include_usage there is no usage chunk and no usage field', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('is an SSE body of data lines ending in [DONE]', async () => {
    const response = await fetch(`${mock.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const raw = await response.text();
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = parseSse(raw);
    expect(events.every((e) => e.event === undefined)).toBe(true);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!.data)).toMatchObject({ choices: [], usage: { prompt_tokens: PROMPT } });
  });

  it('the final chunk reports usage with cached and reasoning tokens', async () => {
    mock.enqueue({ text: 'ok then', cachedTokens: 4, reasoningTokens: 10 });
    const stream = await client.chat.completions.create({ model: 'o3-mini', messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(4);
    expect(usage?.completion_tokens).toBe(12);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(10);
  });
});

describe('faults', () => {
  it('429 with Retry-After and the OpenAI error body', async () => {
    mock.enqueue({ status: 429, retryAfter: 7 });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers.get('retry-after')).toBe('7');
    expect(e.code).toBe('rate_limit_exceeded');
    expect(e.type).toBe('requests');
    expect(e.error).toEqual({ message: expect.stringMatching(/^Rate limit reached for gpt-4o/), type: 'requests', param: null, code: 'rate_limit_exceeded' });
    expect(e.requestID).toMatch(/^req_/);
  });

  it('the client retries a 429 after retry-after-ms and then succeeds', async () => {
    const retrying = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 1 });
    mock.enqueue({ status: 429, retryAfterMs: 50 }, { text: 'second time lucky' });
    const started = Date.now();
    const completion = await retrying.chat.completions.create({ model: 'gpt-4o', messages });
    expect(completion.choices[0]?.message.content).toBe('second time lucky');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(mock.requests.map((r) => r.outcome)).toEqual(['error-status', 'completed']);
  });

  it('scripts per model, ahead of the general script: one model rate-limited, the other fine', async () => {
    mock.enqueueFor('gpt-4o', { status: 429, retryAfter: 1 });
    mock.enqueue({ text: 'general' });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const fallback = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(fallback.choices[0]?.message.content).toBe('general');
    const again = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(again.choices[0]?.message.content).toBe(ECHO);
  });

  it.each([500, 503])('%i is a server error with the OpenAI body', async (status) => {
    mock.enqueue({ status });
    const error = (await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.InternalServerError
    >;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(status);
    expect(error.type).toBe('server_error');
  });

  it('a streamed request can fail before its first byte too', async () => {
    mock.enqueue({ status: 503 });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }).catch((e: unknown) => e);
    expect((error as { status?: number }).status).toBe(503);
  });

  it('a slow first byte: the reply waits, and a short client timeout gives up', async () => {
    mock.enqueue({ delayMs: 150 });
    const started = Date.now();
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    mock.enqueue({ delayMs: 2000 });
    const impatient = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0, timeout: 100 });
    const error = await impatient.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await expect.poll(() => mock.requests.at(-1)?.outcome).toBe('client-closed');
  });

  it('slow tokens arrive spaced out', async () => {
    mock.enqueue({ text: 'one two three', tokenDelayMs: 40 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const times: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) times.push(Date.now());
    expect(times).toHaveLength(3);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(70);
  });

  it('a stream cut after N tokens: the client gets N tokens, then an error, never a clean end', async () => {
    mock.enqueue({ text: 'one two three four five six', cutAfterTokens: 3 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) received.push(chunk.choices[0].delta.content);
    })().catch((e: unknown) => e);
    expect(received).toEqual(['one', ' two', ' three']);
    expect(error).toBeInstanceOf(Error);
    expect(mock.requests[0]).toMatchObject({ outcome: 'cut', tokensSent: 3 });
  });

  it('a JSON reply cut mid-body is an error', async () => {
    mock.enqueue({ cutAfterTokens: 1 });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(mock.requests[0]?.outcome).toBe('cut');
  });

  it('a dropped connection is a connection error', async () => {
    mock.enqueue({ drop: true });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('an error in the middle of a stream reaches the client as an APIError', async () => {
    mock.enqueue({ text: 'a b c d', errorAfterTokens: 2, message: 'upstream fell over' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) received.push(chunk.choices[0].delta.content);
    })().catch((e: unknown) => e);
    expect(received).toEqual(['a', ' b']);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain('upstream fell over');
  });

  it('a wrong key is a 401 AuthenticationError', async () => {
    const stranger = new OpenAI({ baseURL: mock.url, apiKey: 'sk-wrong', maxRetries: 0 });
    const error = await stranger.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as { code?: string }).code).toBe('invalid_api_key');
  });

  it('bad requests are 400s naming the parameter', async () => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as { param?: string }).param).toBe('messages');
  });
});

describe('models and moderations', () => {
  it('lists models and reads one', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
    expect((await client.models.retrieve('gpt-4o')).owned_by).toBe('system');
    await expect(client.models.retrieve('gpt-9')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('unknown models are a 404 model_not_found when the mock is strict', async () => {
    const strict = await startMockOpenAI({ strictModels: true, models: ['gpt-4o'] });
    try {
      const error = await new OpenAI({ baseURL: strict.url, apiKey: 'x', maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-5-ultra', messages })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as { code?: string }).code).toBe('model_not_found');
    } finally {
      await strict.close();
    }
  });

  it('moderates by a word list, in the omni-moderation format', async () => {
    const result = await client.moderations.create({ model: 'omni-moderation-latest', input: ['I will hurt you', 'Have a nice day'] });
    expect(result.model).toBe('omni-moderation-latest');
    const [bad, good] = result.results;
    expect(bad?.flagged).toBe(true);
    expect(bad?.categories.violence).toBe(true);
    expect(bad?.category_scores.violence).toBe(0.97);
    expect(bad?.category_applied_input_types.violence).toEqual(['text']);
    expect(good?.flagged).toBe(false);
  });
});
