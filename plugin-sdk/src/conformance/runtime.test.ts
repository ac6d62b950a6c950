import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkInferRequest, type InferRequest, InstanceUnavailable, type ModelInstance, type RuntimeLoadRequest, type RuntimePlugin } from '../runtime.ts';
import { fromJsonData, type Tensor } from '../tensors.ts';
import { type ConformanceCheck, loadRequestFromDirectory, type RuntimeFixture, runtimeConformance } from './runtime.ts';

type Fault = 'none' | 'no-validation' | 'reversed-batch' | 'answers-after-dispose' | 'ready-after-dispose' | 'batches-fixed-dim' | 'plain-errors';

/** A pure-JavaScript runtime doubling its input, with one deliberate fault at a time to prove the kit catches it. */
function doubler(fault: Fault): RuntimePlugin {
  return {
    id: 'doubler',
    frameworks: ['test'],
    devices: ['cpu'],
    async load(): Promise<ModelInstance> {
      let disposed = false;
      const signature = {
        inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [fault === 'batches-fixed-dim' ? 3 : -1, 2] }],
        outputs: [
          { name: 'y', datatype: 'FP32' as const, shape: [-1, 2] },
          { name: 'row_sum', datatype: 'FP64' as const, shape: [-1] },
        ],
      };
      return {
        signature,
        maxBatchSize: 16,
        async infer(request: InferRequest, signal?: AbortSignal) {
          if (disposed && fault !== 'answers-after-dispose') throw new InstanceUnavailable('disposed');
          if (fault === 'plain-errors') {
            try {
              checkInferRequest(signature, request);
            } catch (error) {
              throw new Error((error as Error).message, { cause: error });
            }
          } else if (fault !== 'no-validation') checkInferRequest(signature, request);
          signal?.throwIfAborted();
          const x = request.inputs.find((t) => t.name === 'x')!;
          const rows = x.shape[0]!;
          const y = new Float32Array(x.data.length);
          const sums = new Float64Array(rows);
          for (let r = 0; r < rows; r++) {
            const from = fault === 'reversed-batch' ? rows - 1 - r : r;
            for (let c = 0; c < 2; c++) {
              y[r * 2 + c] = 2 * Number(x.data[from * 2 + c]);
              sums[r] = sums[r]! + y[r * 2 + c]!;
            }
          }
          const outputs: Tensor[] = [
            { name: 'y', datatype: 'FP32', shape: [rows, 2], data: y },
            { name: 'row_sum', datatype: 'FP64', shape: [rows], data: sums },
          ];
          return { outputs: request.outputs ? outputs.filter((o) => request.outputs!.includes(o.name)) : outputs };
        },
        async health() {
          return { ready: !disposed || fault === 'ready-after-dispose' };
        },
        async dispose() {
          disposed = true;
        },
      };
    },
  };
}

const load: RuntimeLoadRequest = {
  model: 'doubler',
  version: '1.0.0',
  framework: 'test',
  metadata: {},
  files: [],
  options: {},
  openFile: () => {
    throw new Error('no files');
  },
};
const fixture: RuntimeFixture = {
  name: 'doubler',
  load,
  input: [fromJsonData('x', 'FP32', [3, 2], [1, 2, 3, 4, 5, 6])],
  expected: { outputs: { y: { shape: [3, 2], data: [2, 4, 6, 8, 10, 12] }, row_sum: { shape: [3], data: [6, 14, 22] } }, tolerance: 1e-6 },
  batchable: true,
};

async function outcomes(checks: ConformanceCheck[]): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const check of checks) {
    result[check.name.replace('doubler: ', '')] = await check.run().then(
      () => 'pass',
      (error: Error) => `fail: ${error.message.split('\n')[0]}`,
    );
  }
  return result;
}

