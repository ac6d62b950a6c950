import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ModelInstance, RuntimeLoadRequest, RuntimePlugin } from '../runtime.ts';
import { concatBatch, DATATYPES, elementCount, splitBatch, type Tensor, toJsonData } from '../tensors.ts';

export interface RuntimeFixture {
  /** Names the checks, e.g. the model file. */
  name: string;
  load: RuntimeLoadRequest;
  input: Tensor[];
  /** Expected outputs by name (flat data, row-major) and the absolute tolerance for floats. */
  expected?: { outputs: Record<string, { shape: number[]; data: number[] }>; tolerance: number };
}

export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
}

/**
 * A load request over a folder on disk, so a runtime can be tested without a registry: every file under `dir`
 * becomes one of the version's files.
 */
export function loadRequestFromDirectory(
  dir: string,
  fields: Partial<Omit<RuntimeLoadRequest, 'files' | 'openFile'>> & { framework: string },
  include: (path: string) => boolean = () => true,
): RuntimeLoadRequest {
  const files: Array<{ path: string; digest: string; size: number }> = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const absolute = join(folder, entry.name);
      if (entry.isDirectory()) walk(absolute);
      else {
        const path = relative(dir, absolute).split(sep).join('/');
        if (include(path)) files.push({ path, digest: 'sha256:unverified', size: statSync(absolute).size });
      }
    }
  };
  walk(dir);
  return {
    model: 'conformance',
    version: '0.0.0',
    metadata: {},
    options: {},
    ...fields,
    files,
    openFile: (path) => {
      if (!files.some((f) => f.path === path)) throw new Error(`no file ${path}`);
      return createReadStream(join(dir, ...path.split('/')));
    },
  };
}

function closeTo(actual: readonly unknown[], expected: readonly number[], tolerance: number, what: string): void {
  strictEqual(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    ok(Math.abs(a - expected[i]!) <= tolerance + tolerance * Math.abs(expected[i]!), `${what}[${i}]: ${a} differs from ${expected[i]} by more than ${tolerance}`);
  }
}

async function rejectsWith4xx(run: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await run();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    ok(status !== undefined && status >= 400 && status < 500, `${what}: expected a coded 4xx error, got ${String((error as Error).message)} (status ${status})`);
    return;
  }
  throw new Error(`${what}: expected the runtime to refuse the request`);
}

/**
 * The checks every runtime plugin must pass, as plain named async functions so any test runner can run them:
 *
 * ```ts
 * for (const check of runtimeConformance(myRuntime, fixtures)) it(check.name, check.run);
 * ```
 */
