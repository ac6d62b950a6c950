import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromJsonData, loadRequestFromDirectory, type PluginLogger, type RuntimeFixture } from '@modelplane/plugin-sdk';

export const fixtures = fileURLToPath(new URL('../../../test/fixtures/tfjs/', import.meta.url));

export const logged: Array<{ level: string; obj: unknown; msg?: string }> = [];
export const logger: PluginLogger = {
  debug() {},
  info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
  warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
  error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
  child: () => logger,
};

const reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  inputs: { features: { shape: number[]; data: number[] } };
  outputs: Record<string, { shape: number[]; data: number[] }>;
  tolerance: number;
};

/** The seed 001 classifier in one of the committed formats, with its float64 reference. */
export function seedClassifier(format: 'layers' | 'graph' | 'saved_model', options: Record<string, unknown> = {}): RuntimeFixture {
  const names = { layers: 'LayersModel', graph: 'GraphModel', saved_model: 'SavedModel' };
  return {
    name: `ids-keras ${names[format]}`,
    load: loadRequestFromDirectory(join(fixtures, format), { framework: format === 'saved_model' ? 'tensorflow' : 'tfjs', options }),
    input: [fromJsonData('features', 'FP32', reference.inputs.features.shape, reference.inputs.features.data)],
    expected: { outputs: reference.outputs, tolerance: reference.tolerance },
    batchable: true,
  };
}
