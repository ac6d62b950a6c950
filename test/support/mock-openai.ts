/**
 * A local stand-in for the OpenAI API that speaks its real wire format: `POST /v1/chat/completions`
 * (JSON, or SSE `chat.completion.chunk` events ending in `data: [DONE]`, with the usage chunk when
 * `stream_options.include_usage` is set), `GET /v1/models`, `POST /v1/moderations`, and the
 * `{"error":{"message","type","param","code"}}` error body. Faults are scripted per request.
 *
 * Replies are deterministic: by default the model answers `Echo: <last user message>`, and a token is a
 * whitespace-separated word (`countTokens`), so tests can compute every usage figure by hand.
 *
 * This module also holds what the Anthropic mock shares with it: the token rule, the reply script and
 * the server scaffolding (recording, fault timing, socket cuts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSse } from './sse.ts';

// ---------------------------------------------------------------------------------------------------------
// Shared by both mocks
// ---------------------------------------------------------------------------------------------------------

/** The mocks' tokenizer: one token per whitespace-separated word. */
export function countTokens(text: string): number {
  const words = text.trim();
  return words === '' ? 0 : words.split(/\s+/).length;
}

/** The reply text cut into streamed tokens: each word with the whitespace before it; joined they give the text back. */
export function tokenPieces(text: string): string[] {
  const pieces = text.match(/\s*\S+/g) ?? [];
  const trailing = /\s+$/.exec(text);
  if (trailing !== null && pieces.length > 0) pieces[pieces.length - 1] += trailing[0];
  return pieces;
}

/** Text of a message `content`: a string, or an array of parts of which the `text` ones count. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
      .filter((t) => t !== '')
      .join(' ');
  }
  return '';
}

/** What one request gets. Everything optional: an empty reply is the default echo. */
export interface MockReply {
  /** The assistant's text; default `Echo: <last user message>`. */
  text?: string;
  /** An error status (400, 401, 404, 429, 500, 503, 529 …): the provider's error body instead of a reply. */
  status?: number;
  /** Error details; the provider's usual ones for the status when absent. */
  message?: string;
  errorType?: string;
  code?: string | null;
  param?: string | null;
  /** `Retry-After`, in seconds (or an HTTP date). */
  retryAfter?: number | string;
  /** `retry-after-ms`, which both official clients honour to the millisecond: keeps retry tests fast. */
  retryAfterMs?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Wait this long before the first byte (the status line). */
  delayMs?: number;
  /** Wait this long between streamed tokens. */
  tokenDelayMs?: number;
  /** Destroy the socket after this many tokens: mid-stream for a stream, mid-body for JSON. */
  cutAfterTokens?: number;
  /**
   * Streams only: after this many tokens send the provider's in-stream error (OpenAI: a `data:` line with
   * an `error` object, server_error by default; Anthropic: `event: error`, overloaded_error by default)
   * and end the response.
   */
  errorAfterTokens?: number;
  /** Close the connection without any response. */
  drop?: boolean;
  /** Prompt tokens served from the cache (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`). */
  cachedTokens?: number;
  /** Anthropic `cache_creation_input_tokens`. */
  cacheWriteTokens?: number;
  /** Hidden reasoning tokens, counted in the output tokens on top of the visible ones. */
  reasoningTokens?: number;
  /** Overrides the finish (stop) reason. */
  finishReason?: string;
}

export type RequestOutcome = 'pending' | 'completed' | 'error-status' | 'stream-error' | 'cut' | 'dropped' | 'client-closed';

export interface RecordedRequest {
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  receivedAt: number;
  /** How the mock's answer ended; `client-closed` when the caller went away first. */
  outcome: RequestOutcome;
  /** Tokens written before the answer ended (streams). */
  tokensSent: number;
}

export type ReplyFunction = (body: Record<string, unknown>, request: RecordedRequest) => MockReply | undefined;

export interface MockOptions {
  /** When set, requests must carry this key (`Authorization: Bearer …` / `x-api-key`). */
  apiKey?: string;
  /** Model ids for the models endpoint; with `strictModels`, the only ones chat accepts. */
  models?: string[];
  strictModels?: boolean;
  /** Computes a reply for requests the script does not cover. */
  reply?: ReplyFunction;
}

