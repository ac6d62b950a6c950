import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';

export interface ServerEvent {
  /** Increasing within one server process; SSE clients resume with `Last-Event-ID`. */
  readonly id: number;
  /** `model_call.completed`, `budget.threshold_crossed`, … */
  readonly type: string;
  readonly time: string;
  readonly data: unknown;
}

export interface WebhookConfig {
  url: string;
  /** Event types to deliver; all when absent. A trailing `*` matches a prefix (`model_call.*`). */
  events?: string[];
  /** Signs each body: `x-modelplane-signature: sha256=<hex HMAC of the body>`. */
  secret?: string;
}

const KEEP = 1000;
/** Delays before each retry; the last failure is logged and the delivery dropped. */
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 16000];

export function eventMatches(patterns: readonly string[] | undefined, type: string): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : p === type));
}

/**
 * The server's event feed: the last KEEP events in memory for `/api/v1/events` (server-sent events, resumable
 * within that window), live subscribers, and webhooks delivered in the background with retries and backoff.
 * Deliveries are not persisted: a webhook still retrying when the server stops is lost (logged).
 */
export class EventBus {
  /** A ring of the last KEEP events: event `id` sits at `id % KEEP` (shifting a full array on every event costs). */
  readonly #recent: Array<ServerEvent | undefined> = new Array(KEEP);
  readonly #listeners = new Set<(event: ServerEvent) => void>();
  readonly #webhooks: readonly WebhookConfig[];
  readonly #logger: Pick<Logger, 'warn' | 'error'>;
  readonly #retryDelays: readonly number[];
  readonly #timers = new Set<NodeJS.Timeout>();
  #nextId = 1;
  #closed = false;

  constructor(options: { webhooks?: readonly WebhookConfig[]; logger: Pick<Logger, 'warn' | 'error'>; retryDelaysMs?: readonly number[] }) {
    this.#webhooks = options.webhooks ?? [];
    this.#logger = options.logger;
    this.#retryDelays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  }

  emit(type: string, data: unknown): ServerEvent {
    const event: ServerEvent = { id: this.#nextId++, type, time: new Date().toISOString(), data };
    this.#recent[event.id % KEEP] = event;
    for (const listener of this.#listeners) listener(event);
    for (const hook of this.#webhooks) if (eventMatches(hook.events, type)) this.#deliver(hook, event, 0);
    return event;
  }

  /** Events after `afterId` still in memory, oldest first. Any number is an answer: `Last-Event-ID` comes from the client. */
  since(afterId: number, types?: readonly string[]): ServerEvent[] {
    const events: ServerEvent[] = [];
    // Ids are whole and start at 1: a negative or fractional id must not index the ring outside what it holds.
    for (let id = Math.max(Math.floor(afterId) + 1, this.#nextId - KEEP, 1); id < this.#nextId; id++) {
      const event = this.#recent[id % KEEP]!;
      if (eventMatches(types, event.type)) events.push(event);
    }
    return events;
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#listeners.clear();
  }

  #deliver(hook: WebhookConfig, event: ServerEvent, attempt: number): void {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-modelplane-event': event.type, 'x-modelplane-delivery': `${event.id}-${attempt}` };
    if (hook.secret) headers['x-modelplane-signature'] = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
    fetch(hook.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })
      .then(async (response) => {
        await response.body?.cancel();
        // A 4xx other than 408/429 will not change by retrying.
        const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
        if (!response.ok && !permanent) throw new Error(`HTTP ${response.status}`);
        if (permanent) this.#logger.warn({ url: hook.url, event: event.type, status: response.status }, 'webhook refused the event; not retried');
      })
      .catch((error: Error) => {
        const delay = this.#retryDelays[attempt];
        if (this.#closed || delay === undefined) {
          this.#logger.error({ url: hook.url, event: event.type, attempts: attempt + 1, err: error.message }, 'webhook delivery failed; giving up');
          return;
        }
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#deliver(hook, event, attempt + 1);
        }, delay);
        timer.unref();
        this.#timers.add(timer);
      });
  }
}
