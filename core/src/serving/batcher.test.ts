import { describe, expect, it } from 'vitest';
import { Batcher, type BatcherOptions } from './batcher.ts';

interface Req {
  caller: string;
  rows: number[];
}

/** A model that doubles every row and records the batches it ran. */
function doubling(options: Partial<BatcherOptions> = {}, delayMs = 5) {
  const batches: string[][] = [];
  const batcher = new Batcher<Req, number[]>(
    { maxBatchSize: 8, maxQueueDelayMs: 20, maxQueueSize: 100, concurrency: 1, ...options },
    async (requests) => {
      batches.push(requests.map((r) => r.caller));
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return requests.map((r) => r.rows.map((x) => x * 2));
    },
    (r) => r.rows.length,
  );
  return { batcher, batches };
}

describe('Batcher', () => {
  it('batches concurrent requests and gives each caller its own rows back', async () => {
    const { batcher, batches } = doubling();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => batcher.submit({ caller: `c${i}`, rows: [i, i + 100] })),
    );
    results.forEach((r, i) => expect(r.result).toEqual([i * 2, (i + 100) * 2]));
    expect(batches.length).toBeLessThan(6);
    expect(Math.max(...results.map((r) => r.batchRows))).toBeGreaterThan(2);
    expect(batches.flat().sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });

  it('never exceeds maxBatchSize rows and sends a full batch without waiting', async () => {
    const { batcher } = doubling({ maxBatchSize: 4, maxQueueDelayMs: 10_000, eager: false });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.submit({ caller: `${i}`, rows: [i] })));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(Math.max(...results.map((r) => r.batchRows))).toBe(4);
  });

  it('runs one at a time when the model cannot batch', async () => {
    const { batcher, batches } = doubling({ maxBatchSize: 0 });
    await Promise.all(Array.from({ length: 3 }, (_, i) => batcher.submit({ caller: `${i}`, rows: [1, 2] })));
    expect(batches).toEqual([['0'], ['1'], ['2']]);
  });

  it('refuses with 503 and a retry hint when the queue is full', async () => {
    const { batcher } = doubling({ maxQueueSize: 2, maxBatchSize: 1, concurrency: 1 }, 50);
    const accepted = [batcher.submit({ caller: 'a', rows: [1] }), batcher.submit({ caller: 'b', rows: [1] }), batcher.submit({ caller: 'c', rows: [1] })];
    await expect(batcher.submit({ caller: 'd', rows: [1] })).rejects.toMatchObject({
      code: 'MP_ERR_QUEUE_FULL',
      statusCode: 503,
      details: { retryAfterSeconds: expect.any(Number) },
    });
    await Promise.all(accepted);
  });

  it('never runs a request cancelled while queued', async () => {
    const { batcher, batches } = doubling({ maxBatchSize: 1 }, 30);
    const first = batcher.submit({ caller: 'first', rows: [1] });
    const controller = new AbortController();
    const cancelled = batcher.submit({ caller: 'cancelled', rows: [1] }, { signal: controller.signal });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'MP_ERR_REQUEST_CANCELLED' });
    await first;
    await batcher.drain();
    expect(batches.flat()).toEqual(['first']);
  });

  it('times out a request stuck in the queue and drops it', async () => {
    const { batcher, batches } = doubling({ maxBatchSize: 1 }, 100);
    const first = batcher.submit({ caller: 'slow', rows: [1] });
    await expect(batcher.submit({ caller: 'late', rows: [1] }, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'MP_ERR_QUEUE_TIMEOUT' });
    await first;
    await batcher.drain();
    expect(batches.flat()).toEqual(['slow']);
  });

  it('rejects every request of a failed batch with the error, and keeps serving', async () => {
    let fail = true;
    const batcher = new Batcher<Req, number>(
      { maxBatchSize: 4, maxQueueDelayMs: 5, maxQueueSize: 10, concurrency: 1 },
      async (requests) => {
        if (fail) throw new Error('runtime exploded');
        return requests.map(() => 1);
      },
      (r) => r.rows.length,
    );
    const failed = await Promise.allSettled([batcher.submit({ caller: 'a', rows: [1] }), batcher.submit({ caller: 'b', rows: [1] })]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect((await batcher.submit({ caller: 'c', rows: [1] })).result).toBe(1);
  });

  it('rejects a request with more rows than a batch can hold', async () => {
    const { batcher } = doubling({ maxBatchSize: 2 });
    await expect(batcher.submit({ caller: 'big', rows: [1, 2, 3] })).rejects.toMatchObject({ code: 'MP_ERR_BATCH_TOO_LARGE', statusCode: 400 });
  });

  it('drain finishes queued work, then refuses new requests', async () => {
    const { batcher } = doubling({ maxQueueDelayMs: 1000 });
    const queued = batcher.submit({ caller: 'q', rows: [3] });
    await batcher.drain();
    expect((await queued).result).toEqual([6]);
    await expect(batcher.submit({ caller: 'after', rows: [1] })).rejects.toMatchObject({ code: 'MP_ERR_MODEL_UNLOADING' });
  });

  it('eagerly sends the first request alone when idle, and batches what arrives meanwhile', async () => {
    const { batcher, batches } = doubling({ maxBatchSize: 8, maxQueueDelayMs: 10_000 }, 20);
    const started = performance.now();
    await Promise.all(Array.from({ length: 5 }, (_, i) => batcher.submit({ caller: `${i}`, rows: [i] })));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(batches).toEqual([['0'], ['1', '2', '3', '4']]);
  });

  it('waits for company up to the queue delay when not eager', async () => {
    const { batcher, batches } = doubling({ maxBatchSize: 8, maxQueueDelayMs: 30, eager: false });
    const first = batcher.submit({ caller: 'a', rows: [1] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([first, batcher.submit({ caller: 'b', rows: [1] })]);
    expect(batches).toEqual([['a', 'b']]);
  });

  it('sends a preferred batch size at once', async () => {
    const { batcher } = doubling({ maxBatchSize: 16, maxQueueDelayMs: 10_000, preferredBatchSizes: [4], eager: false });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => batcher.submit({ caller: `${i}`, rows: [i] })));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(results[0]!.batchRows).toBe(4);
  });
});
