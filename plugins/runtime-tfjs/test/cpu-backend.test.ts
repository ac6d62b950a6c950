// A file of its own: TF.js keeps one active backend per process, and vitest runs each test file in its own process.
import { runtimeConformance } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createTfjsRuntime, TfjsOptions } from '../src/index.ts';
import { logger, seedClassifier } from './support.ts';

const runtime = await createTfjsRuntime(TfjsOptions.parse({ backend: 'cpu' }), logger);

describe('runtime-tfjs conformance (cpu backend, forced)', () => {
  it('runs on the plain JavaScript backend, as forced', () => {
    expect(runtime.describe()).toMatchObject({ backend: 'cpu', tfBackend: 'cpu', device: 'cpu', savedModel: false });
    expect(runtime.describe()).not.toHaveProperty('skipped');
  });
  for (const check of runtimeConformance(runtime, [seedClassifier('layers'), seedClassifier('graph')])) it(check.name, check.run);
});
