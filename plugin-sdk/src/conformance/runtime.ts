/**
 * The runtime conformance kit: the checks every runtime plugin must pass, runnable from any test runner in the
 * plugin's own repository. It uses only `node:assert`, so the SDK does not depend on a test framework.
 */
import { ok, strictEqual } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ManifestFile } from '../stores.ts';
import type { InferResponse, ModelInstance, RuntimeLoadRequest, RuntimePlugin } from '../runtime.ts';
import { concatBatch, DATATYPES, elementCount, splitBatch, type Tensor, type TensorSpec, toJsonData } from '../tensors.ts';

export interface RuntimeFixture {
  /** Names the checks, e.g. the model file. */
  name: string;
  load: RuntimeLoadRequest;
  /** A valid request; with several rows, the batching check runs each row alone and all of them together. */
  input: Tensor[];
  /**
   * Expected outputs by name (flat, row-major, as `toJsonData` gives them: numbers, booleans for BOOL, strings for
   * BYTES), and the tolerance for numbers: |actual − expected| ≤ tolerance × (1 + |expected|).
   */
  expected?: { outputs: Record<string, { shape: number[]; data: ReadonlyArray<number | boolean | string> }>; tolerance: number };
  /** When set, the instance must (true) or must not (false) accept batches (`maxBatchSize > 0`). */
  batchable?: boolean;
}

export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
}

export interface ConformanceOptions {
  /** Tolerance when comparing batched rows with single calls, and concurrent calls with one another; default 1e-5. */
  batchTolerance?: number;
  /** Requests in flight at once in the concurrency check; default 8. */
  concurrency?: number;
}

/**
 * A load request over a folder on disk, so a runtime can be tested without a registry: every regular file under
 * `dir` that `include` accepts becomes one of the version's files (symbolic links are left out, as the registry
 * never stores them).
 */
export function loadRequestFromDirectory(
  dir: string,
  fields: Partial<Omit<RuntimeLoadRequest, 'files' | 'openFile'>> & { framework: string },
  include: (path: string) => boolean = () => true,
): RuntimeLoadRequest {
  const files: ManifestFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const absolute = join(folder, entry.name);
      if (entry.isDirectory()) walk(absolute);
      else if (entry.isFile()) {
        const path = relative(dir, absolute).split(sep).join('/');
        if (!include(path)) continue;
        const digest = `sha256:${createHash('sha256').update(readFileSync(absolute)).digest('hex')}`;
        files.push({ path, digest, size: lstatSync(absolute).size });
      }
    }
  };
  walk(dir);
  files.sort((a, b) => a.path.localeCompare(b.path));
  return {
    model: 'conformance',
    version: '0.0.0',
    metadata: {},
    options: {},
    ...fields,
    files,
    openFile: (path) => {
      if (!files.some((f) => f.path === path)) throw new Error(`the version has no file "${path}"`);
      return createReadStream(join(dir, ...path.split('/')));
    },
  };
}

function closeTo(actual: ReadonlyArray<unknown>, expected: ReadonlyArray<unknown>, tolerance: number, what: string): void {
  strictEqual(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (typeof e === 'number' && typeof a === 'number') {
      const same = Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= tolerance * (1 + Math.abs(e));
      ok(same, `${what}[${i}]: ${a} differs from ${e} by more than the tolerance ${tolerance}`);
    } else {
      strictEqual(a, e, `${what}[${i}]`);
    }
  }
}

async function rejectsCoded4xx(run: () => Promise<unknown>, what: string): Promise<void> {
  let result: unknown;
  try {
    result = await run();
  } catch (error) {
    const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
    ok(
      typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && typeof code === 'string',
      `${what}: expected a coded 4xx error, got ${String((error as Error).message)} (code ${String(code)}, status ${String(statusCode)})`,
    );
    return;
  }
  throw new Error(`${what}: expected the runtime to refuse the request, but it answered ${JSON.stringify(Object.keys(result ?? {}))}`);
}

/** A wrong datatype for a spec, with data of that datatype and the right element count. */
function withWrongDatatype(tensor: Tensor): Tensor {
  const count = elementCount(tensor.shape);
  if (tensor.datatype === 'BYTES') return { ...tensor, datatype: 'FP32', data: new Float32Array(count) };
  if (tensor.datatype === 'FP32') return { ...tensor, datatype: 'FP64', data: new Float64Array(count) };
  return { ...tensor, datatype: 'FP32', data: new Float32Array(count) };
}

function rowsOf(input: readonly Tensor[]): Tensor[][] {
  const count = input[0]?.shape[0] ?? 1;
  return splitBatch(
    input.map((t) => ({ ...t })),
    Array.from({ length: count }, () => 1),
  );
}

function sameOutputs(actual: InferResponse['outputs'], reference: InferResponse['outputs'], tolerance: number, what: string): void {
  for (const expected of reference) {
    const output = actual.find((o) => o.name === expected.name);
    ok(output, `${what}: output "${expected.name}" is missing`);
    strictEqual(JSON.stringify(output.shape), JSON.stringify(expected.shape), `${what}: shape of "${expected.name}"`);
    closeTo(toJsonData(output), toJsonData(expected), tolerance, `${what} ${expected.name}`);
  }
}

