import { defineError } from '@modelplane/plugin-sdk';

export const QueueFull = defineError('MP_ERR_QUEUE_FULL', 503);
export const QueueTimeout = defineError('MP_ERR_QUEUE_TIMEOUT', 503);
export const RequestCancelled = defineError('MP_ERR_REQUEST_CANCELLED', 499);
export const BatcherClosed = defineError('MP_ERR_MODEL_UNLOADING', 503);
export const TooManyRows = defineError('MP_ERR_BATCH_TOO_LARGE', 400);

export interface BatcherOptions {
  /** Largest batch in rows (dim 0); 0 means the model cannot batch: one request per execution. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for others to join its batch. */
  maxQueueDelayMs: number;
  /** Batch sizes the model runs best at; a batch of one of these sizes goes at once instead of waiting. */
  preferredBatchSizes?: readonly number[];
  /** Requests waiting (not running); beyond it, submit fails fast with 503 rather than growing without bound. */
  maxQueueSize: number;
  /** Batches that may run at once (one per model instance). */
  concurrency: number;
  /** Default time limit for a request from submit to result. */
  timeoutMs?: number;
  /**
   * Send a batch as soon as an instance is idle instead of waiting `maxQueueDelayMs` for company; requests arriving
   * while it runs form the next batch. Lowest latency at low load and full batches at high load (default true).
   */
  eager?: boolean;
}

export interface BatchTiming {
  queueMs: number;
  computeMs: number;
  batchRows: number;
}

export interface Submitted<Res> extends BatchTiming {
  result: Res;
}

interface Pending<Req, Res> {
  request: Req;
  rows: number;
  enqueued: number;
  resolve(value: Submitted<Res>): void;
  reject(error: unknown): void;
  settled: boolean;
  cleanup(): void;
}

/**
 * Dynamic batching, as Triton does it: requests queue; a batch goes when it reaches `maxBatchSize` rows or a
 * preferred size, or when the oldest request has waited `maxQueueDelayMs`. Cancelled or timed-out requests leave
 * the queue and never run. `execute` receives the requests of one batch and must return one response per request.
 */
export class Batcher<Req, Res> {
  readonly #options: BatcherOptions;
  readonly #execute: (requests: Req[]) => Promise<Res[]>;
  readonly #rowsOf: (request: Req) => number;
  readonly #queue: Pending<Req, Res>[] = [];
  #queuedRows = 0;
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #idleWaiters: Array<() => void> = [];
  #avgComputeMs = 1;

  constructor(options: BatcherOptions, execute: (requests: Req[]) => Promise<Res[]>, rowsOf: (request: Req) => number) {
    this.#options = options;
    this.#execute = execute;
    this.#rowsOf = rowsOf;
  }

  /** Requests waiting to run. */
  get depth(): number {
    return this.#queue.length;
  }

  get running(): number {
    return this.#running;
  }

  submit(request: Req, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Submitted<Res>> {
    if (this.#closed) return Promise.reject(new BatcherClosed('the model is being unloaded; retry on the new version'));
    const rows = this.#options.maxBatchSize > 0 ? this.#rowsOf(request) : 1;
    if (this.#options.maxBatchSize > 0 && rows > this.#options.maxBatchSize) {
      return Promise.reject(new TooManyRows(`request has ${rows} rows; this model accepts at most ${this.#options.maxBatchSize} per request`));
    }
    if (this.#queue.length >= this.#options.maxQueueSize) {
      return Promise.reject(
        new QueueFull(`the model's queue is full (${this.#options.maxQueueSize} waiting); retry shortly`, {
          details: { retryAfterSeconds: this.retryAfterSeconds() },
        }),
      );
    }
    if (options.signal?.aborted) return Promise.reject(new RequestCancelled('the request was cancelled before it was queued'));
    return new Promise<Submitted<Res>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
      const pending: Pending<Req, Res> = {
        request,
        rows,
        enqueued: performance.now(),
        settled: false,
        resolve: (value) => {
          if (pending.settled) return;
          pending.settled = true;
          pending.cleanup();
          resolve(value);
        },
        reject: (error) => {
          if (pending.settled) return;
          pending.settled = true;
          pending.cleanup();
          reject(error);
        },
        cleanup: () => {},
      };
      const onAbort = () => {
        this.#dequeue(pending);
        pending.reject(new RequestCancelled('the client went away; the request was cancelled'));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              const wasQueued = this.#dequeue(pending);
              pending.reject(
                new QueueTimeout(
                  wasQueued
                    ? `the request waited ${timeoutMs} ms in the queue without running; retry later`
                    : `the request did not finish within ${timeoutMs} ms`,
                ),
              );
            }, timeoutMs);
      pending.cleanup = () => {
        options.signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      this.#queue.push(pending);
      this.#queuedRows += rows;
      this.#schedule();
    });
  }

