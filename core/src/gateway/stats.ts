import type { LiveStats, RouteCandidate } from '@modelplane/plugin-sdk';

const ALPHA = 0.2;
/**
 * Without news the error rate halves every this many ms. The router leaves out a model whose error rate is high, so
 * it gets no more calls: measured per call alone, one outage would keep it out of every route until a restart.
 */
export const ERROR_HALF_LIFE_MS = 30_000;

interface Book {
  latencyEwmaMs?: number;
  errorRate?: number;
  /** When `errorRate` was last updated (epoch ms): it decays from there. */
  errorRateAt?: number;
  cooldownUntil?: number;
  tokensPerSecond?: number;
}

/** The error rate as of `now`: the last measured one, decayed by the time since. */
function errorRateAt(book: Book, now: number): number {
  if (book.errorRate === undefined) return 0;
  return book.errorRate * 0.5 ** (Math.max(0, now - (book.errorRateAt ?? now)) / ERROR_HALF_LIFE_MS);
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

  succeeded(model: string, ttftMs: number, outputTokens: number, generationMs: number, now = Date.now()): void {
    const book = this.#book(model);
    book.latencyEwmaMs = book.latencyEwmaMs === undefined ? ttftMs : book.latencyEwmaMs + ALPHA * (ttftMs - book.latencyEwmaMs);
    book.errorRate = errorRateAt(book, now) * (1 - ALPHA);
    book.errorRateAt = now;
    if (outputTokens > 1 && generationMs > 0) {
      const tps = (outputTokens * 1000) / generationMs;
      book.tokensPerSecond = book.tokensPerSecond === undefined ? tps : book.tokensPerSecond + ALPHA * (tps - book.tokensPerSecond);
    }
  }

  failed(model: string, cooldownMs?: number, now = Date.now()): void {
    const book = this.#book(model);
    book.errorRate = errorRateAt(book, now) * (1 - ALPHA) + ALPHA;
    book.errorRateAt = now;
    if (cooldownMs !== undefined) book.cooldownUntil = Math.max(book.cooldownUntil ?? 0, now + cooldownMs);
  }

  get(model: string, now = Date.now()): LiveStats {
    const book = this.#byModel.get(model);
    return book ? this.#live(book, now) : {};
  }

  attach(candidate: RouteCandidate, now = Date.now()): RouteCandidate {
    const book = this.#byModel.get(candidate.model);
    return book ? { ...candidate, stats: this.#live(book, now) } : candidate;
  }

  #live(book: Book, now: number): LiveStats {
    const { errorRateAt: _at, ...stats } = book;
    return book.errorRate === undefined ? stats : { ...stats, errorRate: errorRateAt(book, now) };
  }
}
