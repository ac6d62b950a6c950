import { describe, expect, it } from 'vitest';
import { EventBus } from './events.ts';

describe('EventBus.since', () => {
  it('keeps the last 1000 events in order and filters them by type', () => {
    const bus = new EventBus({ logger: { warn: () => {}, error: () => {} } });
    for (let i = 1; i <= 1500; i++) bus.emit(i % 2 === 0 ? 'model_call.completed' : 'budget.threshold_crossed', { i });
    const kept = bus.since(0);
    expect(kept.map((e) => e.id)).toEqual(Array.from({ length: 1000 }, (_, i) => 501 + i));
    expect(bus.since(1490).map((e) => e.id)).toEqual([1491, 1492, 1493, 1494, 1495, 1496, 1497, 1498, 1499, 1500]);
    expect(bus.since(1490, ['model_call.*']).map((e) => (e.data as { i: number }).i)).toEqual([1492, 1494, 1496, 1498, 1500]);
    expect(bus.since(1500)).toEqual([]);
    bus.close();
  });

  it('answers before the ring is full', () => {
    const bus = new EventBus({ logger: { warn: () => {}, error: () => {} } });
    expect(bus.since(0)).toEqual([]);
    bus.emit('a', 1);
    bus.emit('b', 2);
    expect(bus.since(0).map((e) => e.type)).toEqual(['a', 'b']);
    expect(bus.since(1).map((e) => e.type)).toEqual(['b']);
    bus.close();
  });

  it('takes any Last-Event-ID a client sends: negative, fractional, too large', () => {
    const bus = new EventBus({ logger: { warn: () => {}, error: () => {} } });
    bus.emit('a', 1);
    bus.emit('b', 2);
    expect(bus.since(-5).map((e) => e.id)).toEqual([1, 2]);
    expect(bus.since(0.5).map((e) => e.id)).toEqual([1, 2]);
    expect(bus.since(1.5).map((e) => e.id)).toEqual([2]);
    expect(bus.since(1e20)).toEqual([]);
    bus.close();
  });
});
