/**
 * LLM providers: the gateway's extension point for calling a hosted (or self-hosted, OpenAI-compatible)
 * chat model. A provider translates one normalised chat call to its vendor's API and back, and maps the
 * vendor's failures to `ProviderError` kinds, which decide fallbacks: the gateway tries the next model on
 * a retryable failure before the first token, never after.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Contribution } from './contribution.ts';
import type { ModerationResult, TokenUsage } from './gateway.ts';

export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  readonly name?: string;
}

export interface ChatRequest {
  /** The model id the vendor knows (`gpt-4o-mini`, `claude-haiku-4-5`). */
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  /** Always set: the gateway reserved budget for at most this many output tokens. */
  readonly maxTokens: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly stop?: readonly string[];
  /** OpenAI's sampling controls; a vendor without them (Anthropic) leaves them out. */
  readonly seed?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  /** End-user id for the vendor's abuse monitoring. */
  readonly user?: string;
}

export interface ChatResult {
  readonly text: string;
  /** OpenAI's vocabulary: `stop`, `length`, `content_filter`, `tool_calls`. */
  readonly finishReason: string;
  readonly usage: TokenUsage;
  /** The model that answered, as the vendor names it. */
  readonly model?: string;
}

export type ChatStreamEvent =
  | { readonly type: 'text'; readonly text: string }
  /** The last event of a complete stream. `usage` is absent only when the vendor did not report it. */
  | { readonly type: 'end'; readonly finishReason: string; readonly usage?: TokenUsage; readonly model?: string };

export type ProviderErrorKind =
  /** 429: the caller should wait `retryAfterMs`. */
  | 'rate-limited'
  /** 5xx, 529 overloaded, or an error event inside a stream. */
  | 'server'
  | 'timeout'
  /** Connection refused or reset, a response cut short. */
  | 'network'
  /** 400, 404, 413, 422: the request itself is wrong, another model would refuse it too. */
  | 'bad-request'
  /** 401, 403: our credentials for this vendor. */
  | 'auth';

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set(['rate-limited', 'server', 'timeout', 'network']);

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  /** The vendor's HTTP status, when there was one. */
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly provider: string;

  constructor(provider: string, kind: ProviderErrorKind, message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Worth trying another model (or the same one later). */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof Error && error.name === 'ProviderError' && typeof (error as ProviderError).kind === 'string';
}

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date); undefined when neither parses. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface ChatProvider extends Contribution {
  readonly description?: string;
  chat(request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  /** Throws ProviderError before the first event for a refused call; may throw one later for a cut stream. */
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
  /** The vendor's moderation endpoint, when it has one (`gateway.moderation.provider` names the provider to use). */
  moderate?(text: string, signal?: AbortSignal): Promise<ModerationResult>;
}

/**
 * A ProviderError from whatever a vendor SDK threw. Both official SDKs (openai, @anthropic-ai/sdk) throw
 * APIError subclasses carrying `status` and `headers`; an error event inside a stream arrives as one without
 * a status but with the vendor's `error` body; connection failures and timeouts have their own classes.
 * A caller's own abort is returned unchanged: it is not the vendor's failure.
 */
export function toProviderError(provider: string, error: unknown): Error {
  if (isProviderError(error)) return error;
  if (!(error instanceof Error)) return new ProviderError(provider, 'network', String(error));
  const className = error.constructor.name;
  if (error.name === 'AbortError' || className === 'APIUserAbortError') return error;
  const api = error as Error & { status?: unknown; headers?: { get(name: string): string | null }; error?: unknown };
  const message = `${provider}: ${error.message}`;
  if (className.includes('Timeout')) return new ProviderError(provider, 'timeout', message, { cause: error });
  if (typeof api.status === 'number') {
    const status = api.status;
    const kind: ProviderErrorKind =
      status === 429 ? 'rate-limited' : status >= 500 ? 'server' : status === 401 || status === 403 ? 'auth' : 'bad-request';
    const wait = retryAfterMs(api.headers);
    return new ProviderError(provider, kind, message, { status, cause: error, ...(wait === undefined ? {} : { retryAfterMs: wait }) });
  }
  if (api.error !== undefined && api.error !== null) return new ProviderError(provider, 'server', message, { cause: error });
  return new ProviderError(provider, 'network', message, { cause: error });
}

/**
 * A `fetch` for vendor SDKs (both official SDKs take a `fetch` option) that sends through node:http(s) on keep-alive
 * agents instead of WHATWG fetch: the same HTTP, a fraction of the client-side cost per call, which is most of what a
 * gateway adds. Requests it cannot send that way (a Request object, a streamed or form body) go to the global fetch.
 */
export function providerFetch(options: { maxSockets?: number } = {}): typeof fetch {
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }),
  };
  return (input, init) => {
    const body = init?.body;
    const simple = (typeof input === 'string' || input instanceof URL) && (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array);
    if (!simple) return fetch(input, init);
    const url = new URL(input);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    return new Promise<Response>((resolve, reject) => {
      const send = secure ? httpsRequest : httpRequest;
      const outgoing = send(url, { method: init?.method ?? 'GET', headers, agent: secure ? agents.https : agents.http, ...(init?.signal ? { signal: init.signal } : {}) }, (incoming) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const status = incoming.statusCode ?? 502;
        const respond = (responseBody: ConstructorParameters<typeof Response>[0]) =>
          resolve(new Response(responseBody, { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders }));
        if (status === 204 || status === 304 || init?.method === 'HEAD') {
          incoming.resume();
          respond(null);
        } else if (!incoming.headers['content-type']?.includes('application/json')) {
          // Events (text/event-stream, or whatever an OpenAI-compatible server streams as) reach the SDK as they come: a
          // Node stream is an async iterable, which Response takes as its body.
          respond(incoming as unknown as ConstructorParameters<typeof Response>[0]);
        } else {
          // A JSON answer is read here and handed over as bytes: a web stream over the socket costs more than the rest
          // of reading it, and the SDK waits for the whole body anyway.
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => respond(Buffer.concat(chunks)));
          incoming.on('error', reject);
          incoming.on('close', () => {
            if (!incoming.complete) reject(new Error(`${url.origin} closed the connection before the response was complete`));
          });
        }
      });
      outgoing.on('error', reject);
      outgoing.end(body ?? undefined);
    });
  };
}
