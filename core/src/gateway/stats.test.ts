import { describe, expect, it } from 'vitest';
import { ERROR_HALF_LIFE_MS, LiveStatsBook } from './stats.ts';

describe('LiveStatsBook', () => {
  it('lets the error rate of a model that gets no calls fade, so an outage does not keep it out of routes for good', () => {
    const book = new LiveStatsBook();
    const start = 1_000_000;
    for (let i = 0; i < 5; i++) book.failed('m', undefined, start);
    const high = book.get('m', start).errorRate!;
    expect(high).toBeGreaterThan(0.5);
    expect(book.get('m', start + ERROR_HALF_LIFE_MS).errorRate).toBeCloseTo(high / 2, 10);
    expect(book.get('m', start + 10 * ERROR_HALF_LIFE_MS).errorRate).toBeLessThan(0.001);
    expect(book.attach({ model: 'm', version: '1', provider: 'p', quality: { overall: 1 }, contextLength: 1, taskTypes: [] }, start + ERROR_HALF_LIFE_MS).stats).toEqual({ errorRate: high / 2 });
  });

  it('counts calls on top of the faded rate', () => {
    const book = new LiveStatsBook();
    book.failed('m', undefined, 0);
    expect(book.get('m', 0).errorRate).toBeCloseTo(0.2, 10);
    book.failed('m', undefined, ERROR_HALF_LIFE_MS);
    expect(book.get('m', ERROR_HALF_LIFE_MS).errorRate).toBeCloseTo(0.1 * 0.8 + 0.2, 10);
    book.succeeded('m', 10, 0, 0, ERROR_HALF_LIFE_MS);
    expect(book.get('m', ERROR_HALF_LIFE_MS).errorRate).toBeCloseTo((0.1 * 0.8 + 0.2) * 0.8, 10);
    expect(book.get('m', ERROR_HALF_LIFE_MS).latencyEwmaMs).toBe(10);
  });
});
