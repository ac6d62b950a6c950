/**
 * The Anthropic mock, driven by the official `@anthropic-ai/sdk` client, plus raw reads of the SSE
 * sequence (the client hides `ping`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MockAnthropic, startMockAnthropic } from '../support/mock-anthropic.ts';
import { readSse, type SseEvent } from '../support/sse.ts';

let mock: MockAnthropic;
let client: Anthropic;

beforeAll(async () => {
  mock = await startMockAnthropic({ apiKey: 'sk-ant-test' });
  client = new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 });
});
afterEach(() => mock.reset());
afterAll(() => mock.close());

const request = {
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  system: 'You are terse.',
  messages: [{ role: 'user' as const, content: 'Say hello to the mock' }],
};
// System 3 words + user 5 words; the echo "Echo: Say hello to the mock" is 6 words.
const PROMPT = 8;
const ECHO = 'Echo: Say hello to the mock';

async function rawStream(body: Record<string, unknown>): Promise<SseEvent[]> {
  const response = await fetch(`${mock.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events: SseEvent[] = [];
  for await (const event of readSse(response.body!)) events.push(event);
  return events;
}

describe('messages, not streamed', () => {
  it('answers in the message format with usage', async () => {
    const message = await client.messages.create(request);
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: ECHO }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.usage).toMatchObject({ input_tokens: PROMPT, output_tokens: 6, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('splits cache reads and writes out of input_tokens', async () => {
    mock.enqueue({ text: 'cached answer', cachedTokens: 3, cacheWriteTokens: 2 });
    const { usage } = await client.messages.create(request);
    expect(usage).toMatchObject({ input_tokens: 3, cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: 2 });
  });

  it('stops at max_tokens', async () => {
    const message = await client.messages.create({ ...request, max_tokens: 2 });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: Say' }]);
    expect(message.stop_reason).toBe('max_tokens');
  });

  it('records the body the upstream saw, and the headers the client sent', async () => {
    await client.messages.create(request);
    expect(mock.generationBodies()).toEqual([request]);
    expect(mock.requests[0]?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // SDK 1.x sends the key as a bearer token; older clients and raw callers use x-api-key (see rawStream).
    expect(mock.requests[0]?.headers.authorization).toBe('Bearer sk-ant-test');
  });

  it('refuses sampling parameters on API version 2026-10-21, as that version does, and takes them on 2023-06-01', async () => {
    const error = await client.messages.create({ ...request, temperature: 0.2 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { type: 'invalid_request_error' } });
    const old = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...request, temperature: 0.2 }),
    });
    expect(old.status).toBe(200);
  });

  it('counts tokens by the same rule', async () => {
    expect(await client.messages.countTokens({ model: request.model, system: request.system, messages: request.messages })).toEqual({
      input_tokens: PROMPT,
    });
  });

  it('lists models', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1']);
  });
});

describe('messages, streamed', () => {
  it('sends the documented event sequence, ping included', async () => {
    const events = await rawStream(request);
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array(6).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    const start = JSON.parse(events[0]!.data);
    expect(start.message).toMatchObject({ role: 'assistant', content: [], stop_reason: null, usage: { input_tokens: PROMPT, output_tokens: 1 } });
    expect(JSON.parse(events[3]!.data)).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Echo:' } });
    expect(JSON.parse(events.at(-2)!.data)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 6 },
    });
  });

  it('the client assembles the message and its usage', async () => {
    mock.enqueue({ text: 'streamed reply here', cachedTokens: 5 });
    const stream = client.messages.stream(request);
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const message = await stream.finalMessage();
    expect(texts).toEqual(['streamed', ' reply', ' here']);
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: 'streamed reply here' })]);
    expect(message.usage).toMatchObject({ input_tokens: 3, cache_read_input_tokens: 5, output_tokens: 3 });
    expect(message.stop_reason).toBe('end_turn');
  });

  it('raw events through the client, as create({ stream: true }) gives them', async () => {
    const stream = await client.messages.create({ ...request, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types).not.toContain('ping');
  });
});

describe('faults', () => {
  it('429 with retry-after and the Anthropic error body', async () => {
    mock.enqueue({ status: 429, retryAfter: 12 });
    const error = (await client.messages.create(request).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.headers?.get('retry-after')).toBe('12');
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    expect(error.requestID).toMatch(/^req_/);
  });

  it('the client retries after retry-after-ms', async () => {
    const retrying = new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 1 });
    mock.enqueue({ status: 529, retryAfterMs: 30 }, { text: 'recovered' });
    const message = await retrying.messages.create(request);
    expect(message.content[0]).toMatchObject({ text: 'recovered' });
    expect(mock.requests.map((r) => r.outcome)).toEqual(['error-status', 'completed']);
  });

  it.each([
    [500, 'api_error'],
    [529, 'overloaded_error'],
    [503, 'api_error'],
  ])('%i is %s', async (status, type) => {
    mock.enqueue({ status });
    const error = (await client.messages.create(request).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error.status).toBe(status);
    expect(error.error).toMatchObject({ type: 'error', error: { type } });
  });

  it('an error event mid-stream throws in the client after the tokens before it', async () => {
    mock.enqueue({ text: 'one two three four', errorAfterTokens: 2 });
    const stream = await client.messages.create({ ...request, stream: true });
    const texts: string[] = [];
    const error = await (async () => {
      for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') texts.push(event.delta.text);
    })().catch((e: unknown) => e);
    expect(texts).toEqual(['one', ' two']);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(mock.requests[0]?.outcome).toBe('stream-error');
  });

  it('the raw error event is `event: error` with the error body', async () => {
    mock.enqueue({ errorAfterTokens: 0, errorType: 'api_error', message: 'boom' });
    const events = await rawStream(request);
    expect(events.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'ping', 'error']);
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ type: 'error', error: { type: 'api_error', message: 'boom' } });
  });

  it('a stream cut after N tokens ends in an error, never a message_stop', async () => {
    mock.enqueue({ text: 'a b c d e', cutAfterTokens: 2 });
    const stream = client.messages.stream(request);
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(texts).toEqual(['a', ' b']);
    expect(error).toBeInstanceOf(Error);
    expect(mock.requests[0]).toMatchObject({ outcome: 'cut', tokensSent: 2 });
  });

  it('a slow first byte', async () => {
    mock.enqueue({ delayMs: 120 });
    const started = Date.now();
    await client.messages.create(request);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('requires anthropic-version and the key, as the real API does', async () => {
    const noVersion = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test', 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
    const stranger = new Anthropic({ baseURL: mock.url, apiKey: 'nope', maxRetries: 0 });
    await expect(stranger.messages.create(request)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('a missing max_tokens is a 400 naming the field', async () => {
    const response = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [] }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('max_tokens: Field required');
  });
});
