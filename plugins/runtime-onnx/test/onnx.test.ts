import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  externalDataLocations,
  fromJsonData,
  isDatatype,
  loadRequestFromDirectory,
  type PluginLogger,
  type RuntimeFixture,
  type RuntimePlugin,
  runtimeConformance,
} from '@modelplane/plugin-sdk';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import plugin, { OnnxOptions, onnxRuntime, resolveExternalData } from '../src/index.ts';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/onnx/', import.meta.url));
const warnings: Array<{ obj: unknown; msg?: string }> = [];
const logger: PluginLogger = {
  debug() {},
  info() {},
  warn: (obj, msg) => warnings.push({ obj, msg }),
  error() {},
  child: () => logger,
};
const runtime = onnxRuntime(OnnxOptions.parse({}), logger);
/** Sessions are instances of onnxruntime-common's class; its typings only expose the factory. */
const sessionPrototype = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;

interface Reference {
  inputs: Record<string, { shape: number[]; datatype: string; data: unknown[] }>;
  outputs: Record<string, { shape: number[]; data: Array<number | boolean | string> }>;
  tolerance: number;
}

function fixture(
  name: string,
  files: { dir: string; model: string; reference: string; include: (path: string) => boolean },
  extra: Partial<RuntimeFixture> & { options?: Record<string, unknown> } = {},
): RuntimeFixture {
  const reference = JSON.parse(readFileSync(join(fixtures, files.reference), 'utf8')) as Reference;
  const { options, ...rest } = extra;
  return {
    name,
    load: loadRequestFromDirectory(join(fixtures, files.dir), { framework: 'onnx', options: { modelFile: files.model, ...options } }, files.include),
    input: Object.entries(reference.inputs).map(([input, t]) => {
      if (!isDatatype(t.datatype)) throw new Error(`bad datatype ${t.datatype}`);
      return fromJsonData(input, t.datatype, t.shape, t.data);
    }),
    expected: { outputs: reference.outputs, tolerance: reference.tolerance },
    ...rest,
  };
}

const only = (file: string) => (path: string) => path === file;
const idsMlp = { dir: '.', model: 'ids-mlp.onnx', reference: 'ids-mlp.reference.json', include: only('ids-mlp.onnx') };
const external = { dir: 'external', model: 'model.onnx', reference: 'external.reference.json', include: () => true };
const cases: RuntimeFixture[] = [
  fixture('ids-mlp (seed 001 classifier)', idsMlp, { batchable: true }),
  fixture('ids-mlp on 3 sessions', idsMlp, { batchable: true, options: { instances: 3 } }),
  fixture('two inputs of different datatypes', { dir: '.', model: 'two-inputs.onnx', reference: 'two-inputs.reference.json', include: only('two-inputs.onnx') }, { batchable: true }),
  fixture('every V2 datatype', { dir: '.', model: 'all-datatypes.onnx', reference: 'all-datatypes.reference.json', include: only('all-datatypes.onnx') }, { batchable: true }),
  fixture('external data', external, { batchable: true }),
  fixture('fixed batch dimension', { dir: '.', model: 'fixed-batch.onnx', reference: 'fixed-batch.reference.json', include: only('fixed-batch.onnx') }, { batchable: false }),
];
const [ids, , , allDatatypes, externalCase] = cases as [RuntimeFixture, RuntimeFixture, RuntimeFixture, RuntimeFixture, RuntimeFixture];

describe('runtime-onnx conformance', () => {
  for (const check of runtimeConformance(runtime, cases)) it(check.name, check.run);
});

const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith('modelplane-onnx-'));

