import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromJsonData, isDatatype, loadRequestFromDirectory, type PluginLogger, runtimeConformance, type RuntimeFixture, toJsonData } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { externalDataLocations } from '@modelplane/plugin-sdk';
import { OnnxOptions, onnxRuntime } from '../src/index.ts';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/onnx/', import.meta.url));
const warnings: unknown[] = [];
const logger = { debug() {}, info() {}, warn: (o: unknown) => warnings.push(o), error() {}, child: () => logger } as PluginLogger;
const runtime = onnxRuntime(OnnxOptions.parse({}), logger);

interface Reference {
  inputs: Record<string, { shape: number[]; datatype: string; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
  tolerance: number;
}

function fixture(name: string, dir: string, modelFile: string, referenceFile: string, include: (p: string) => boolean): RuntimeFixture {
  const reference = JSON.parse(readFileSync(join(fixtures, referenceFile), 'utf8')) as Reference;
  return {
    name,
    load: loadRequestFromDirectory(join(fixtures, dir), { framework: 'onnx', options: { modelFile } }, include),
    input: Object.entries(reference.inputs).map(([input, t]) => {
      if (!isDatatype(t.datatype)) throw new Error(`bad datatype ${t.datatype}`);
      return fromJsonData(input, t.datatype, t.shape, t.data);
    }),
    expected: { outputs: reference.outputs, tolerance: reference.tolerance },
  };
}

const cases: RuntimeFixture[] = [
  fixture('ids-mlp (seed 001 classifier)', '.', 'ids-mlp.onnx', 'ids-mlp.reference.json', (p) => p === 'ids-mlp.onnx'),
  fixture('two inputs of different datatypes', '.', 'two-inputs.onnx', 'two-inputs.reference.json', (p) => p === 'two-inputs.onnx'),
  fixture('external data', 'external', 'model.onnx', 'external.reference.json', () => true),
  fixture('fixed batch dimension', '.', 'fixed-batch.onnx', 'fixed-batch.reference.json', (p) => p === 'fixed-batch.onnx'),
];

describe('runtime-onnx conformance', () => {
  for (const check of runtimeConformance(runtime, cases)) it(check.name, check.run);
});

describe('runtime-onnx specifics', () => {
  it('matches the Python onnxruntime reference for the seed 001 classifier (tolerance 1e-5)', async () => {
    const instance = await runtime.load(cases[0]!.load);
    const { outputs } = await instance.infer({ inputs: cases[0]!.input });
    const expected = cases[0]!.expected!.outputs.probabilities!;
    toJsonData(outputs[0]!).forEach((v, i) => expect(Number(v)).toBeCloseTo(expected.data[i]!, 5));
    expect(instance.maxBatchSize).toBe(64);
    expect(instance.describe?.()).toMatchObject({ executionProviders: ['cpu'] });
    await instance.dispose();
  });

  it('cannot batch a model with a fixed batch dimension', async () => {
    const instance = await runtime.load(cases[3]!.load);
    expect(instance.maxBatchSize).toBe(0);
    await instance.dispose();
  });

  it('refuses external data that leaves the model folder before onnxruntime opens anything', async () => {
    expect(externalDataLocations(readFileSync(join(fixtures, 'evil-external.onnx')))).toEqual(['../../etc/passwd']);
    const load = loadRequestFromDirectory(fixtures, { framework: 'onnx', options: { modelFile: 'evil-external.onnx' } }, (p) => p === 'evil-external.onnx');
    await expect(runtime.load(load)).rejects.toMatchObject({ code: 'MP_ERR_UNSAFE_EXTERNAL_DATA', message: expect.stringContaining('../../etc/passwd') });
  });

  it('falls back to cpu when cuda is asked for but absent, saying why once', async () => {
    warnings.length = 0;
    const cuda = onnxRuntime(OnnxOptions.parse({ executionProviders: ['cuda', 'cpu'] }), logger);
    for (let i = 0; i < 2; i++) {
      const instance = await cuda.load(cases[0]!.load);
      expect(instance.describe?.()).toMatchObject({ executionProviders: ['cpu'] });
      await instance.dispose();
    }
    expect(warnings).toHaveLength(1);
  });

  it('names the problem when a version has no single model file', async () => {
    const load = loadRequestFromDirectory(fixtures, { framework: 'onnx' }, (p) => p.endsWith('.onnx') && !p.includes('/'));
    await expect(runtime.load(load)).rejects.toMatchObject({ code: 'MP_ERR_NO_MODEL_FILE', message: expect.stringContaining('set the modelFile option') });
  });
});
