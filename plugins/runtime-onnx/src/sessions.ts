import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PluginLogger } from '@modelplane/plugin-sdk';
import * as ort from 'onnxruntime-node';
import type { OnnxOptions } from './options.ts';

/** Where a session is loaded from: the model's bytes, or its path in a folder holding its external data too. */
export type ModelSource = Uint8Array | string;

function probeCuda(): string | undefined {
  const backend = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!backend) return `this onnxruntime-node build (${process.platform}/${process.arch}) has no CUDA execution provider`;
  if (!backend.bundled) {
    const binding = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (!existsSync(join(binding, library))) {
      return `onnxruntime-node was installed without its CUDA libraries (${library}); reinstall it with --onnxruntime-node-install=cuda12`;
    }
  }
  if (process.platform === 'linux' && !existsSync('/proc/driver/nvidia/version')) return 'no NVIDIA driver is loaded on this machine';
  return undefined;
}

let cudaProbe: { reason: string | undefined } | undefined;

/**
 * Why CUDA cannot run here, or undefined when it may. Checked without asking onnxruntime to try, which would print
 * native errors: the CUDA execution provider ships outside the npm package (this repo's .npmrc skips its download)
 * and needs an NVIDIA driver. Probed once per process.
 */
export function cudaUnavailableReason(): string | undefined {
  cudaProbe ??= { reason: probeCuda() };
  return cudaProbe.reason;
}

export function sessionOptions(options: OnnxOptions): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionMode: options.executionMode,
    ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
    ...(options.interOpThreads === undefined ? {} : { interOpNumThreads: options.interOpThreads }),
  };
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The execution providers the session was created with, in order. */
  providers: string[];
}

/**
 * Creates a session on the wanted providers. CUDA that is unavailable, or that fails to start, falls back to CPU;
 * the reason is logged once per runtime (`warned` remembers it), not once per load.
 */
export async function createSession(source: ModelSource, options: OnnxOptions, logger: PluginLogger, warned: Set<string>): Promise<CreatedSession> {
  const base = sessionOptions(options);
  const create = (providers: ort.InferenceSession.ExecutionProviderConfig[]) =>
    typeof source === 'string'
      ? ort.InferenceSession.create(source, { ...base, executionProviders: providers })
      : ort.InferenceSession.create(source, { ...base, executionProviders: providers });
  const fallBack = (reason: string) => {
    if (warned.has(reason)) return;
    warned.add(reason);
    logger.warn({ reason }, `CUDA execution provider unavailable, running on CPU: ${reason}`);
  };
  if (options.executionProviders[0] === 'cuda') {
    const reason = cudaUnavailableReason();
    if (reason === undefined) {
      try {
        const session = await create([{ name: 'cuda', deviceId: options.cudaDeviceId }, 'cpu']);
        return { session, providers: ['cuda', 'cpu'] };
      } catch (error) {
        fallBack(`onnxruntime could not start CUDA: ${(error as Error).message}`);
      }
    } else fallBack(reason);
  }
  return { session: await create(['cpu']), providers: ['cpu'] };
}
