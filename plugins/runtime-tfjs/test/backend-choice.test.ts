// A file of its own: it activates backends, and TF.js keeps one per process (vitest runs each file in its own).
import { describe, expect, it } from 'vitest';
import { chooseBackend, type Importer } from '../src/index.ts';
import { logged, logger } from './support.ts';

describe('runtime-tfjs backend choice', () => {
  it('fails when a forced backend cannot run, naming it and the reason', async () => {
    const missing: Importer = async (specifier) => {
      throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    await expect(chooseBackend('node', logger, missing)).rejects.toThrow('the node backend was asked for (option backend) but cannot run here: @tensorflow/tfjs-node is not installed');
  });

  it('falls through absent and broken backends in order, logging each reason once', async () => {
    logged.length = 0;
    const tried: string[] = [];
    const importer: Importer = async (specifier) => {
      tried.push(specifier);
      if (specifier === '@tensorflow/tfjs-node-gpu') throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
      if (specifier === '@tensorflow/tfjs-node') throw new Error('libtensorflow.so.2: cannot open shared object file\n  at dlopen');
      return import(specifier);
    };
    const realGpu = process.platform === 'linux';
    const backend = await chooseBackend('auto', logger, importer);
    expect(backend.choice).toBe('wasm');
    expect(backend.skipped[1]).toEqual({ backend: 'node', reason: '@tensorflow/tfjs-node failed to load: libtensorflow.so.2: cannot open shared object file' });
    // On Linux without a driver node-gpu is refused before its import; elsewhere its import fails as "not installed".
    expect(backend.skipped[0]!.reason).toMatch(realGpu ? /no NVIDIA driver|is not installed/ : /is not installed/);
    expect(logged.filter((l) => /unavailable, trying the next/.test(l.msg ?? ''))).toHaveLength(2);
    expect(logged.at(-1)!.msg).toBe('TF.js runs on the wasm backend');
    expect(tried).toContain('@tensorflow/tfjs-node');
  });

});
