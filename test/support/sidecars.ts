import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  fromJsonData,
  loadRequestFromDirectory,
  type ModelSignature,
  type PluginLogger,
  type RuntimeFixture,
  type RuntimePlugin,
  runtimeConformance,
  type Tensor,
} from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { requireService } from './services.ts';
import { repoRoot } from './tmp.ts';

const exec = promisify(execFile);

/**
 * The interpreter of the sidecars' Python environment (python/requirements-sidecars.txt: PennyLane, torch CPU,
 * snntorch): $MODELPLANE_SIDECAR_VENV (set by .ci/run), else built on demand by scripts/python-env.sh (cached).
 * Undefined when it is unavailable and services are not required (the caller skips).
 */
export async function sidecarPython(): Promise<string | undefined> {
  let python = '';
  const available = await requireService('python sidecar environment', async () => {
    let venv = process.env.MODELPLANE_SIDECAR_VENV;
    if (!venv) {
      const { stdout } = await exec(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-sidecars.txt')], { timeout: 1_200_000 });
      venv = stdout.trim();
    }
    python = join(venv, 'bin/python');
    return existsSync(python) ? { available: true } : { available: false, reason: `no Python in ${venv}` };
  });
  return available ? python : undefined;
}

/**
 * The suite both sidecar runtimes run on their seed model: the SDK conformance kit against the Python reference
 * outputs, then the signature and the details the instance describes. Skipped without the sidecar environment.
 */
export async function describeSidecarRuntime(options: {
  title: string;
  /** The plugin's fixtures folder: `<model>/` to load and `<model>.reference.json`. */
  fixtures: string;
  model: string;
  framework: string;
  fixtureName: string;
  /** The runtime for this interpreter, without a spare (the kit loads an instance per check). */
  runtime(python: string, logger: PluginLogger): RuntimePlugin;
  signature: ModelSignature;
  described: Record<string, unknown>;
}): Promise<void> {
  const reference = JSON.parse(readFileSync(join(options.fixtures, `${options.model}.reference.json`), 'utf8')) as {
    inputs: { features: { shape: number[]; data: number[] } };
    outputs: Record<string, { shape: number[]; data: number[] }>;
    tolerance: number;
  };
  const silent: PluginLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const python = await sidecarPython();
  const input: Tensor[] = [fromJsonData('features', 'FP32', reference.inputs.features.shape, reference.inputs.features.data)];

  describe.runIf(python)(options.title, () => {
    const runtime = options.runtime(python!, silent);
    const fixture: RuntimeFixture = {
      name: options.fixtureName,
      load: loadRequestFromDirectory(join(options.fixtures, options.model), { framework: options.framework }),
      input,
      expected: { outputs: reference.outputs, tolerance: reference.tolerance },
      batchable: true,
    };
    describe('conformance', () => {
      for (const check of runtimeConformance(runtime, [fixture])) it(check.name, check.run, 60_000);
    });

    it('describes its device and declares the seed signature', async () => {
      const instance = await runtime.load(fixture.load);
      try {
        expect(instance.signature).toEqual(options.signature);
        expect(instance.describe?.()).toMatchObject(options.described);
      } finally {
        await instance.dispose();
      }
    }, 60_000);
  });
}
