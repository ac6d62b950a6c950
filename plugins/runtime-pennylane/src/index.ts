import { spawn } from 'node:child_process';
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

const PLUGIN = '@modelplane/runtime-pennylane';
const PYTHON_DIR = fileURLToPath(new URL('../python', import.meta.url));
export const pythonEnv = { name: 'runtime-pennylane', requirements: `${PYTHON_DIR}/requirements.txt` };

export const PennylaneOptions = SidecarRuntimeOptions.extend({
  /** A PennyLane device name, e.g. `default.qubit` or `lightning.qubit`. */
  device: z
    .string()
    .regex(/^[a-z][\w.]*$/, 'a PennyLane device name such as default.qubit')
    .default('default.qubit'),
});
export type PennylaneOptions = z.infer<typeof PennylaneOptions>;

/** Seed 001's hybrid network, as data: the sidecar builds exactly this and nothing else. */
export const HybridQnnSpec = z.strictObject({
  architecture: z.literal('hybrid-qnn'),
  input_dim: z.int().min(1).max(4096),
  n_qubits: z.int().min(1).max(24),
  n_layers: z.int().min(1).max(64),
  hidden_dim: z.int().min(1).max(4096),
  output_dim: z.int().min(1).max(4096),
  /** AngleEmbedding's rotation. */
  rotation: z.enum(['X', 'Y', 'Z']).optional(),
});
export type HybridQnnSpec = z.infer<typeof HybridQnnSpec>;

function resolveOptions(defaults: Partial<PennylaneOptions>, overrides: Record<string, unknown>): PennylaneOptions {
  return parseRuntimeOptions(PennylaneOptions, 'pennylane', { ...defaults, ...overrides });
}

/** node:child_process as the supervisor's process shape. */
function spawnSidecar(python: string): SidecarProcess {
  const child = spawn(python, ['-m', 'pennylane_sidecar'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: [PYTHON_DIR, SIDECAR_PYTHON_LIBRARY].join(':'), PYTHONUNBUFFERED: '1' },
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A missing interpreter never exits; report it as an exit so the supervisor fails the load.
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  return { pid: child.pid, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: (signal) => void child.kill(signal) };
}

async function load(request: RuntimeLoadRequest, defaults: Partial<PennylaneOptions>, logger: PluginLogger): Promise<ModelInstance> {
  const options = resolveOptions(defaults, request.options);
  const { spec, specPath, weights, weightsPath } = await readSpecAndWeights(request, options, HybridQnnSpec, (s) => ({
    'classical_encoder.0.weight': [s.n_qubits, s.input_dim],
    'classical_encoder.0.bias': [s.n_qubits],
    quantum_weights: [s.n_layers, s.n_qubits, 3],
    'classical_decoder.0.weight': [s.hidden_dim, s.n_qubits],
    'classical_decoder.0.bias': [s.hidden_dim],
    'classical_decoder.2.weight': [s.output_dim, s.hidden_dim],
    'classical_decoder.2.bias': [s.output_dim],
  }));
  const python = resolvePython(options.python, pythonEnv, PLUGIN);
  return SidecarInstance.start({
    name: `pennylane ${request.model}@${request.version}`,
    spawn: () => spawnSidecar(python),
    load: { header: { spec, options: { device: options.device } }, payload: [weights] },
    logger,
    ...supervisionOf(options),
    details: { runtime: 'pennylane', python, specFile: specPath, weightsFile: weightsPath },
  });
}

export function pennylaneRuntime(defaults: Partial<PennylaneOptions>, logger: PluginLogger): RuntimePlugin {
  return { id: 'pennylane', frameworks: ['pennylane'], devices: ['cpu'], load: (request) => load(request, defaults, logger) };
}

export default definePlugin({
  name: PLUGIN,
  version: '0.1.0',
  apiVersion: '^1',
  description: "Seed 001's hybrid quantum-classical network on a PennyLane device, in a supervised Python sidecar",
  optionsSchema: PennylaneOptions,
  setup(ctx) {
    ctx.register.runtime(pennylaneRuntime(ctx.options, ctx.logger));
  },
});
