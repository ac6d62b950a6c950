import type { LiveStats, RouteCandidate } from '@modelplane/plugin-sdk';

const ALPHA = 0.2;

interface Book {
  latencyEwmaMs?: number;
  errorRate?: number;
  cooldownUntil?: number;
  tokensPerSecond?: number;
}

/**
 * What the gateway measured about each model lately (seed 003's live stats): an EWMA of the time to first
 * token, an EWMA error rate, a cooldown after a 429 (from its Retry-After), and output tokens per second.
 */
export class LiveStatsBook {
  readonly #byModel = new Map<string, Book>();

  #book(model: string): Book {
    let book = this.#byModel.get(model);
    if (!book) {
      book = {};
      this.#byModel.set(model, book);
    }
    return book;
  }

  succeeded(model: string, ttftMs: number, outputTokens: number, generationMs: number): void {
    const book = this.#book(model);
    book.latencyEwmaMs = book.latencyEwmaMs === undefined ? ttftMs : book.latencyEwmaMs + ALPHA * (ttftMs - book.latencyEwmaMs);
    book.errorRate = (book.errorRate ?? 0) * (1 - ALPHA);
    if (outputTokens > 1 && generationMs > 0) {
      const tps = (outputTokens * 1000) / generationMs;
      book.tokensPerSecond = book.tokensPerSecond === undefined ? tps : book.tokensPerSecond + ALPHA * (tps - book.tokensPerSecond);
    }
  }

  failed(model: string, cooldownMs?: number, now = Date.now()): void {
    const book = this.#book(model);
    book.errorRate = (book.errorRate ?? 0) * (1 - ALPHA) + ALPHA;
    if (cooldownMs !== undefined) book.cooldownUntil = Math.max(book.cooldownUntil ?? 0, now + cooldownMs);
  }

  get(model: string): LiveStats {
    return { ...(this.#byModel.get(model) ?? {}) };
  }

  attach(candidate: RouteCandidate): RouteCandidate {
    const book = this.#byModel.get(candidate.model);
    return book ? { ...candidate, stats: { ...book } } : candidate;
  }
}
