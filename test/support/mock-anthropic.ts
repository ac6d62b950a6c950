/**
 * A local stand-in for the Anthropic API in its real wire format: `POST /v1/messages` (JSON, or the SSE
 * sequence message_start → content_block_start → ping → content_block_delta… → content_block_stop →
 * message_delta → message_stop, with `event: error` for failures mid-stream), `POST
 * /v1/messages/count_tokens`, `GET /v1/models`, and the `{"type":"error","error":{"type","message"}}` body.
 * It insists on the `anthropic-version` header, as the real API does, takes the key either way the API
 * does (`x-api-key`, or `Authorization: Bearer` which SDK 1.x sends), and on version 2026-10-21 or later
 * refuses `temperature`, `top_p` and `top_k` with a 400 as that version does (the message text is the
 * mock's own).
 *
 * The token rule, the reply script and the fault options are the OpenAI mock's (see mock-openai.ts).
 * Anthropic counts cache reads and writes apart from `input_tokens`: with `cachedTokens: 10` on a
 * 30-word prompt the usage reads `input_tokens: 20, cache_read_input_tokens: 10`.
 */
import {
  chooseReply,
  contentText,
  countTokens,
  cut,
  type Exchange,
  type MockOptions,
  type MockReply,
  type MockUpstream,
  pause,
  type Script,
  requestId,
  retryHeaders,
  sendJson,
  sendTruncatedJson,
  startMockServer,
  tokenPieces,
} from './mock-openai.ts';
import { writeSse } from './sse.ts';

/** The API version from which the sampling parameters are refused. */
export const SAMPLING_REMOVED_IN = '2026-10-21';

export const ANTHROPIC_DEFAULT_MODELS = ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'];

const ERROR_TYPES: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Invalid request' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'The requested resource could not be found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit.' },
  500: { type: 'api_error', message: 'Internal server error' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

/** Anthropic's error body for a status, fields overridable from the reply. */
export function anthropicError(status: number, reply: MockReply = {}, id = requestId()) {
  const base = ERROR_TYPES[status] ?? { type: status >= 500 ? 'api_error' : 'invalid_request_error', message: `HTTP ${status}` };
  return { type: 'error', error: { type: reply.errorType ?? base.type, message: reply.message ?? base.message }, request_id: id };
}

/** Prompt words: the system prompt (string or text blocks) and every message. */
export function anthropicPromptTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  return countTokens(contentText(body.system)) + messages.reduce((n, m) => n + countTokens(contentText(m.content)), 0);
}

/** How Anthropic splits the prompt: `input_tokens` excludes what was read from or written to the cache. */
export function anthropicUsage(promptTokens: number, outputTokens: number, reply: MockReply) {
  const cacheRead = reply.cachedTokens ?? 0;
  const cacheWrite = reply.cacheWriteTokens ?? 0;
  if (cacheRead + cacheWrite > promptTokens) throw new Error(`the script caches ${cacheRead + cacheWrite} of ${promptTokens} prompt tokens`);
  return {
    input_tokens: promptTokens - cacheRead - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: outputTokens,
    service_tier: 'standard',
    ...(reply.reasoningTokens ? { output_tokens_details: { thinking_tokens: reply.reasoningTokens } } : {}),
  };
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role === 'user') return contentText(m.content);
  }
  return '';
}

export type MockAnthropic = MockUpstream;

