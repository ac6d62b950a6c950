/**
 * Throughput of @modelplane/runtime-tfjs against @modelplane/runtime-onnx on the same network (seed 001's Keras
 * classifier, test/fixtures/tfjs: the TF.js LayersModel and its ONNX export ids-keras.onnx), at batch 1 and 32.
 * Runtimes are called directly (no HTTP), one call at a time, as the core's batcher calls them.
 *
 *   node bench/tfjs-vs-onnx.ts                      (BENCH_SECONDS=6 per measurement; BENCH_TFJS_BACKENDS=node,wasm,cpu)
 *
 * TF.js has one backend per process, so each backend runs in a child process of its own, where ONNX Runtime is
 * measured too, alternating with TF.js so drift on this shared machine hits both alike; each ratio is from one child.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { concatBatch, loadRequestFromDirectory, type ModelInstance, type PluginLogger, splitBatch, zeroTensor } from '@modelplane/plugin-sdk';
import { OnnxOptions, onnxRuntime } from '@modelplane/runtime-onnx';
import { chooseBackend, describeBackend, tfjsRuntime } from '@modelplane/runtime-tfjs';
import { node, repoRoot, table } from './support.ts';

const fixtures = join(repoRoot, 'test/fixtures/tfjs');
const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const BATCHES = [1, 32];
const quiet: PluginLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

interface Row {
  backend: string;
  batch: number;
  tfjs: number;
  onnx: number;
}

async function callsPerSecond(instance: ModelInstance, batch: number, ms: number): Promise<number> {
  const rows = splitBatch([zeroTensor('features', 'FP32', [batch, 64])], Array.from({ length: batch }, () => 1)).map(([t]) => {
    const data = new Float32Array(64).map((_, i) => Math.sin(i));
    return [{ ...t!, data }];
  });
  const { inputs } = concatBatch(rows);
  const end = performance.now() + ms;
  let calls = 0;
  while (performance.now() < end) {
    await instance.infer({ inputs });
    calls++;
  }
  return calls / (ms / 1000);
}

async function child(backendName: string): Promise<void> {
  const backend = await chooseBackend(backendName as never, quiet);
  const tfjs = await tfjsRuntime(backend).load(loadRequestFromDirectory(join(fixtures, 'layers'), { framework: 'tfjs', options: { maxBatchSize: 64 } }));
  const onnx = await onnxRuntime(OnnxOptions.parse({}), quiet).load(loadRequestFromDirectory(fixtures, { framework: 'onnx', options: { modelFile: 'ids-keras.onnx' } }, (p) => p === 'ids-keras.onnx'));
  const rows: Row[] = [];
  for (const batch of BATCHES) {
    await callsPerSecond(tfjs, batch, 500);
    await callsPerSecond(onnx, batch, 500);
    const t: number[] = [];
    const o: number[] = [];
    for (let round = 0; round < 3; round++) {
      t.push(await callsPerSecond(tfjs, batch, (seconds * 1000) / 6));
      o.push(await callsPerSecond(onnx, batch, (seconds * 1000) / 6));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({ backend: backendName, batch, tfjs: mean(t), onnx: mean(o) });
  }
  console.log(JSON.stringify({ rows, described: describeBackend(backend) }));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!);
} else {
  const backends = (process.env.BENCH_TFJS_BACKENDS ?? 'node,wasm,cpu').split(',');
  const out: Array<Record<string, string | number>> = [];
  for (const backend of backends) {
    let result: { rows: Row[]; described: Record<string, unknown> };
    try {
      const stdout = execFileSync(node, [join(repoRoot, 'bench/tfjs-vs-onnx.ts'), '--child', backend], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    } catch (error) {
      const reason = /Error: .*cannot run here: (.*)/.exec(String((error as { stderr?: string }).stderr ?? error))?.[1] ?? 'failed';
      out.push({ 'TF.js backend': backend, batch: '-', 'TF.js rows/s': '-', 'ONNX rows/s': '-', 'TF.js / ONNX': `unavailable: ${reason}` });
      continue;
    }
    for (const row of result.rows) {
      out.push({
        'TF.js backend': `${row.backend}${row.backend === 'wasm' ? ` (simd ${String((result.described.wasm as { simd: boolean }).simd)})` : ''}`,
        batch: row.batch,
        'TF.js rows/s': Math.round(row.tfjs * row.batch),
        'ONNX rows/s': Math.round(row.onnx * row.batch),
        'TF.js / ONNX': `${(row.tfjs / row.onnx).toFixed(2)}×`,
      });
    }
  }
  console.log(`seed 001 classifier (64 → 256 → 128 → 13), ${seconds} s per measurement, one call at a time, onnxruntime-node default threads\n`);
  console.log(table(out));
}
