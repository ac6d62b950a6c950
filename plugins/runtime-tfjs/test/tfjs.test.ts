import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRequestFromDirectory, type RuntimePlugin, runtimeConformance, zeroTensor } from '@modelplane/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin, { chooseBackend, createTfjsRuntime, TfjsOptions } from '../src/index.ts';
import { fixtures, logger, seedClassifier } from './support.ts';

// The default: whichever backend loads first here. Without tfjs-node installed (npm cannot fetch its library on this
// network, see docs/runtimes/tfjs.md), that is WASM.
const runtime = await createTfjsRuntime(TfjsOptions.parse({}), logger);
const cases = [seedClassifier('layers'), seedClassifier('graph')];
const [layers, graph] = cases as [(typeof cases)[0], (typeof cases)[0]];
// SavedModels need the TensorFlow C library: only tfjs-node(-gpu) loads them (scripts/tfjs-node-from-pypi.sh builds one).
const native = runtime.describe().savedModel === true;

describe(`runtime-tfjs conformance (${String(runtime.describe().backend)} backend)`, () => {
  for (const check of runtimeConformance(runtime, native ? [...cases, seedClassifier('saved_model')] : cases)) it(check.name, check.run);
});

describe('runtime-tfjs backend choice', () => {
  it('reports the backend it chose, and why it skipped the preferred ones', () => {
    const described = runtime.describe();
    expect(described).toMatchObject({ backend: expect.stringMatching(/^(node-gpu|node|wasm|cpu)$/), tfjsVersion: '4.22.0', device: expect.any(String) });
    if (described.backend === 'wasm') {
      expect(described).toMatchObject({ tfBackend: 'wasm', savedModel: false, wasm: { simd: true, threads: false } });
      expect((described.skipped as Array<{ backend: string }>).map((s) => s.backend)).toEqual(['node-gpu', 'node']);
    }
  });

  it('keeps one backend per process: auto answers the active one, another forced one is refused', async () => {
    expect(await chooseBackend('auto', logger)).toBe(runtime.backend);
    const other = runtime.backend.choice === 'cpu' ? 'wasm' : 'cpu';
    await expect(chooseBackend(other, logger)).rejects.toThrow(`TF.js already runs on ${runtime.backend.choice} in this process`);
  });

  it('registers the tfjs runtime from its plugin', async () => {
    const registered: RuntimePlugin[] = [];
    await plugin.setup({ name: plugin.name, logger, options: TfjsOptions.parse({}), register: { runtime: (r: RuntimePlugin) => registered.push(r) } } as never);
    expect(registered.map((r) => [r.id, r.frameworks, r.devices])).toEqual([['tfjs', ['tfjs', 'tensorflow', 'keras'], [runtime.backend.device]]]);
  });
});

describe('runtime-tfjs models', () => {
  it('serves the Keras classifier with Keras names and the backend in its metadata', async () => {
    const instance = await runtime.load({ ...layers.load, options: { maxBatchSize: 32 } });
    expect(instance.signature).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }],
    });
    expect(instance.maxBatchSize).toBe(32);
    expect(instance.describe?.()).toMatchObject({ runtime: 'tfjs', backend: runtime.describe().backend, format: 'layers-model', modelFile: 'model.json', weightFiles: ['weights.bin'] });
    await instance.dispose();
  });

  it('finds a GraphModel signature by name, with output shapes probed', async () => {
    const instance = await runtime.load(graph.load);
    expect(instance.signature).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }],
    });
    expect(instance.describe?.()).toMatchObject({ format: 'graph-model' });
    await instance.dispose();
  });

  for (const fixture of cases) {
    it(`${fixture.name}: tf.memory() does not grow across 10,000 calls`, { timeout: 120_000 }, async () => {
      const { tf } = runtime.backend;
      const instance = await runtime.load(fixture.load);
      await instance.warmup?.();
      const batch = [zeroTensor('features', 'FP32', [32, 64])];
      const before = tf.memory();
      for (let i = 0; i < 10_000; i++) await instance.infer({ inputs: i % 100 === 0 ? batch : fixture.input });
      const after = tf.memory();
      expect({ tensors: after.numTensors, bytes: after.numBytes }).toEqual({ tensors: before.numTensors, bytes: before.numBytes });
      await instance.dispose();
      // Disposing frees the weights too.
      expect(tf.memory().numTensors).toBeLessThan(before.numTensors);
    });
  }
});