function checkOutputAgainstSpec(output: Tensor, spec: TensorSpec | undefined): void {
  ok(spec, `output "${output.name}" is not in the signature`);
  strictEqual(output.datatype, spec.datatype, `output "${output.name}": datatype`);
  ok(
    output.shape.length === spec.shape.length && spec.shape.every((d, i) => d === -1 || d === output.shape[i]),
    `output "${output.name}": shape ${JSON.stringify(output.shape)} does not fit the signature's ${JSON.stringify(spec.shape)}`,
  );
  strictEqual(output.data.length, elementCount(output.shape), `output "${output.name}": data length matches its shape`);
}

/**
 * The checks every runtime plugin must pass, as plain named async functions so any test runner can run them:
 *
 * ```ts
 * for (const check of runtimeConformance(myRuntime, fixtures)) it(check.name, check.run);
 * ```
 *
 * Each check loads its own instance from the fixture's load request and disposes it afterwards.
 */
export function runtimeConformance(runtime: RuntimePlugin, fixtures: readonly RuntimeFixture[], options: ConformanceOptions = {}): ConformanceCheck[] {
  const batchTolerance = options.batchTolerance ?? 1e-5;
  const concurrency = options.concurrency ?? 8;
  const checks: ConformanceCheck[] = [
    {
      name: 'declares an id, frameworks and devices',
      run: async () => {
        ok(typeof runtime.id === 'string' && runtime.id.length > 0, 'id must be a non-empty string');
        ok(runtime.frameworks.length > 0, 'frameworks must not be empty');
        ok(runtime.devices.length > 0, 'devices must not be empty');
        strictEqual(typeof runtime.load, 'function', 'load must be a function');
      },
    },
  ];
  for (const fixture of fixtures) {
    const check = (name: string, body: (instance: ModelInstance) => Promise<void>): ConformanceCheck => ({
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
      check('loads with a well-formed signature, is ready and warms up', async (instance) => {
        const { inputs, outputs } = instance.signature;
        ok(inputs.length > 0, 'signature has no inputs');
        ok(outputs.length > 0, 'signature has no outputs');
        for (const specs of [inputs, outputs]) {
          strictEqual(new Set(specs.map((s) => s.name)).size, specs.length, 'tensor names must be unique');
        }
        for (const spec of [...inputs, ...outputs]) {
          ok(typeof spec.name === 'string' && spec.name.length > 0, 'every tensor needs a name');
          ok(DATATYPES.includes(spec.datatype), `${spec.name}: unknown datatype ${spec.datatype}`);
          ok(spec.shape.every((d) => Number.isInteger(d) && d >= -1), `${spec.name}: bad shape ${JSON.stringify(spec.shape)}`);
        }
        ok(Number.isInteger(instance.maxBatchSize) && instance.maxBatchSize >= 0, 'maxBatchSize must be an integer ≥ 0');
        if (instance.maxBatchSize > 0) {
          ok(
            [...inputs, ...outputs].every((s) => s.shape[0] === -1),
            'a model that batches needs a dynamic dim 0 on every input and output',
          );
        }
        if (fixture.batchable !== undefined) strictEqual(instance.maxBatchSize > 0, fixture.batchable, `maxBatchSize ${instance.maxBatchSize}`);
        strictEqual((await instance.health()).ready, true, 'health() must be ready after load');
        await instance.warmup?.();
        strictEqual((await instance.health()).ready, true, 'health() must be ready after warm-up');
        const described = instance.describe?.();
        if (described !== undefined) JSON.stringify(described);
      }),
      check('answers the fixture input with the declared outputs and expected values', async (instance) => {
        const { outputs } = await instance.infer({ inputs: fixture.input });
        strictEqual(
          JSON.stringify(outputs.map((o) => o.name).sort()),
          JSON.stringify(instance.signature.outputs.map((o) => o.name).sort()),
          'every declared output, once',
        );
        for (const output of outputs) {
          checkOutputAgainstSpec(
            output,
            instance.signature.outputs.find((s) => s.name === output.name),
          );
          const expected = fixture.expected?.outputs[output.name];
          if (expected) {
            strictEqual(JSON.stringify(output.shape), JSON.stringify(expected.shape), `${output.name}: shape`);
            closeTo(toJsonData(output), expected.data, fixture.expected!.tolerance, output.name);
          }
        }
      }),
      check('returns only the outputs asked for', async (instance) => {
        for (const spec of instance.signature.outputs) {
          const { outputs } = await instance.infer({ inputs: fixture.input, outputs: [spec.name] });
          strictEqual(JSON.stringify(outputs.map((o) => o.name)), JSON.stringify([spec.name]));
        }
      }),
      check('gives a batch of N rows the same rows as N single calls, in order', async (instance) => {
        if (instance.maxBatchSize === 0) return;
        let rows = rowsOf(fixture.input);
        if (rows.length < 2) rows = [...rows, ...rows];
        rows = rows.slice(0, instance.maxBatchSize);
        const singles: InferResponse[] = [];
        for (const row of rows) singles.push(await instance.infer({ inputs: row }));
        const { inputs, rows: counts } = concatBatch(rows);
        const parts = splitBatch((await instance.infer({ inputs })).outputs, counts);
        parts.forEach((part, i) => sameOutputs(part, singles[i]!.outputs, batchTolerance, `row ${i} of the batch`));
      }),
      check('runs a full batch of maxBatchSize rows', async (instance) => {
        if (instance.maxBatchSize === 0) return;
        const rows = rowsOf(fixture.input);
        const full = Array.from({ length: Math.min(instance.maxBatchSize, 4096) }, (_, i) => rows[i % rows.length]!);
        const { inputs } = concatBatch(full);
        const { outputs } = await instance.infer({ inputs });
        for (const output of outputs) strictEqual(output.shape[0], full.length, `${output.name}: rows`);
      }),
      check('answers concurrent calls like sequential ones', async (instance) => {
        const reference = await instance.infer({ inputs: fixture.input });
        const answers = await Promise.all(Array.from({ length: concurrency }, () => instance.infer({ inputs: fixture.input })));
        answers.forEach((answer, i) => sameOutputs(answer.outputs, reference.outputs, batchTolerance, `concurrent call ${i}`));
      }),
      check('refuses bad requests with a coded 4xx naming the problem, and stays ready', async (instance) => {
        const [first, ...rest] = fixture.input;
        ok(first, 'the fixture needs at least one input');
        const spec = instance.signature.inputs.find((s) => s.name === first.name);
        ok(spec, `the fixture's input "${first.name}" is not in the signature`);
        await rejectsCoded4xx(() => instance.infer({ inputs: [{ ...first, name: `${first.name}__unknown` }, ...rest] }), 'unknown input');
        await rejectsCoded4xx(() => instance.infer({ inputs: rest }), 'missing input');
        await rejectsCoded4xx(() => instance.infer({ inputs: [first, first, ...rest] }), 'input given twice');
        await rejectsCoded4xx(() => instance.infer({ inputs: [withWrongDatatype(first), ...rest] }), 'wrong datatype');
        await rejectsCoded4xx(() => instance.infer({ inputs: [{ ...first, shape: [...first.shape, 1] }, ...rest] }), 'wrong rank');
        const fixedDim = spec.shape.findIndex((d) => d > 0);
        if (fixedDim >= 0) {
          const shape = first.shape.map((d, i) => (i === fixedDim ? d + 1 : d));
          await rejectsCoded4xx(() => instance.infer({ inputs: [{ ...first, shape }, ...rest] }), 'wrong fixed dimension');
        }
        const short = { ...first, data: first.data.slice(0, Math.max(0, first.data.length - 1)) } as Tensor;
        await rejectsCoded4xx(() => instance.infer({ inputs: [short, ...rest] }), 'data shorter than the shape');
        await rejectsCoded4xx(() => instance.infer({ inputs: fixture.input, outputs: ['__no_such_output'] }), 'unknown output');
        if (instance.maxBatchSize > 0) {
          const noRows = fixture.input.map((t) => ({ ...t, shape: [0, ...t.shape.slice(1)], data: t.data.slice(0, 0) }) as Tensor);
          await rejectsCoded4xx(() => instance.infer({ inputs: noRows }), 'a batch of no rows');
        }
        strictEqual((await instance.health()).ready, true, 'bad requests must not break the instance');
        await instance.infer({ inputs: fixture.input });
      }),
      check('honours an abort signal, or ignores it harmlessly', async (instance) => {
        const aborted = new AbortController();
        aborted.abort();
        await instance.infer({ inputs: fixture.input }, aborted.signal).then(
          () => undefined,
          (error: unknown) => ok(error instanceof Error, 'an aborted request rejects with an Error'),
        );
        const during = new AbortController();
        const running = instance.infer({ inputs: fixture.input }, during.signal);
        during.abort();
        await running.catch(() => undefined);
        strictEqual((await instance.health()).ready, true, 'an aborted request must not break the instance');
        await instance.infer({ inputs: fixture.input });
      }),
      {
        name: `${fixture.name}: dispose waits for in-flight calls, is idempotent and final`,
        run: async () => {
          const instance = await runtime.load(fixture.load);
          const inFlight = instance.infer({ inputs: fixture.input }).then(
            () => 'answered',
            (error: unknown) => error,
          );
          await instance.dispose();
          await instance.dispose();
          const outcome = await inFlight;
          if (outcome !== 'answered') {
            strictEqual(typeof (outcome as { code?: unknown }).code, 'string', `an in-flight call cut by dispose rejects with a coded error: ${String(outcome)}`);
          }
          strictEqual((await instance.health()).ready, false, 'health() must not be ready after dispose');
          try {
            await instance.infer({ inputs: fixture.input });
          } catch (error) {
            const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
            ok(typeof code === 'string' && typeof statusCode === 'number' && statusCode >= 500, `infer after dispose: expected a coded 5xx (e.g. 503), got ${String(error)}`);
            return;
          }
          throw new Error('infer after dispose must reject');
        },
      },
    );
  }
  return checks;
}
