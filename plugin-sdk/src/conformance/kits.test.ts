import { describe, expect, it } from 'vitest';
import type { Guard, RouteCandidate, RouterStrategy, ScannerPlugin } from '../extensions.ts';
import type { ConformanceCheck } from './runtime.ts';
import { guardConformance } from './guard.ts';
import { routerStrategyConformance } from './router.ts';
import { scannerConformance } from './scanner.ts';

async function outcomes(checks: ConformanceCheck[]): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const check of checks) result[check.name] = await check.run().then(() => 'pass', (error: Error) => `fail: ${error.message.split('\n')[0]}`);
  return result;
}
const failures = (results: Record<string, string>) => Object.entries(results).filter(([, r]) => r !== 'pass');

describe('scannerConformance', () => {
  const scanner = (flagAll: boolean): ScannerPlugin => ({
    id: 'evil-word',
    version: '1.0.0',
    async scan(target) {
      let text = '';
      for await (const chunk of target.open()) text += String(chunk);
      return flagAll || text.includes('evil') ? [{ severity: 'HIGH', file: target.path, rule: 'evil-word', detail: 'says evil' }] : [];
    },
  });
  const fixtures = [
    { path: 'ok.txt', content: 'fine', expect: 'clean' as const },
    { path: 'bad.txt', content: 'so evil', expect: { rules: ['evil-word'] } },
  ];

  it('passes a scanner that keeps the contract', async () => {
    expect(failures(await outcomes(scannerConformance(scanner(false), fixtures)))).toEqual([]);
  });

  it('catches a scanner that flags clean files', async () => {
    expect(failures(await outcomes(scannerConformance(scanner(true), fixtures)))[0]?.[1]).toContain('a clean file got findings: evil-word');
  });
});

describe('routerStrategyConformance', () => {
  // Ranks by quality and ignores every constraint: the kit must notice.
  const careless: RouterStrategy = {
    id: 'careless',
    weights: { quality: 1, cost: 0, latency: 0 },
    rank(candidates: readonly RouteCandidate[]) {
      const ranked = [...candidates]
        .sort((a, b) => b.quality.overall - a.quality.overall)
        .map((candidate) => ({ candidate, score: candidate.quality.overall, components: {} as never, reasons: [] }));
      return { strategy: 'careless', ranked, excluded: [] };
    },
  };

  it('catches a strategy that ranks unusable candidates and ignores constraints', async () => {
    const failed = failures(await outcomes(routerStrategyConformance(careless)));
    expect(failed.map(([name]) => name.split(':')[0])).toEqual(expect.arrayContaining(['no constraints', 'excludeModels', 'requiredTags']));
    expect(failed[0]![1]).toContain('must never be ranked');
  });
});

describe('guardConformance', () => {
  const guard = (leaky: boolean): Guard => ({
    id: 'no-secrets',
    async pre({ text }) {
      return !leaky && text.includes('secret') ? { action: 'block', risk: 1, reasons: ['mentions a secret'] } : { action: 'allow', risk: 0, reasons: [] };
    },
  });
  const samples = { allowed: ['hello'], flagged: ['the secret is 42'] };

  it('passes a guard that keeps the contract', async () => {
    expect(failures(await outcomes(guardConformance(guard(false), samples)))).toEqual([]);
  });

  it('catches a guard that lets flagged text through', async () => {
    expect(failures(await outcomes(guardConformance(guard(true), samples)))).toEqual([
      ['pre: redacts or blocks the flagged samples, saying why', 'fail: pre("the secret is 42") was allowed'],
    ]);
  });
});
