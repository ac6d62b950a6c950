/**
 * Sidecar protocol overhead and the worth of a persistent process, for both Python runtimes:
 * - ping round trip: the framing, the pipes and both event loops, with no model work;
 * - a 64-float request (1 row) through SidecarInstance.infer vs the same model call timed inside Python;
 * - requests per second on a persistent sidecar vs spawning Python per request (start, imports, LOAD, INFER, exit).
 *
 *   node_modules/.bin/node bench/sidecar.ts          # BENCH_ROUNDS=2000 per latency measurement; BENCH_SPAWNS=5
 * Uses $MODELPLANE_SIDECAR_VENV, else the environment scripts/python-env.sh builds from python/requirements-sidecars.txt.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadRequestFromDirectory, type ModelInstance, Op, type PluginLogger, type RuntimePlugin, SIDECAR_PYTHON_LIBRARY, type SidecarInstance, tensorsToWire } from '@modelplane/plugin-sdk';
import { PennylaneOptions, pennylaneRuntime } from '../plugins/runtime-pennylane/src/index.ts';
import { SnntorchOptions, snntorchRuntime } from '../plugins/runtime-snntorch/src/index.ts';
import { percentile, repoRoot, table } from './support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 2000);
const spawns = Number(process.env.BENCH_SPAWNS ?? 5);
const venv = process.env.MODELPLANE_SIDECAR_VENV ?? execFileSync(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-sidecars.txt')], { encoding: 'utf8' }).trim();
const python = join(venv, 'bin/python');
const silent: PluginLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const row = () => {
  const features = new Float32Array(64);
  for (let i = 0; i < 64; i++) features[i] = Math.sin(i);
  return [{ name: 'features', datatype: 'FP32' as const, shape: [1, 64], data: features }];
};

async function timeMany(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < Math.min(200, n); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

/** The same model built by the same sidecar module, its infer timed inside Python (median of `n`, ms). */
function pythonCallMs(module: string, dir: string, options: Record<string, unknown>, n: number): number {
  const script = `
import json, sys, time, numpy as np
from ${module} import load
spec = json.load(open(sys.argv[1] + '/spec.json'))
model = load({'spec': spec, 'options': json.loads(sys.argv[2])}, open(sys.argv[1] + '/weights.safetensors', 'rb').read())
x = {'features': np.sin(np.arange(64, dtype=np.float32)).reshape(1, 64)}
wanted = [o['name'] for o in model.outputs]
for _ in range(50): model.infer(x, wanted)
times = []
for _ in range(${n}):
    t = time.perf_counter(); model.infer(x, wanted); times.append(time.perf_counter() - t)
print(sorted(times)[len(times) // 2] * 1000)`;
  const pythonPath = [join(repoRoot, 'plugins', module === 'pennylane_sidecar' ? 'runtime-pennylane' : 'runtime-snntorch', 'python'), SIDECAR_PYTHON_LIBRARY].join(':');
  return Number(execFileSync(python, ['-c', script, dir, JSON.stringify(options)], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: pythonPath } }).trim());
}

interface Case {
  name: string;
  runtime: RuntimePlugin;
  dir: string;
  framework: string;
  module: string;
  pyOptions: Record<string, unknown>;
}
const cases: Case[] = [
  {
    name: 'pennylane hybrid QNN',
    runtime: pennylaneRuntime(PennylaneOptions.parse({ python, spare: false }), silent),
    dir: join(repoRoot, 'plugins/runtime-pennylane/fixtures/hybrid-qnn'),
    framework: 'pennylane',
    module: 'pennylane_sidecar',
    pyOptions: { device: 'default.qubit' },
  },
  {
    name: 'snntorch spiking MLP (25 steps)',
    // One torch thread: on a small machine torch's spinning intra-op pool competes with Node for the cores.
    runtime: snntorchRuntime(SnntorchOptions.parse({ python, spare: false, threads: 1 }), silent),
    dir: join(repoRoot, 'plugins/runtime-snntorch/fixtures/spiking-mlp'),
    framework: 'snntorch',
    module: 'snntorch_sidecar',
    pyOptions: { device: 'cpu', num_steps: 25, threads: 1 },
  },
];

const latency: Array<Record<string, string | number>> = [];
const throughput: Array<Record<string, string | number>> = [];
for (const c of cases) {
  const load = loadRequestFromDirectory(c.dir, { framework: c.framework });
  const instance = (await c.runtime.load(load)) as ModelInstance & SidecarInstance;
  const ping = await timeMany(() => instance.sidecar.request(Op.PING, {}), rounds);
  const inferTimes = await timeMany(() => instance.infer({ inputs: row() }), rounds);
  // Per request: the round trip minus the model's time as the sidecar measured it around the same call, so drift
  // between separate measurements (large on a shared VM) cancels out.
  const wire = tensorsToWire(row());
  const outputs = instance.signature.outputs.map((s) => s.name);
  const added: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const reply = await instance.sidecar.request(Op.INFER, { inputs: wire.specs, outputs }, wire.payload);
    added.push(performance.now() - started - Number(reply.header.compute_ms));
  }
  added.sort((a, b) => a - b);
  const inPython = pythonCallMs(c.module, c.dir, c.pyOptions, rounds);
  const p50 = percentile(inferTimes, 50);
  latency.push({
    model: c.name,
    'ping p50 / p99 (ms)': `${percentile(ping, 50).toFixed(3)} / ${percentile(ping, 99).toFixed(3)}`,
    'via sidecar p50 / p99 (ms)': `${p50.toFixed(3)} / ${percentile(inferTimes, 99).toFixed(3)}`,
    'added p50 / p99, per request (ms)': `${percentile(added, 50).toFixed(3)} / ${percentile(added, 99).toFixed(3)}`,
    'in-Python call p50, separate process (ms)': inPython.toFixed(3),
  });
  const persistentRps = 1000 / (inferTimes.reduce((a, b) => a + b, 0) / inferTimes.length);
  await instance.dispose();

  // A fresh interpreter per request: start, imports, LOAD, one INFER, shut down — what a CGI-style runtime pays.
  const perSpawn: number[] = [];
  for (let i = 0; i < spawns; i++) {
    const start = performance.now();
    const once = await c.runtime.load(load);
    await once.infer({ inputs: row() });
    await once.dispose();
    perSpawn.push(performance.now() - start);
  }
  const spawnRps = 1000 / (perSpawn.reduce((a, b) => a + b, 0) / perSpawn.length);
  throughput.push({
    model: c.name,
    'persistent (req/s, sequential)': persistentRps.toFixed(0),
    'spawn per request (req/s)': spawnRps.toFixed(2),
    ratio: `${(persistentRps / spawnRps).toFixed(0)}×`,
  });
}
console.log(`sidecar protocol, ${rounds} rounds per latency figure, ${spawns} spawns\n`);
console.log(table(latency));
console.log();
console.log(table(throughput));