describe('runtimeConformance', () => {
  it('passes a runtime that keeps the contract', async () => {
    const results = await outcomes(runtimeConformance(doubler('none'), [fixture]));
    expect(Object.values(results).every((r) => r === 'pass'), JSON.stringify(results, null, 2)).toBe(true);
    expect(Object.keys(results).length).toBeGreaterThanOrEqual(10);
  });

  it.each([
    ['no-validation', 'refuses bad requests with a coded 4xx naming the problem, and stays ready', 'unknown input'],
    ['plain-errors', 'refuses bad requests with a coded 4xx naming the problem, and stays ready', 'expected a coded 4xx error'],
    ['reversed-batch', 'gives a batch of N rows the same rows as N single calls, in order', 'row 0 of the batch'],
    ['answers-after-dispose', 'dispose waits for in-flight calls, is idempotent and final', 'infer after dispose must reject'],
    ['ready-after-dispose', 'dispose waits for in-flight calls, is idempotent and final', 'health() must not be ready after dispose'],
    ['batches-fixed-dim', 'loads with a well-formed signature, is ready and warms up', 'needs a dynamic dim 0'],
  ] as const)('catches a runtime with fault %s', async (fault, check, message) => {
    const results = await outcomes(runtimeConformance(doubler(fault), [fixture]));
    expect(results[check]).toMatch(/^fail: /);
    expect(results[check]).toContain(message);
  });

  it('catches outputs that differ from the expected values', async () => {
    const wrong: RuntimeFixture = { ...fixture, expected: { outputs: { y: { shape: [3, 2], data: [2, 4, 6, 8, 10, 13] } }, tolerance: 1e-6 } };
    const results = await outcomes(runtimeConformance(doubler('none'), [wrong]));
    expect(results['answers the fixture input with the declared outputs and expected values']).toContain('y[5]: 12 differs from 13');
  });
});

describe('loadRequestFromDirectory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-load-request-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists regular files with POSIX paths and sha256 digests, opens them, and leaves links out', async () => {
    mkdirSync(join(dir, 'weights'));
    writeFileSync(join(dir, 'model.bin'), 'model');
    writeFileSync(join(dir, 'weights', 'a.bin'), 'aaa');
    symlinkSync('/etc/passwd', join(dir, 'passwd'));
    const request = loadRequestFromDirectory(dir, { framework: 'test', options: { x: 1 } });
    const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
    expect(request.files).toEqual([
      { path: 'model.bin', digest: sha('model'), size: 5 },
      { path: 'weights/a.bin', digest: sha('aaa'), size: 3 },
    ]);
    expect(request).toMatchObject({ framework: 'test', options: { x: 1 }, model: 'conformance' });
    expect(await text(request.openFile('weights/a.bin'))).toBe('aaa');
    expect(() => request.openFile('passwd')).toThrow('the version has no file "passwd"');
    expect(loadRequestFromDirectory(dir, { framework: 'test' }, (p) => p.startsWith('weights/')).files.map((f) => f.path)).toEqual(['weights/a.bin']);
  });
});

describe('checkInferRequest', () => {
  const signature = {
    inputs: [
      { name: 'x', datatype: 'FP32' as const, shape: [-1, 2] },
      { name: 'k', datatype: 'INT64' as const, shape: [-1, 1] },
    ],
    outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 2] }],
  };
  const x = fromJsonData('x', 'FP32', [1, 2], [1, 2]);
  const k = fromJsonData('k', 'INT64', [1, 1], [1]);

  it('accepts a request that fits', () => {
    expect(() => checkInferRequest(signature, { inputs: [k, x], outputs: ['y'] })).not.toThrow();
  });

  it.each([
    ['an unknown input', { inputs: [x, k, { ...x, name: 'z' }] }, 'unknown input "z"; the model takes: x, k'],
    ['a missing input', { inputs: [x] }, 'input "k" is missing (INT64 [-1,1])'],
    ['an input twice', { inputs: [x, x, k] }, 'input "x" is given twice'],
    ['a wrong datatype', { inputs: [x, { ...k, datatype: 'INT32', data: new Int32Array(1) }] }, 'input "k" must be INT64, got INT32'],
    ['a wrong fixed dimension', { inputs: [fromJsonData('x', 'FP32', [1, 3], [1, 2, 3]), k] }, 'input "x" must have shape [-1,2] (-1: any), got [1,3]'],
    ['a wrong rank', { inputs: [fromJsonData('x', 'FP32', [2], [1, 2]), k] }, 'got [2]'],
    ['data shorter than the shape', { inputs: [{ ...x, shape: [2, 2] }, k] }, 'input "x": shape [2,2] needs 4 elements, but data has 2'],
    ['inputs with different rows', { inputs: [fromJsonData('x', 'FP32', [2, 2], [1, 2, 3, 4]), k] }, 'input "k" has 1 rows, but "x" has 2'],
    ['an unknown output', { inputs: [x, k], outputs: ['nope'] }, 'unknown output "nope"; the model produces: y'],
  ] as Array<[string, InferRequest, string]>)('refuses %s', (_what, request, message) => {
    expect(() => checkInferRequest(signature, request)).toThrow(message);
  });
});
