import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

async function load(required: boolean) {
  vi.stubEnv('MODELPLANE_REQUIRE_SERVICES', required ? '1' : '');
  vi.resetModules();
  return import('./services.ts');
}

describe('requireService', () => {
  it('reports an available service', async () => {
    const { requireService } = await load(true);
    expect(await requireService('loopback', () => ({ available: true }))).toBe(true);
  });

  it('skips with the reason locally', async () => {
    const { requireService } = await load(false);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await requireService('clamd', () => ({ available: false, reason: 'clamd not installed' }))).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('clamd not installed'));
  });

  it('fails under MODELPLANE_REQUIRE_SERVICES=1, also when the probe throws', async () => {
    const { requireService } = await load(true);
    await expect(requireService('postgres', () => ({ available: false, reason: 'no psql' }))).rejects.toThrow(
      /postgres.*no psql/,
    );
    await expect(
      requireService('redis', () => {
        throw new Error('ECONNREFUSED');
      }),
    ).rejects.toThrow(/redis.*ECONNREFUSED/);
  });
});