describe('runtime-onnx', () => {
  afterEach(() => vi.restoreAllMocks());

  it('registers the onnx runtime from its plugin', async () => {
    const registered: RuntimePlugin[] = [];
    const register = { runtime: (r: RuntimePlugin) => registered.push(r) };
    await plugin.setup({ name: plugin.name, logger, options: OnnxOptions.parse({}), register } as never);
    expect(registered.map((r) => [r.id, r.frameworks])).toEqual([['onnx', ['onnx']]]);
  });

  it('describes the session and batches up to the configured size', async () => {
    const instance = await runtime.load({ ...ids.load, options: { ...ids.load.options, maxBatchSize: 8 } });
    expect(instance.maxBatchSize).toBe(8);
    expect(instance.signature).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }],
    });
    expect(instance.describe?.()).toMatchObject({ runtime: 'onnxruntime-node', executionProviders: ['cpu'], modelFile: 'ids-mlp.onnx', sessions: 1 });
    await instance.dispose();
  });

  it('carries every V2 datatype through onnxruntime, FP16 as raw half bits', async () => {
    const instance = await runtime.load(allDatatypes.load);
    expect(instance.signature.inputs.map((s) => s.datatype).sort()).toEqual(
      ['BOOL', 'BYTES', 'FP16', 'FP32', 'FP64', 'INT16', 'INT32', 'INT64', 'INT8', 'UINT16', 'UINT32', 'UINT64', 'UINT8'].sort(),
    );
    const { outputs } = await instance.infer({ inputs: allDatatypes.input, outputs: ['fp16_twice', 'out_bytes', 'out_int64'] });
    expect(outputs[0]!.data).toBeInstanceOf(Uint16Array);
    expect(outputs[1]!.data[2]).toEqual(new Uint8Array(Buffer.from('ünïcode ✓')));
    expect(outputs[2]!.data).toBeInstanceOf(BigInt64Array);
    await instance.dispose();
  });

  it('loads external data from the version files only, through a private folder it removes', async () => {
    const before = leftovers();
    const instance = await runtime.load(externalCase.load);
    expect(instance.describe?.()).toMatchObject({ externalData: ['weights.bin'] });
    expect(leftovers()).toEqual(before);
    await instance.dispose();
  });

  it('refuses external data that leaves the version before onnxruntime opens anything', async () => {
    const create = vi.spyOn(ort.InferenceSession, 'create');
    expect(externalDataLocations(readFileSync(join(fixtures, 'evil-external.onnx')))).toEqual(['../../etc/passwd']);
    const load = loadRequestFromDirectory(fixtures, { framework: 'onnx', options: { modelFile: 'evil-external.onnx' } }, only('evil-external.onnx'));
    await expect(runtime.load(load)).rejects.toMatchObject({
      code: 'MP_ERR_UNSAFE_EXTERNAL_DATA',
      statusCode: 422,
      message: expect.stringContaining('"../../etc/passwd" climbs out with ".."'),
    });
    expect(create).not.toHaveBeenCalled();
  });

  it('refuses external data that sits on disk but is not one of the version files', async () => {
    const load = loadRequestFromDirectory(join(fixtures, 'external'), { framework: 'onnx' }, only('model.onnx'));
    await expect(runtime.load(load)).rejects.toMatchObject({ code: 'MP_ERR_UNSAFE_EXTERNAL_DATA', message: expect.stringContaining("not one of this version's files") });
  });

  it('never follows a symbolic link in place of external data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-link-'));
    try {
      copyFileSync(join(fixtures, 'external/model.onnx'), join(dir, 'model.onnx'));
      symlinkSync('/etc/passwd', join(dir, 'weights.bin'));
      const load = loadRequestFromDirectory(dir, { framework: 'onnx' });
      expect(load.files.map((f) => f.path)).toEqual(['model.onnx']);
      await expect(runtime.load(load)).rejects.toMatchObject({ code: 'MP_ERR_UNSAFE_EXTERNAL_DATA' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks each external-data location: absolute, drive, "..", empty, unknown', () => {
    const files = new Set(['m/model.onnx', 'm/w.bin', 'shared.bin']);
    expect(resolveExternalData('m/model.onnx', ['w.bin', './w.bin', 'w.bin'], files)).toEqual(['m/w.bin']);
    for (const [location, reason] of [
      ['/etc/passwd', 'is absolute'],
      ['\\\\server\\share', 'is absolute'],
      ['C:\\weights.bin', 'is absolute'],
      ['../shared.bin', 'climbs out'],
      ['sub/../../shared.bin', 'climbs out'],
      ['', 'is empty'],
      ['w.bin\0.txt', 'NUL'],
      ['other.bin', "not one of this version's files"],
    ] as const) {
      expect(() => resolveExternalData('m/model.onnx', [location], files), location).toThrow(reason);
    }
  });

  it('falls back to cpu when cuda is asked for but cannot run, saying why in one line', async () => {
    warnings.length = 0;
    const cuda = onnxRuntime(OnnxOptions.parse({ executionProviders: ['cuda', 'cpu'] }), logger);
    for (let i = 0; i < 2; i++) {
      const instance = await cuda.load(ids.load);
      const providers = (instance.describe?.() as { executionProviders: string[] }).executionProviders;
      await instance.dispose();
      if (providers[0] === 'cuda') return; // a machine with a working CUDA provider: nothing to fall back from
      expect(providers).toEqual(['cpu']);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/^CUDA execution provider unavailable, running on CPU: .+/);
  });

  it('names the problem when the version has no single model file, or the named one is absent', async () => {
    const several = loadRequestFromDirectory(fixtures, { framework: 'onnx' }, (p) => p.endsWith('.onnx') && !p.includes('/'));
    await expect(runtime.load(several)).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', message: expect.stringContaining('set the modelFile option') });
    const none = loadRequestFromDirectory(fixtures, { framework: 'onnx' }, (p) => p.endsWith('.json'));
    await expect(runtime.load(none)).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', message: expect.stringContaining('has no .onnx file') });
    await expect(runtime.load({ ...ids.load, options: { modelFile: 'nope.onnx' } })).rejects.toMatchObject({ message: expect.stringContaining('no file "nope.onnx"') });
  });

  it('refuses a file that is not an ONNX model with a coded error', async () => {
    const load = loadRequestFromDirectory(fixtures, { framework: 'onnx', options: { modelFile: 'README.md' } }, only('README.md'));
    await expect(runtime.load(load)).rejects.toMatchObject({ code: 'MP_ERR_UNSERVABLE_MODEL', statusCode: 422 });
  });

  it('refuses bad load options naming the option', async () => {
    await expect(runtime.load({ ...ids.load, options: { instances: 0 } })).rejects.toMatchObject({
      code: 'MP_ERR_BAD_RUNTIME_OPTIONS',
      statusCode: 400,
      message: expect.stringContaining('options.instances'),
    });
    await expect(runtime.load({ ...ids.load, options: { threads: 2 } })).rejects.toMatchObject({ message: expect.stringContaining('threads') });
  });

  it('does not run a request whose signal is already aborted', async () => {
    const instance = await runtime.load(ids.load);
    const run = vi.spyOn(sessionPrototype, 'run');
    const controller = new AbortController();
    controller.abort();
    await expect(instance.infer({ inputs: ids.input }, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(run).not.toHaveBeenCalled();
    await instance.dispose();
  });

  it('releases every session on dispose, once', async () => {
    const release = vi.spyOn(sessionPrototype, 'release');
    const instance = await runtime.load({ ...ids.load, options: { ...ids.load.options, instances: 2 } });
    await Promise.all([instance.dispose(), instance.dispose()]);
    await instance.dispose();
    expect(release).toHaveBeenCalledTimes(2);
  });
});