export function runtimeConformance(runtime: RuntimePlugin, fixtures: readonly RuntimeFixture[]): ConformanceCheck[] {
  const checks: ConformanceCheck[] = [
    {
      name: 'declares an id, frameworks and devices',
      run: async () => {
        ok(typeof runtime.id === 'string' && runtime.id.length > 0, 'id must be a non-empty string');
        ok(runtime.frameworks.length > 0, 'frameworks must not be empty');
        ok(runtime.devices.length > 0, 'devices must not be empty');
      },
    },
  ];
  for (const fixture of fixtures) {
    const withInstance = (name: string, body: (instance: ModelInstance) => Promise<void>): ConformanceCheck => ({
      name: `${fixture.name}: ${name}`,
      run: async () => {
        const instance = await runtime.load(fixture.load);
        try {
          await body(instance);
        } finally {
          await instance.dispose();
        }
      },
    });
    checks.push(
      withInstance('loads with a well-formed signature and is ready', async (instance) => {
        ok(instance.signature.inputs.length > 0, 'signature has no inputs');
        ok(instance.signature.outputs.length > 0, 'signature has no outputs');
        for (const spec of [...instance.signature.inputs, ...instance.signature.outputs]) {
          ok(DATATYPES.includes(spec.datatype), `${spec.name}: unknown datatype ${spec.datatype}`);
          ok(spec.shape.every((d) => Number.isInteger(d) && d >= -1), `${spec.name}: bad shape ${JSON.stringify(spec.shape)}`);
        }
        ok(Number.isInteger(instance.maxBatchSize) && instance.maxBatchSize >= 0, 'maxBatchSize must be an integer ≥ 0');
        strictEqual((await instance.health()).ready, true, 'health() must be ready after load');
        await instance.warmup?.();
      }),
      withInstance('answers the fixture input with the declared outputs and expected values', async (instance) => {
        const { outputs } = await instance.infer({ inputs: fixture.input });
        deepStrictEqual(outputs.map((o) => o.name).sort(), instance.signature.outputs.map((o) => o.name).sort());
        for (const output of outputs) {
          const spec = instance.signature.outputs.find((s) => s.name === output.name)!;
          strictEqual(output.datatype, spec.datatype, `${output.name}: datatype`);
          strictEqual(elementCount(output.shape), toJsonData(output).length, `${output.name}: data length matches shape`);
          const expected = fixture.expected?.outputs[output.name];
          if (expected) {
            deepStrictEqual(output.shape, expected.shape, `${output.name}: shape`);
            closeTo(toJsonData(output), expected.data, fixture.expected!.tolerance, output.name);
          }
        }
      }),
      withInstance('returns only the outputs asked for', async (instance) => {
        const first = instance.signature.outputs[0]!.name;
        const { outputs } = await instance.infer({ inputs: fixture.input, outputs: [first] });
        deepStrictEqual(outputs.map((o) => o.name), [first]);
      }),
      withInstance('gives a batch the same rows as separate calls', async (instance) => {
        if (instance.maxBatchSize === 0) return;
        const single = await instance.infer({ inputs: fixture.input });
        const { inputs, rows } = concatBatch([fixture.input, fixture.input]);
        const batched = splitBatch((await instance.infer({ inputs })).outputs, rows);
        for (const part of batched) {
          for (const output of part) {
            const reference = single.outputs.find((o) => o.name === output.name)!;
            const batchedShape = output.shape.slice(1);
            if (reference.shape[0] !== undefined && batchedShape.join() === reference.shape.slice(1).join() && output.shape[0] === reference.shape[0]) {
              closeTo(toJsonData(output), toJsonData(reference).map(Number), 1e-5, `batched ${output.name}`);
            }
          }
        }
      }),
      withInstance('refuses an unknown input, a wrong datatype and a wrong shape with a 4xx', async (instance) => {
        const [first, ...rest] = fixture.input;
        await rejectsWith4xx(() => instance.infer({ inputs: [{ ...first!, name: `${first!.name}__unknown` }, ...rest] }), 'unknown input');
        const wrongType = first!.datatype === 'FP32' ? 'FP64' : 'FP32';
        const data = wrongType === 'FP64' ? new Float64Array(elementCount(first!.shape)) : new Float32Array(elementCount(first!.shape));
        await rejectsWith4xx(() => instance.infer({ inputs: [{ ...first!, datatype: wrongType, data }, ...rest] }), 'wrong datatype');
        await rejectsWith4xx(
          () => instance.infer({ inputs: [{ ...first!, shape: [...first!.shape, 1, 3] }, ...rest] }),
          'wrong shape',
        );
      }),
      withInstance('does not run a request whose signal is already aborted, or runs it harmlessly', async (instance) => {
        const controller = new AbortController();
        controller.abort();
        await instance.infer({ inputs: fixture.input }, controller.signal).catch(() => undefined);
        strictEqual((await instance.health()).ready, true, 'an aborted request must not break the instance');
      }),
      {
        name: `${fixture.name}: dispose is final and idempotent`,
        run: async () => {
          const instance = await runtime.load(fixture.load);
          await instance.dispose();
          await instance.dispose();
          strictEqual((await instance.health()).ready, false, 'health() must not be ready after dispose');
        },
      },
    );
  }
  return checks;
}