export interface MockUpstream {
  /** The client's `baseURL`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Scripts the next replies, one per generation request, first in first out. */
  enqueue(...replies: MockReply[]): void;
  /** Scripts the next replies for requests naming this model; taken before the general script (fallback tests). */
  enqueueFor(model: string, ...replies: MockReply[]): void;
  /** Bodies of the generation requests (what the upstream saw: assert masking here). */
  generationBodies(): Record<string, unknown>[];
  /** Forgets requests and the script. */
  reset(): void;
  close(): Promise<void>;
}

/** The scripted replies: one queue for any request, one per model. */
export interface Script {
  readonly any: MockReply[];
  readonly byModel: Map<string, MockReply[]>;
}

/**
 * Which reply applies: the `x-mock-reply` header (JSON), then the script for the request's model, then
 * the general script, then the reply function, then the echo.
 */
export function chooseReply(
  req: IncomingMessage,
  script: Script,
  body: Record<string, unknown>,
  record: RecordedRequest,
  reply: ReplyFunction | undefined,
): MockReply {
  const header = req.headers['x-mock-reply'];
  if (typeof header === 'string') return JSON.parse(header) as MockReply;
  const forModel = typeof body.model === 'string' ? script.byModel.get(body.model)?.shift() : undefined;
  return forModel ?? script.any.shift() ?? reply?.(body, record) ?? {};
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Waits, unless the client leaves first; true when it is still there. */
export async function pause(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (ms === undefined || ms <= 0) return !signal.aborted;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Cuts the connection the way a crashed upstream or a proxy timeout does: no more bytes, no clean end. */
export function cut(exchange: Exchange, outcome: RequestOutcome): void {
  exchange.record.outcome = outcome;
  exchange.res.socket?.destroy();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes the head of a JSON reply and part of its body, then cuts: a response truncated in flight. */
export function sendTruncatedJson(exchange: Exchange, body: unknown, fraction: number, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  exchange.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  exchange.res.write(text.slice(0, Math.max(1, Math.floor(text.length * fraction))), () => cut(exchange, 'cut'));
}

export function retryHeaders(reply: MockReply): Record<string, string> {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter);
  if (reply.retryAfterMs !== undefined) headers['retry-after-ms'] = String(reply.retryAfterMs);
  return headers;
}

export function requestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

/**
 * The server both mocks run on: 127.0.0.1, a free port, every request recorded with its parsed body,
 * every socket tracked so `close()` returns at once even with streams in flight.
 */
export async function startMockServer(
  basePath: string,
  handle: (exchange: Exchange, script: Script) => Promise<void>,
  isGeneration: (path: string) => boolean,
): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const script: Script = { any: [], byModel: new Map() };
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: { ...req.headers },
      body,
      receivedAt: Date.now(),
      outcome: 'pending',
      tokensSent: 0,
    };
    requests.push(record);
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        if (record.outcome === 'pending') record.outcome = 'client-closed';
        controller.abort();
      }
    });
    res.socket?.setNoDelay(true);
    try {
      await handle({ req, res, record, signal: controller.signal }, script);
      if (record.outcome === 'pending') record.outcome = res.statusCode >= 400 ? 'error-status' : 'completed';
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `mock failure: ${(error as Error).message}` } });
      else res.destroy();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${basePath}`,
    origin,
    port,
    requests,
    enqueue: (...replies) => script.any.push(...replies),
    enqueueFor(model, ...replies) {
      const queue = script.byModel.get(model) ?? [];
      queue.push(...replies);
      script.byModel.set(model, queue);
    },
    generationBodies: () =>
      requests.filter((r) => r.method === 'POST' && isGeneration(r.path.split('?')[0]!)).map((r) => r.body as Record<string, unknown>),
    reset() {
      requests.length = 0;
      script.any.length = 0;
      script.byModel.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------------------------------------

export const OPENAI_DEFAULT_MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'text-embedding-3-small', 'omni-moderation-latest'];

/** OpenAI's usual error for a status, overridable field by field from the reply. */
export function openAIError(status: number, reply: MockReply = {}, model = 'gpt-4o'): { error: { message: string; type: string; param: string | null; code: string | null } } {
  const defaults: Record<number, { message: string; type: string; code: string | null }> = {
    400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
    401: {
      message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
      type: 'invalid_request_error',
      code: 'invalid_api_key',
    },
    403: { message: 'You are not allowed to sample from this model', type: 'invalid_request_error', code: null },
    404: { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' },
    429: {
      message: `Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.`,
      type: 'requests',
      code: 'rate_limit_exceeded',
    },
    500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
    503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
  };
  const base = defaults[status] ?? { message: `HTTP ${status}`, type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null };
  return {
    error: {
      message: reply.message ?? base.message,
      type: reply.errorType ?? base.type,
      param: reply.param ?? null,
      code: reply.code === undefined ? base.code : reply.code,
    },
  };
}

/** The usage object OpenAI reports for a reply (`prompt_tokens` includes the cached ones, `completion_tokens` the reasoning). */
export function openAIUsage(promptTokens: number, visibleTokens: number, reply: MockReply) {
  const reasoning = reply.reasoningTokens ?? 0;
  const completion = visibleTokens + reasoning;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: reply.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** Prompt tokens of a chat request: every message's text, by the word rule. */
export function openAIPromptTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  return messages.reduce((n, m) => n + countTokens(contentText(m.content)), 0);
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role === 'user') return contentText(m.content);
  }
  return '';
}

export function echoText(messages: unknown): string {
  const last = lastUserText(messages);
  return last === '' ? 'Hello from the mock upstream.' : `Echo: ${last}`;
}

/** Moderation categories of the omni-moderation model, and the words that trip each in the mock. */
export const MODERATION_WORDS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  harassment: ['idiot', 'loser'],
  'harassment/threatening': ['i will find you'],
  hate: ['vermin'],
  'hate/threatening': [],
  illicit: ['launder money', 'counterfeit'],
  'illicit/violent': ['build a bomb'],
  'self-harm': ['hurt myself'],
  'self-harm/intent': ['want to die'],
  'self-harm/instructions': [],
  sexual: ['explicit sex'],
  'sexual/minors': [],
  violence: ['kill', 'hurt you', 'attack'],
  'violence/graphic': ['gore'],
});

export function moderationResult(text: string) {
  const lower = text.toLowerCase();
  const categories: Record<string, boolean> = {};
  const scores: Record<string, number> = {};
  const applied: Record<string, string[]> = {};
  for (const [category, words] of Object.entries(MODERATION_WORDS)) {
    const hit = words.some((w) => lower.includes(w));
    categories[category] = hit;
    scores[category] = hit ? 0.97 : 0.0001;
    applied[category] = ['text'];
  }
  return { flagged: Object.values(categories).some(Boolean), categories, category_scores: scores, category_applied_input_types: applied };
}

export type MockOpenAI = MockUpstream;

export async function startMockOpenAI(options: MockOptions = {}): Promise<MockOpenAI> {
  const models = options.models ?? OPENAI_DEFAULT_MODELS;
  let counter = 0;
  return startMockServer(
    '/v1',
    async (exchange, script) => {
      const { req, res, record } = exchange;
      const path = (req.url ?? '/').split('?')[0]!;
      const headers = { 'x-request-id': requestId(), 'openai-processing-ms': '1' };
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        sendJson(res, 401, openAIError(401), headers);
        return;
      }
      if (req.method === 'GET' && path === '/v1/models') {
        sendJson(res, 200, { object: 'list', data: models.map(modelObject) }, headers);
        return;
      }
      if (req.method === 'GET' && path.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        if (models.includes(id)) sendJson(res, 200, modelObject(id), headers);
        else sendJson(res, 404, openAIError(404, { message: `The model '${id}' does not exist`, code: 'model_not_found' }, id), headers);
        return;
      }
      if (req.method === 'POST' && path === '/v1/moderations') {
        const body = (record.body ?? {}) as { input?: unknown; model?: string };
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        sendJson(
          res,
          200,
          { id: `modr-${++counter}`, model: body.model ?? 'omni-moderation-latest', results: inputs.map((i) => moderationResult(contentText(i) || String(i ?? ''))) },
          headers,
        );
        return;
      }
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        await chatCompletion(exchange, script, headers, `chatcmpl-mock${++counter}`);
        return;
      }
      sendJson(res, 404, openAIError(404, { message: `Invalid URL (${req.method} ${path})`, code: null }), headers);
    },
    (path) => path === '/v1/chat/completions',
  );

  function modelObject(id: string) {
    return { id, object: 'model', created: 1_715_367_049, owned_by: 'system' };
  }

  async function chatCompletion(exchange: Exchange, script: Script, headers: Record<string, string>, id: string): Promise<void> {
    const { req, res, record, signal } = exchange;
    const body = record.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      sendJson(res, 400, openAIError(400, { message: 'We could not parse the JSON body of your request.' }), headers);
      return;
    }
    const request = body as Record<string, unknown>;
    const model = typeof request.model === 'string' ? request.model : undefined;
    if (model === undefined) {
      sendJson(res, 400, openAIError(400, { message: 'you must provide a model parameter', param: 'model' }), headers);
      return;
    }
    if (!Array.isArray(request.messages) || request.messages.length === 0) {
      sendJson(res, 400, openAIError(400, { message: "Invalid 'messages': empty array. Expected an array with minimum length 1.", param: 'messages' }), headers);
      return;
    }
    if (options.strictModels === true && !models.includes(model)) {
      sendJson(res, 404, openAIError(404, {}, model), headers);
      return;
    }
    const reply = chooseReply(req, script, request, record, options.reply);
    if (!(await pause(reply.delayMs, signal))) return;
    if (reply.drop === true) {
      cut(exchange, 'dropped');
      return;
    }
    if (reply.status !== undefined && reply.status >= 400) {
      sendJson(res, reply.status, openAIError(reply.status, reply, model), { ...headers, ...retryHeaders(reply) });
      return;
    }
    const maxTokens = numberOr(request.max_completion_tokens, numberOr(request.max_tokens, Number.POSITIVE_INFINITY));
    const allPieces = tokenPieces(reply.text ?? echoText(request.messages));
    const pieces = allPieces.slice(0, maxTokens);
    const finishReason = reply.finishReason ?? (pieces.length < allPieces.length ? 'length' : 'stop');
    const usage = openAIUsage(openAIPromptTokens(request), pieces.length, reply);
    const created = Math.floor(Date.now() / 1000);
    const common = { id, created, model, system_fingerprint: 'fp_mock', service_tier: 'default' };
    const responseHeaders = { ...headers, ...reply.headers };

    if (request.stream !== true) {
      const completion = {
        ...common,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: pieces.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: finishReason }],
        usage,
      };
      if (reply.cutAfterTokens !== undefined) sendTruncatedJson(exchange, completion, 0.5, responseHeaders);
      else sendJson(res, 200, completion, responseHeaders);
      return;
    }

    const includeUsage = (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      JSON.stringify({ ...common, object: 'chat.completion.chunk', choices, ...(includeUsage ? { usage: null } : {}), ...extra });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...responseHeaders });
    await writeSse(res, { data: chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]) });
    for (const piece of pieces) {
      if (record.tokensSent === reply.cutAfterTokens) {
        cut(exchange, 'cut');
        return;
      }
      if (record.tokensSent === reply.errorAfterTokens) {
        record.outcome = 'stream-error';
        await writeSse(res, { data: JSON.stringify(openAIError(500, reply, model)) });
        res.end();
        return;
      }
      if (record.tokensSent > 0 && !(await pause(reply.tokenDelayMs, signal))) return;
      if (signal.aborted) return;
      await writeSse(res, { data: chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]) });
      record.tokensSent++;
    }
    if (record.tokensSent === reply.cutAfterTokens) {
      cut(exchange, 'cut');
      return;
    }
    await writeSse(res, { data: chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]) });
    if (includeUsage) await writeSse(res, { data: chunk([], { usage }) });
    await writeSse(res, { data: '[DONE]' });
    res.end();
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
