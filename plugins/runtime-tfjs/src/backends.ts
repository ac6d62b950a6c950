import { existsSync } from 'node:fs';
import util from 'node:util';
import type { PluginLogger } from '@modelplane/plugin-sdk';
import type * as tfjs from '@tensorflow/tfjs';
import { BACKENDS, type BackendChoice } from './options.ts';

/** The TF.js API; tfjs-node(-gpu) re-export the same namespace with their backend registered (plus `node`). */
export type Tf = typeof tfjs;

/** What a native backend adds: SavedModel loading through the TensorFlow C library. */
export interface TfNode {
  getMetaGraphsFromSavedModel(path: string): Promise<Array<{ tags: string[]; signatureDefs: Record<string, SignatureDef> }>>;
  loadSavedModel(path: string, tags?: string[], signature?: string): Promise<SavedModel>;
}
/** A SavedModel signature: tensors by signature key. Dimensions come as numbers or as protobuf `Dim` messages. */
export interface SignatureDef {
  inputs: Record<string, { dtype: string; shape?: unknown[] }>;
  outputs: Record<string, { dtype: string; shape?: unknown[] }>;
}
export interface SavedModel {
  predict(inputs: Record<string, tfjs.Tensor>): unknown;
  dispose(): void;
}

export interface Backend {
  choice: BackendChoice;
  tf: Tf;
  /** The npm package that provides it. */
  package: string;
  /** `tf.getBackend()`: `tensorflow` for both native packages, else `wasm` or `cpu`. */
  tfBackend: string;
  device: 'cuda' | 'cpu';
  /** SavedModel support, only with the TensorFlow C library. */
  node?: TfNode;
  /** WebAssembly features actually in use. */
  wasm?: { simd: boolean; threads: boolean };
  /** Backends preferred over this one that could not load here, and why. */
  skipped: Array<{ backend: BackendChoice; reason: string }>;
}

/** How a module is imported; tests replace it to simulate absent or broken packages. */
export type Importer = (specifier: string) => Promise<unknown>;
const importModule: Importer = (specifier) => import(specifier);

const PACKAGE: Record<BackendChoice, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

/** A failure to say in one line: "not installed" differs from "installed but broken". */
function reasonOf(choice: BackendChoice, error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ERR_MODULE_NOT_FOUND' && message?.includes(PACKAGE[choice])) return `${PACKAGE[choice]} is not installed`;
  return `${PACKAGE[choice]} failed to load: ${(message ?? String(error)).split('\n')[0]}`;
}

async function activate(tf: Tf, name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`TF.js could not initialise its "${name}" backend`);
  await tf.ready();
  // Serving, not debugging: skips per-op NaN checks and silences TF.js' console hints.
  tf.enableProdMode();
}

/**
 * tfjs-node 4.22 (the latest) calls `util.isNullOrUndefined` and `util.isArray`, which Node 23 removed, on every op
 * with attributes; put them back before it loads, or its first matMul throws "isNullOrUndefined is not a function".
 */
function restoreLegacyUtil(): void {
  const legacy = util as unknown as Record<string, unknown>;
  legacy.isNullOrUndefined ??= (value: unknown) => value === null || value === undefined;
  legacy.isArray ??= Array.isArray;
}

async function tryBackend(choice: BackendChoice, importer: Importer): Promise<Omit<Backend, 'skipped'>> {
  const base = { choice, package: PACKAGE[choice] };
  if (choice === 'node-gpu' || choice === 'node') {
    // tfjs-node-gpu runs on CPU without telling when CUDA is missing; refuse to claim CUDA without a driver.
    if (choice === 'node-gpu' && process.platform === 'linux' && !existsSync('/proc/driver/nvidia/version')) {
      throw new Error('no NVIDIA driver is loaded on this machine');
    }
    restoreLegacyUtil();
    const tf = (await importer(PACKAGE[choice])) as Tf & { node?: TfNode };
    await activate(tf, 'tensorflow');
    return { ...base, tf, tfBackend: tf.getBackend(), device: choice === 'node-gpu' ? 'cuda' : 'cpu', ...(tf.node ? { node: tf.node } : {}) };
  }
  const tf = (await importer('@tensorflow/tfjs')) as Tf;
  if (choice === 'wasm') {
    await importer(PACKAGE.wasm); // registers the backend
    await activate(tf, 'wasm');
    // Threads need Web Workers, which the wasm backend does not get in Node: it runs single-threaded there.
    const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
    return { ...base, tf, tfBackend: tf.getBackend(), device: 'cpu', wasm: { simd: Boolean(simd), threads: Boolean(threads) } };
  }
  await activate(tf, 'cpu');
  return { ...base, tf, tfBackend: tf.getBackend(), device: 'cpu' };
}

/** The backend this process activated; TF.js's engine is global, so this is too. */
let active: Backend | undefined;

/**
 * Picks the backend: the one asked for (which must load), or the first of node-gpu → node → wasm → cpu that does.
 * Each preferred backend that could not load is logged once, here, with its reason. TF.js keeps one active backend
 * per process, so this runs once, at plugin setup.
 */
export async function chooseBackend(wanted: 'auto' | BackendChoice, logger: PluginLogger, importer: Importer = importModule): Promise<Backend> {
  // Switching would move every loaded model's weights to another backend behind its back (and make reports lie).
  if (active) {
    if (wanted === 'auto' || wanted === active.choice) return active;
    throw new Error(`the ${wanted} backend was asked for (option backend), but TF.js already runs on ${active.choice} in this process and has one backend per process`);
  }
  const candidates = wanted === 'auto' ? BACKENDS : [wanted];
  const skipped: Backend['skipped'] = [];
  for (const choice of candidates) {
    try {
      const backend = { ...(await tryBackend(choice, importer)), skipped };
      active = backend;
      logger.info({ backend: choice, tfBackend: backend.tfBackend, device: backend.device, ...backend.wasm }, `TF.js runs on the ${choice} backend`);
      return backend;
    } catch (error) {
      const reason = reasonOf(choice, error);
      if (wanted !== 'auto') throw new Error(`the ${choice} backend was asked for (option backend) but cannot run here: ${reason}`, { cause: error });
      skipped.push({ backend: choice, reason });
      logger.info({ backend: choice, reason }, `TF.js ${choice} backend unavailable, trying the next: ${reason}`);
    }
  }
  throw new Error(`no TF.js backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}

/** The backend as reported by the plugin and each model's metadata. */
export function describeBackend(backend: Backend): Record<string, unknown> {
  return {
    backend: backend.choice,
    package: backend.package,
    tfBackend: backend.tfBackend,
    tfjsVersion: backend.tf.version_core,
    device: backend.device,
    savedModel: backend.node !== undefined,
    ...(backend.wasm ? { wasm: backend.wasm } : {}),
    ...(backend.skipped.length > 0 ? { skipped: backend.skipped } : {}),
  };
}
