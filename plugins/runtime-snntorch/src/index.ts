import { fileURLToPath } from 'node:url';
import {
  parseRuntimeOptions,
  definePlugin,
  type ModelInstance,
  type PluginLogger,
  readSpecAndWeights,
  resolvePython,
  type RuntimeLoadRequest,
  type RuntimePlugin,
  SIDECAR_PYTHON_LIBRARY,
  SidecarInstance,
  SidecarRuntimeOptions,
  supervisionOf,
  type SidecarProcess,
  z,
} from '@modelplane/plugin-sdk';
import { execa } from 'execa';

const PLUGIN = '@modelplane/runtime-snntorch';
const PYTHON_DIR = fileURLToPath(new URL('../python', import.meta.url));
export const pythonEnv = { name: 'runtime-snntorch', requirements: `${PYTHON_DIR}/requirements.txt` };

export const SnntorchOptions = SidecarRuntimeOptions.extend({
  /** `auto`: CUDA when torch sees a GPU, else CPU. */
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /** Simulation steps per request; the membrane output has one row per step. */
  numSteps: z.int().min(1).max(10_000).default(25),
  /** torch intra-op threads; torch's default when omitted. */
  threads: z.int().min(1).max(1024).optional(),
});
export type SnntorchOptions = z.infer<typeof SnntorchOptions>;

/** Seed 001's spiking network, as data: Linear → Leaky per layer; the sidecar builds exactly this and nothing else. */
export const SpikingMlpSpec = z.strictObject({
  architecture: z.literal('spiking-mlp'),
  layer_sizes: z.array(z.int().min(1).max(65536)).min(2).max(64),
  beta: z.number().min(0).max(1),
  threshold: z.number().positive().optional(),
});
export type SpikingMlpSpec = z.infer<typeof SpikingMlpSpec>;

function resolveOptions(defaults: Partial<SnntorchOptions>, overrides: Record<string, unknown>): SnntorchOptions {
  return parseRuntimeOptions(SnntorchOptions, 'snntorch', { ...defaults, ...overrides });
}

/** execa as the supervisor's process shape: binary pipes, no buffering of output, no rejection on a crash. */
function spawnSidecar(python: string): SidecarProcess {
  const child = execa(python, ['-m', 'snntorch_sidecar'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    encoding: 'buffer',
    env: { PYTHONPATH: [PYTHON_DIR, SIDECAR_PYTHON_LIBRARY].join(':'), PYTHONUNBUFFERED: '1' },
  });
  const exited = child.then((result) => ({ code: result.exitCode ?? null, signal: result.signal ?? null }));
  return { pid: child.pid, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: (signal) => void child.kill(signal) };
}

async function load(request: RuntimeLoadRequest, defaults: Partial<SnntorchOptions>, logger: PluginLogger): Promise<ModelInstance> {
  const options = resolveOptions(defaults, request.options);
  const { spec, specPath, weights, weightsPath } = await readSpecAndWeights(request, options, SpikingMlpSpec, (s) =>
    Object.fromEntries(s.layer_sizes.slice(1).flatMap((size, i) => [[`fc${i + 1}.weight`, [size, s.layer_sizes[i]!]], [`fc${i + 1}.bias`, [size]]])),
  );
  const python = resolvePython(options.python, pythonEnv, PLUGIN);
  return SidecarInstance.start({
    name: `snntorch ${request.model}@${request.version}`,
    spawn: () => spawnSidecar(python),
    load: {
      header: { spec, options: { device: options.device, num_steps: options.numSteps, ...(options.threads ? { threads: options.threads } : {}) } },
      payload: [weights],
    },
    logger,
    ...supervisionOf(options),
    details: { runtime: 'snntorch', python, specFile: specPath, weightsFile: weightsPath },
  });
}

export function snntorchRuntime(defaults: Partial<SnntorchOptions>, logger: PluginLogger): RuntimePlugin {
  return { id: 'snntorch', frameworks: ['snntorch'], devices: ['cpu', 'cuda'], load: (request) => load(request, defaults, logger) };
}

export default definePlugin({
  name: PLUGIN,
  version: '0.1.0',
  apiVersion: '^1',
  description: "Seed 001's spiking network (snntorch Leaky layers) on CPU or CUDA, in a supervised Python sidecar",
  optionsSchema: SnntorchOptions,
  setup(ctx) {
    ctx.register.runtime(snntorchRuntime(ctx.options, ctx.logger));
  },
});