  /** Seconds a refused client should wait: roughly the time to work off the queue. */
  retryAfterSeconds(): number {
    const batches = Math.ceil(this.#queue.length / Math.max(1, this.#options.maxBatchSize || 1));
    return Math.max(1, Math.ceil((batches * this.#avgComputeMs) / this.#options.concurrency / 1000));
  }

  /** Stops accepting; resolves when every queued and running request has finished. */
  async drain(): Promise<void> {
    this.#closed = true;
    this.#schedule();
    if (this.#queue.length === 0 && this.#running === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #dequeue(pending: Pending<Req, Res>): boolean {
    const index = this.#queue.indexOf(pending);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    this.#queuedRows -= pending.rows;
    this.#notifyIdle();
    return true;
  }

  #schedule(): void {
    while (this.#running < this.#options.concurrency && this.#queue.length > 0) {
      const size = this.#readyBatchRows();
      if (size === 0) {
        this.#armTimer();
        return;
      }
      this.#dispatch(size);
    }
    if (this.#queue.length === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** How many rows to send now, or 0 to keep waiting for more requests. */
  #readyBatchRows(): number {
    const max = this.#options.maxBatchSize;
    if (max === 0) return 1;
    if (this.#queuedRows >= max || this.#closed) return max;
    if (this.#options.eager !== false && this.#running === 0) return max;
    const preferred = (this.#options.preferredBatchSizes ?? []).filter((p) => p <= this.#queuedRows);
    if (preferred.length > 0) return Math.max(...preferred);
    const waited = performance.now() - this.#queue[0]!.enqueued;
    return waited >= this.#options.maxQueueDelayMs ? max : 0;
  }

  #armTimer(): void {
    if (this.#timer) return;
    const waited = performance.now() - this.#queue[0]!.enqueued;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#schedule();
      },
      Math.max(0, this.#options.maxQueueDelayMs - waited),
    );
  }

  #dispatch(maxRows: number): void {
    const batch: Pending<Req, Res>[] = [];
    let rows = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (batch.length > 0 && rows + next.rows > maxRows) break;
      this.#queue.shift();
      this.#queuedRows -= next.rows;
      batch.push(next);
      rows += next.rows;
      if (this.#options.maxBatchSize === 0) break;
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#running++;
    const started = performance.now();
    Promise.resolve()
      .then(() => this.#execute(batch.map((p) => p.request)))
      .then(
        (results) => {
          const computeMs = performance.now() - started;
          this.#avgComputeMs = this.#avgComputeMs * 0.8 + computeMs * 0.2;
          batch.forEach((pending, i) =>
            pending.resolve({ result: results[i]!, queueMs: started - pending.enqueued, computeMs, batchRows: rows }),
          );
        },
        (error: unknown) => {
          for (const pending of batch) pending.reject(error);
        },
      )
      .finally(() => {
        this.#running--;
        this.#schedule();
        this.#notifyIdle();
      });
  }

  #notifyIdle(): void {
    if (this.#queue.length > 0 || this.#running > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
