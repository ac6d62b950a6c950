import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CostEvent, MeteringStore, newEventId } from './metering.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const event = (overrides: Partial<CostEvent>): CostEvent => ({
  eventId: newEventId(),
  time: '2026-12-02T10:00:00.000Z',
  requestId: 'req-1',
  model: 'gpt-4o-mini',
  version: '1.0.0',
  provider: 'openai',
  providerModel: 'gpt-4o-mini-2024-07-18',
  principal: 'key:abc',
  route: 'chat',
  strategy: 'balanced',
  tokensIn: 120,
  tokensOut: 16,
  tokensCached: 64,
  tokensCacheWrite: 8,
  tokensReasoning: 4,
  costMicroUsd: 27,
  priceVersion: '2026-11',
  latencyMs: 12.5,
  ttftMs: 3.25,
  stream: true,
  outcome: 'completed',
  usageEstimated: false,
  ...overrides,
});

describe('newEventId', () => {
  it('is a version 7 UUID whose order follows time', () => {
    const ids = [newEventId(1_764_000_000_000), newEventId(1_764_000_000_001), newEventId(1_764_000_060_000)];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => newEventId(1_764_000_000_000))).size).toBe(1000);
  });
});

describe('MeteringStore', () => {
  it('stores every field of an event and rolls it up per model and day', () => {
    dir = mkdtempSync(join(tmpdir(), 'metering-'));
    const store = new MeteringStore(dir);
    const first = event({});
    const second = event({ principal: 'key:other', ttftMs: null, stream: false, outcome: 'cut', usageEstimated: true, costMicroUsd: 5, time: '2026-12-02T11:00:00.000Z' });
    store.record(first);
    store.record(second);
    expect(store.events({ since: '2026-12-01T00:00:00.000Z', limit: 10 })).toEqual([second, first]);
    expect(store.spentSince('2026-12-02T00:00:00.000Z', { principal: 'key:abc' })).toBe(27);
    expect(store.dailyCosts('2026-12-01')).toEqual([{ model: 'gpt-4o-mini', day: '2026-12-02', total_calls: 2, total_cost_usd: '0.000032', total_tokens: 272 }]);
    store.close();
  });
});
