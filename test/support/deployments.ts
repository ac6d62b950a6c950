import { expect } from 'vitest';
import { pushVersion, validMetadata } from './registry-client.ts';
import type { TestServer } from './server.ts';

/** The test runtime under test/fixtures/plugins (scripted errors, latency and answers), relative to examples/. */
export const SCRIPTED_PLUGIN = '../test/fixtures/plugins/runtime-scripted';

export interface Script {
  errorRate?: number;
  delayMs?: number;
  loadDelayMs?: number;
  healthy?: boolean;
  /** The declared width of input `x` (default 3): another width is an incompatible version. */
  inputWidth?: number;
  /** 0: always right on `labelledDataset`; anything else: always wrong. */
  shift?: number;
}

/** A labelled dataset in the format validation reads: label = argmax of each row of `x`. */
export function labelledDataset(samples = 40): { inputs: unknown[]; labels: number[] } {
  const data: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < samples; i++) {
    const label = i % 3;
    for (let k = 0; k < 3; k++) data.push(k === label ? 1 : 0.1 * k);
    labels.push(label);
  }
  return { inputs: [{ name: 'x', datatype: 'FP32', shape: [samples, 3], data }], labels };
}

/** Registers a scripted-runtime version (with the labelled dataset as validation.json) and marks it active. */
export async function pushScripted(server: TestServer, model: string, version: string, script: Script = {}, metrics: Record<string, number> = { accuracy: 0.9 }) {
  const response = await pushVersion(
    server,
    model,
    version,
    { 'model.json': JSON.stringify(script), 'validation.json': JSON.stringify(labelledDataset()) },
    validMetadata({ framework: 'scripted', runtime: 'scripted', scripted: script, performance_metrics: metrics }),
  );
  expect(response.status, await response.clone().text()).toBe(201);
}

export const ROW = { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [0.2, 0.9, 0.1] }] };

export async function infer(server: TestServer, name: string, headers: Record<string, string> = {}) {
  const response = await server.call(`/v2/models/${name}/infer`, { method: 'POST', json: ROW, headers });
  const body = (await response.json()) as { model_version?: string; outputs?: Array<{ data: number[] }>; error?: string };
  return { status: response.status, version: body.model_version, body };
}

/** Sends requests from `clients` loops until `stop()`; returns every outcome. */
export function steadyLoad(send: () => Promise<{ status: number; version?: string }>, clients = 4) {
  let running = true;
  const outcomes: Array<{ status: number; version?: string }> = [];
  const loops = Array.from({ length: clients }, async () => {
    while (running) outcomes.push(await send());
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function deployment(server: TestServer, name: string) {
  return (await (await server.call(`/api/v1/deployments/${name}`)).json()) as {
    spec: { traffic: Array<{ version: string; weight: number }> };
    status: {
      traffic: Array<{ version: string; weight: number }>;
      rollout: { candidate: string; stepIndex: number; percent: number } | null;
      lastRollout: { candidate: string; status: string; reason: string } | null;
      loaded: string[];
      shadow?: { requests: number; compared: number; agreementRate: number | null; p99Ms: number | null };
    };
  };
}
