import { describe, expect, it } from 'vitest';
import { generateKey, parseToken, redactToken, secretMatches } from './api-keys.ts';
import { TokenBuckets } from './rate-limit.ts';
import { grants, modelAllowed } from './scopes.ts';

describe('API key tokens', () => {
  it('round-trips a generated key and rejects tampering', () => {
    const key = generateKey();
    const parsed = parseToken(key.token)!;
    expect(parsed.id).toBe(key.id);
    expect(secretMatches(parsed.secret, key.salt, key.hash)).toBe(true);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}x`, key.salt, key.hash)).toBe(false);
    expect(parseToken('mp_short_secret')).toBeNull();
    expect(redactToken(key.token)).toBe(`mp_${key.id}_…`);
  });
});

describe('scopes', () => {
  it('admin implies all; write and deploy imply read; infer is on its own', () => {
    expect(grants(['admin'], 'deploy')).toBe(true);
    expect(grants(['write'], 'read')).toBe(true);
    expect(grants(['deploy'], 'write')).toBe(false);
    expect(grants(['infer'], 'read')).toBe(false);
    expect(grants([], 'public')).toBe(true);
  });

  it('matches model patterns with * wildcards only', () => {
    expect(modelAllowed(null, 'anything')).toBe(true);
    expect(modelAllowed(['ids-*'], 'ids-mlp')).toBe(true);
    expect(modelAllowed(['ids-*'], 'idsx')).toBe(false);
    expect(modelAllowed(['*-v2'], 'ids-v2')).toBe(true);
    expect(modelAllowed(['a*b*c'], 'aXbYc')).toBe(true);
    expect(modelAllowed(['a*b*c'], 'aXcYb')).toBe(false);
    expect(modelAllowed(['exact'], 'exact')).toBe(true);
    expect(modelAllowed(['ids.*'], 'idsX1')).toBe(false);
  });
});

describe('token buckets', () => {
  it('allows the burst, refuses with a retry time, refills with time', () => {
    let now = 0;
    const buckets = new TokenBuckets({ now: () => now });
    const limit = { perSecond: 2, burst: 3 };
    expect([1, 2, 3].map(() => buckets.take('k', limit).allowed)).toEqual([true, true, true]);
    const refused = buckets.take('k', limit);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    now = 0.5;
    expect(buckets.take('k', limit).allowed).toBe(true);
    expect(buckets.take('other', limit).remaining).toBe(2);
  });
});
