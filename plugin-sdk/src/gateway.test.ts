import { describe, expect, it } from 'vitest';
import { estimateCostMicroUsd, microToUsd, priceUsage, selfHostedCostProfile, tokenCostProfile, usdToMicro } from './gateway.ts';

const gpt4o = tokenCostProfile({ inputUsdPerMTok: '2.50', outputUsdPerMTok: '10.00', cachedInputUsdPerMTok: '1.25', priceVersion: 'openai-2025-08' });
const sonnet = tokenCostProfile({
  inputUsdPerMTok: '3',
  outputUsdPerMTok: '15',
  cachedInputUsdPerMTok: '0.30',
  cacheWriteUsdPerMTok: '3.75',
  priceVersion: 'anthropic-2025-09',
});

describe('usdToMicro / microToUsd', () => {
  it('reads decimal strings digit by digit', () => {
    expect(usdToMicro('2.50')).toBe(2_500_000);
    expect(usdToMicro('0.000125')).toBe(125);
    expect(usdToMicro('15')).toBe(15_000_000);
    expect(usdToMicro('0.1000000')).toBe(100_000); // trailing zeros past the 6th decimal are harmless
    expect(usdToMicro(0.1)).toBe(100_000);
  });

  it('refuses what it cannot represent exactly', () => {
    expect(() => usdToMicro('0.0000001')).toThrow(/more than 6 decimals/);
    expect(() => usdToMicro('-1')).toThrow(/not a USD amount/);
    expect(() => usdToMicro('1e3')).toThrow(/not a USD amount/);
    expect(() => usdToMicro(Number.NaN)).toThrow(/not a price/);
  });

  it('prints six decimals', () => {
    expect(microToUsd(12_345_678)).toBe('12.345678');
    expect(microToUsd(5)).toBe('0.000005');
    expect(microToUsd(0)).toBe('0.000000');
  });
});

describe('priceUsage', () => {
  it('prices cached input at its own rate, reasoning inside output', () => {
    // 600 uncached × 2.5 + 400 cached × 1.25 + 500 output × 10, all per million: 1500 + 500 + 5000 µUSD.
    expect(priceUsage(gpt4o, { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, reasoningTokens: 100 })).toBe(7000);
    expect(priceUsage(gpt4o, { inputTokens: 1000, outputTokens: 500 })).toBe(7500);
  });

  it('prices Anthropic cache reads and writes separately and rounds once, up', () => {
    // 50 × 3 + 20 × 0.30 + 30 × 3.75 + 10 × 15 = 150 + 6 + 112.5 + 150 = 418.5 µUSD → 419.
    expect(priceUsage(sonnet, { inputTokens: 100, cachedInputTokens: 20, cacheWriteInputTokens: 30, outputTokens: 10 })).toBe(419);
    // A single token of a cheap model still costs one whole micro-dollar, never zero.
    expect(priceUsage(tokenCostProfile({ inputUsdPerMTok: '0.15', outputUsdPerMTok: '0.60', priceVersion: 'x' }), { inputTokens: 1, outputTokens: 0 })).toBe(1);
    expect(priceUsage(gpt4o, { inputTokens: 0, outputTokens: 0 })).toBe(0);
  });

  it('adds up without drift: a thousand calls cost exactly a thousand times one', () => {
    const profile = tokenCostProfile({ inputUsdPerMTok: '0.29', outputUsdPerMTok: '1.17', priceVersion: 'x' });
    const one = priceUsage(profile, { inputTokens: 1_000_000, outputTokens: 1_000_000 });
    expect(one).toBe(1_460_000);
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += priceUsage(profile, { inputTokens: 1_000_000, outputTokens: 1_000_000 });
    expect(sum).toBe(1_460_000_000);
    expect(microToUsd(sum)).toBe('1460.000000');
  });

  it('stays exact beyond 2^53 intermediate products', () => {
    const dear = tokenCostProfile({ inputUsdPerMTok: '999.999999', outputUsdPerMTok: '999.999999', priceVersion: 'x' });
    // 10^10 tokens × 999,999,999 µUSD/MTok = 9,999,999,990,000,000,000 before the division: well past 2^53.
    expect(priceUsage(dear, { inputTokens: 5_000_000_000, outputTokens: 5_000_000_000 })).toBe(9_999_999_990_000);
  });

  it("applies seed 003's self-hosted formula", () => {
    // $1.20/h at 400 tok/s: $0.000833…/1k tokens; 1,500 tokens → $0.00125.
    const local = selfHostedCostProfile({ hardwareHourlyUsd: '1.20', tokensPerSecond: 400, priceVersion: 'onprem' });
    expect(priceUsage(local, { inputTokens: 1000, outputTokens: 500 })).toBe(1250);
    // $0.85/h at 42.5 tok/s: 5.555… µUSD per token; 100 tokens → 555.55… → 556.
    const slow = selfHostedCostProfile({ hardwareHourlyUsd: '0.85', tokensPerSecond: 42.5, priceVersion: 'onprem' });
    expect(priceUsage(slow, { inputTokens: 60, outputTokens: 40 })).toBe(556);
    expect(() => selfHostedCostProfile({ hardwareHourlyUsd: 1, tokensPerSecond: 0, priceVersion: 'x' })).toThrow(/positive/);
  });

  it('refuses counts that cannot be right', () => {
    expect(() => priceUsage(gpt4o, { inputTokens: 10, cachedInputTokens: 11, outputTokens: 0 })).toThrow(/exceed the 10 input tokens/);
    expect(() => priceUsage(gpt4o, { inputTokens: 10, outputTokens: 5, reasoningTokens: 6 })).toThrow(/exceed the 5 output tokens/);
    expect(() => priceUsage(gpt4o, { inputTokens: 1.5, outputTokens: 0 })).toThrow(/whole number/);
    expect(() => priceUsage(gpt4o, { inputTokens: -1, outputTokens: 0 })).toThrow(/whole number/);
  });
});

describe('estimateCostMicroUsd', () => {
  it('agrees with the exact price to within rounding', () => {
    expect(estimateCostMicroUsd(gpt4o, 1000, 500)).toBeCloseTo(7500, 6);
    const local = selfHostedCostProfile({ hardwareHourlyUsd: '1.20', tokensPerSecond: 400, priceVersion: 'onprem' });
    expect(estimateCostMicroUsd(local, 1000, 500)).toBeCloseTo(1250, 6);
  });
});