describe('runtime-tfjs refusals', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tfjs-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const folder = (name: string, files: Record<string, string>) => {
    const root = join(dir, name);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    return loadRequestFromDirectory(root, { framework: 'tensorflow' });
  };

  it.runIf(native)('serves a SavedModel by its signature keys on a native backend', async () => {
    const saved = seedClassifier('saved_model');
    const instance = await runtime.load(saved.load);
    expect(instance.signature).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }],
    });
    expect(instance.describe?.()).toMatchObject({ backend: expect.stringMatching(/^node/), format: 'saved-model', signatureKey: 'serving_default' });
    await expect(runtime.load({ ...saved.load, options: { signatureKey: 'nope' } })).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', message: expect.stringContaining('no signature "nope"') });
    await instance.dispose();
  });

  it.skipIf(native)('explains how to convert a SavedModel when the backend cannot run one', async () => {
    const load = folder('saved', { 'saved_model.pb': 'x', 'variables/variables.index': 'x' });
    await expect(runtime.load(load)).rejects.toMatchObject({
      code: 'MP_ERR_UNSERVABLE_MODEL',
      statusCode: 422,
      message: expect.stringMatching(/is a TensorFlow SavedModel, which only the native backends .* tensorflowjs_converter --input_format=tf_saved_model/),
    });
  });

  it('explains how to convert a Keras file', async () => {
    await expect(runtime.load(folder('keras', { 'model.h5': 'x' }))).rejects.toMatchObject({ message: expect.stringContaining('tensorflowjs_converter --input_format=keras model.h5') });
  });

  it('refuses weight shards that are not the version files', async () => {
    const topology = { format: 'layers-model', modelTopology: { class_name: 'Sequential' } };
    for (const path of ['../layers/weights.bin', '/etc/passwd', 'missing.bin']) {
      const load = folder(`shards-${path.length}`, { 'model.json': JSON.stringify({ ...topology, weightsManifest: [{ paths: [path], weights: [] }] }) });
      await expect(runtime.load(load)).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', message: expect.stringContaining("is not one of this version's files") });
    }
  });

  it('refuses a model.json that is not a TF.js model, and a topology TF.js rejects, with coded errors', async () => {
    await expect(runtime.load(folder('notjson', { 'model.json': '{' }))).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', message: expect.stringContaining('not readable JSON') });
    await expect(runtime.load(folder('other', { 'model.json': '{"hello":1}' }))).rejects.toMatchObject({ message: expect.stringContaining('is not a TF.js model.json') });
    const broken = { format: 'layers-model', modelTopology: { class_name: 'NoSuchModel', config: {} }, weightsManifest: [] };
    await expect(runtime.load(folder('broken', { 'model.json': JSON.stringify(broken) }))).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', message: expect.stringContaining('TF.js could not load model.json') });
  });

  it('asks which model.json to serve when there are several, and refuses bad options naming them', async () => {
    const both = loadRequestFromDirectory(fixtures, { framework: 'tfjs' });
    await expect(runtime.load(both)).rejects.toMatchObject({ message: expect.stringContaining('set the modelFile option') });
    const picked = await runtime.load({ ...both, options: { modelFile: 'graph/model.json' } });
    expect(picked.describe?.()).toMatchObject({ format: 'graph-model', weightFiles: ['graph/weights.bin'] });
    await picked.dispose();
    await expect(runtime.load({ ...layers.load, options: { maxBatchSize: 0 } })).rejects.toMatchObject({ code: 'MP_ERR_BAD_RUNTIME_OPTIONS', statusCode: 400, message: expect.stringContaining('options.maxBatchSize') });
    await expect(runtime.load({ ...layers.load, options: { backend: 'cpu' } })).rejects.toMatchObject({ code: 'MP_ERR_BAD_RUNTIME_OPTIONS' });
  });
});