/** `url` is the origin: the Anthropic client's `baseURL` has no `/v1`. */
export async function startMockAnthropic(options: MockOptions = {}): Promise<MockAnthropic> {
  const models = options.models ?? ANTHROPIC_DEFAULT_MODELS;
  let counter = 0;
  return startMockServer(
    '',
    async (exchange, script) => {
      const { req, res } = exchange;
      const path = (req.url ?? '/').split('?')[0]!;
      const id = requestId();
      const headers = { 'request-id': id };
      const fail = (status: number, message?: string) =>
        sendJson(res, status, anthropicError(status, message === undefined ? {} : { message }, id), headers);
      if (options.apiKey !== undefined && req.headers['x-api-key'] !== options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        fail(401);
        return;
      }
      const version = req.headers['anthropic-version'];
      if (typeof version !== 'string') {
        fail(400, 'anthropic-version: header is required');
        return;
      }
      if (req.method === 'GET' && path === '/v1/models') {
        const data = models.map((m) => ({ type: 'model', id: m, display_name: m, created_at: '2025-09-29T00:00:00Z' }));
        sendJson(res, 200, { data, has_more: false, first_id: models[0] ?? null, last_id: models.at(-1) ?? null }, headers);
        return;
      }
      if (req.method === 'POST' && (path === '/v1/messages' || path === '/v1/messages/count_tokens')) {
        const body = exchange.record.body;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          fail(400, 'There was an issue with the body of your request: it is not a JSON object');
          return;
        }
        const request = body as Record<string, unknown>;
        if (typeof request.model !== 'string') return fail(400, 'model: Field required');
        if (!Array.isArray(request.messages)) return fail(400, 'messages: Field required');
        if (options.strictModels === true && !models.includes(request.model)) return fail(404, `model: ${request.model}`);
        if (version >= SAMPLING_REMOVED_IN) {
          const removed = ['temperature', 'top_p', 'top_k'].find((p) => request[p] !== undefined);
          if (removed !== undefined) return fail(400, `${removed}: not supported on API version ${version}`);
        }
        if (path === '/v1/messages/count_tokens') {
          sendJson(res, 200, { input_tokens: anthropicPromptTokens(request) }, headers);
          return;
        }
        if (typeof request.max_tokens !== 'number') return fail(400, 'max_tokens: Field required');
        await message(exchange, script, request, headers, id, `msg_mock${String(++counter).padStart(4, '0')}`);
        return;
      }
      fail(404, `Not found: ${req.method} ${path}`);
    },
    (path) => path === '/v1/messages',
  );

  async function message(
    exchange: Exchange,
    script: Script,
    request: Record<string, unknown>,
    headers: Record<string, string>,
    reqId: string,
    id: string,
  ): Promise<void> {
    const { req, res, record, signal } = exchange;
    const reply = chooseReply(req, script, request, record, options.reply);
    if (!(await pause(reply.delayMs, signal))) return;
    if (reply.drop === true) {
      cut(exchange, 'dropped');
      return;
    }
    if (reply.status !== undefined && reply.status >= 400) {
      sendJson(res, reply.status, anthropicError(reply.status, reply, reqId), { ...headers, ...retryHeaders(reply) });
      return;
    }
    const last = lastUserText(request.messages);
    const allPieces = tokenPieces(reply.text ?? (last === '' ? 'Hello from the mock upstream.' : `Echo: ${last}`));
    const pieces = allPieces.slice(0, request.max_tokens as number);
    const stopReason = reply.finishReason ?? (pieces.length < allPieces.length ? 'max_tokens' : 'end_turn');
    const promptTokens = anthropicPromptTokens(request);
    const outputTokens = pieces.length + (reply.reasoningTokens ?? 0);
    const model = request.model as string;
    const responseHeaders = { ...headers, ...reply.headers };

    if (request.stream !== true) {
      const body = {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: pieces.join('') }],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: anthropicUsage(promptTokens, outputTokens, reply),
      };
      if (reply.cutAfterTokens !== undefined) sendTruncatedJson(exchange, body, 0.5, responseHeaders);
      else sendJson(res, 200, body, responseHeaders);
      return;
    }

    const send = (event: string, data: Record<string, unknown>) => writeSse(res, { event, data: JSON.stringify({ type: event, ...data }) });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...responseHeaders });
    await send('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(promptTokens, 1, { cachedTokens: reply.cachedTokens, cacheWriteTokens: reply.cacheWriteTokens }),
      },
    });
    await send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    await send('ping', {});
    for (const piece of pieces) {
      if (record.tokensSent === reply.cutAfterTokens) {
        cut(exchange, 'cut');
        return;
      }
      if (record.tokensSent === reply.errorAfterTokens) {
        record.outcome = 'stream-error';
        await send('error', { error: anthropicError(529, reply, reqId).error });
        res.end();
        return;
      }
      if (record.tokensSent > 0 && !(await pause(reply.tokenDelayMs, signal))) return;
      if (signal.aborted) return;
      await send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } });
      record.tokensSent++;
    }
    if (record.tokensSent === reply.cutAfterTokens) {
      cut(exchange, 'cut');
      return;
    }
    await send('content_block_stop', { index: 0 });
    await send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } });
    await send('message_stop', {});
    res.end();
  }
}
