/**
 * V2 inference: Modelplane against its floor (a bare fastify route calling the same onnxruntime session), then
 * batching on vs off under load (the seed 001 classifier, and a wide MLP whose rows are memory-bound), then MLServer.
 * Servers run as separate processes; the load generator is this process.
 *   node bench/inference.ts          (BENCH_SECONDS=10 per measurement by default)
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { closedLoop, type LoadResult } from './load.ts';
import { BENCH_METADATA, IDS_MODEL, node, onnxServerConfig, percentile, repoRoot, startServerProcess, table } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const model = IDS_MODEL;
const dir = mkdtempSync(join(repoRoot, '.test-tmp-bench-'));
// 64 → 1024 → 1024 → 13 (4.5 MB of weights, ~0.5 ms a row here): built by the fixture script now, too big to commit.
const wideModel = join(dir, 'wide-mlp.onnx');
const fixturesVenv = execFileSync(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-fixtures.txt')], { encoding: 'utf8' }).trim();
execFileSync(join(fixturesVenv, 'bin/python'), [join(repoRoot, 'test/fixtures/onnx/generate.py'), '--mlp', wideModel, '1024,1024']);
const modelplane = await startServerProcess(
  dir,
  onnxServerConfig(`  - name: ids-nobatch
    reference: ids@1.0.0
    batching: { maxBatchSize: 0 }
  - name: wide
    register: { path: ${wideModel}, version: 1.0.0, metadata: ${BENCH_METADATA} }
  - name: wide-nobatch
    reference: wide@1.0.0
    batching: { maxBatchSize: 0 }`),
);
const floorPort = 20000 + Math.floor(Math.random() * 20000);
const floor = spawn(node, [join(repoRoot, 'bench/floor-server.ts'), model, String(floorPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
for await (const line of createInterface({ input: floor.stdout! })) if (line.includes('listening')) break;

const rowsOf = (rows: number) => JSON.stringify({ inputs: [{ name: 'features', shape: [rows, 64], datatype: 'FP32', data: Array.from({ length: rows * 64 }, (_, i) => Math.sin(i)) }] });
const auth = { authorization: `Bearer ${modelplane.adminKey}` };
const PATHS = {
  modelplane: '/v2/models/ids/infer',
  nobatch: '/v2/models/ids-nobatch/infer',
  wide: '/v2/models/wide/infer',
  'wide-nobatch': '/v2/models/wide-nobatch/infer',
  floor: '/infer',
};
const run = (target: keyof typeof PATHS, concurrency: number, secs = seconds): Promise<LoadResult> =>
  closedLoop({
    url: target === 'floor' ? `http://127.0.0.1:${floorPort}` : modelplane.url,
    path: PATHS[target],
    body: rowsOf(1),
    headers: target === 'floor' ? {} : auth,
    concurrency,
    seconds: secs,
    ...(target === 'floor' ? {} : { timingMetric: 'overhead' }),
  });

// Warm both, then alternate so drift on this shared machine hits both sides alike.
await run('modelplane', 4, 2);
await run('floor', 4, 2);
const mp1: LoadResult[] = [];
const fl1: LoadResult[] = [];
for (let i = 0; i < 2; i++) {
  mp1.push(await run('modelplane', 1, seconds / 2));
  fl1.push(await run('floor', 1, seconds / 2));
}
const merge = (results: LoadResult[]) => ({
  p50: results.reduce((s, r) => s + r.p50, 0) / results.length,
  p99: results.reduce((s, r) => s + r.p99, 0) / results.length,
  rps: results.reduce((s, r) => s + r.rps, 0) / results.length,
  overhead: percentile(results.flatMap((r) => r.timing).sort((a, b) => a - b), 50),
  errors: results.reduce((s, r) => s + r.errors, 0),
});
const a = merge(mp1);
const f = merge(fl1);

const load: Array<Record<string, string | number>> = [];
const ratios: string[] = [];
for (const [label, batched, unbatched] of [
  ['ids-mlp (64-128-64-13)', 'modelplane', 'nobatch'],
  ['wide MLP (64-1024-1024-13)', 'wide', 'wide-nobatch'],
] as const) {
  for (const concurrency of [16, 64]) {
    const on = await run(batched, concurrency);
    const off = await run(unbatched, concurrency);
    load.push({ model: label, concurrency, batching: 'on', 'req/s': on.rps.toFixed(0), 'p50 ms': on.p50.toFixed(2), 'p95 ms': on.p95.toFixed(2), errors: on.errors });
    load.push({ model: label, concurrency, batching: 'off', 'req/s': off.rps.toFixed(0), 'p50 ms': off.p50.toFixed(2), 'p95 ms': off.p95.toFixed(2), errors: off.errors });
    ratios.push(`${label}, concurrency ${concurrency}: throughput on/off ${(on.rps / off.rps).toFixed(2)}×, p95 on/off ${(on.p95 / off.p95).toFixed(2)}×`);
  }
}

// (c) MLServer with a minimal onnxruntime runtime (bench/mlserver/onnx_runtime.py), same model, same load generator.
const mlsVenv = execFileSync(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-bench.txt')], { encoding: 'utf8' }).trim();
const mlsDir = join(dir, 'mlserver');
mkdirSync(join(mlsDir, 'ids'), { recursive: true });
copyFileSync(join(repoRoot, 'bench/mlserver/onnx_runtime.py'), join(mlsDir, 'onnx_runtime.py'));
const mlsPort = floorPort + 1;
writeFileSync(join(mlsDir, 'settings.json'), JSON.stringify({ host: '127.0.0.1', http_port: mlsPort, grpc_port: mlsPort + 1, metrics_port: mlsPort + 2, parallel_workers: 0 }));
writeFileSync(join(mlsDir, 'ids', 'model-settings.json'), JSON.stringify({ name: 'ids', implementation: 'onnx_runtime.OnnxModel', parameters: { uri: model } }));
const mlserver = spawn(join(mlsVenv, 'bin/mlserver'), ['start', mlsDir], { cwd: mlsDir, stdio: 'ignore' });
for (let ready = false; !ready; ) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  ready = await fetch(`http://127.0.0.1:${mlsPort}/v2/models/ids/ready`).then((r) => r.ok, () => false);
}
const versus: Array<Record<string, string | number>> = [];
const versusRatios: string[] = [];
for (const concurrency of [16, 64]) {
  const mls = await closedLoop({ url: `http://127.0.0.1:${mlsPort}`, path: '/v2/models/ids/infer', body: rowsOf(1), concurrency, seconds });
  const mp = await run('modelplane', concurrency);
  versus.push({ concurrency, server: 'MLServer 1.7.1 (onnxruntime)', 'req/s': mls.rps.toFixed(0), 'p99 ms': mls.p99.toFixed(2), errors: mls.errors });
  versus.push({ concurrency, server: 'Modelplane (batching on)', 'req/s': mp.rps.toFixed(0), 'p99 ms': mp.p99.toFixed(2), errors: mp.errors });
  versusRatios.push(`concurrency ${concurrency}: throughput Modelplane/MLServer ${(mp.rps / mls.rps).toFixed(2)}×, p99 ${(mp.p99 / mls.p99).toFixed(2)}×`);
}
mlserver.kill('SIGTERM');

floor.kill('SIGTERM');
await modelplane.stop();
rmSync(dir, { recursive: true, force: true });

console.log(`(a) concurrency 1, ids-mlp [1, 64] FP32 JSON, ${seconds} s per side, alternating\n`);
console.log(
  table([
    { server: 'floor: bare fastify + session.run', 'p50 ms': f.p50.toFixed(3), 'p99 ms': f.p99.toFixed(3), 'req/s': f.rps.toFixed(0), errors: f.errors },
    { server: 'Modelplane /v2/models/ids/infer', 'p50 ms': a.p50.toFixed(3), 'p99 ms': a.p99.toFixed(3), 'req/s': a.rps.toFixed(0), errors: a.errors },
  ]),
);
console.log(`\np50 ratio Modelplane/floor: ${(a.p50 / f.p50).toFixed(2)}× (target ≤ 1.25×)`);
console.log(`server-side overhead p50 (Server-Timing "overhead": in the server, not queue, not compute): ${(a.overhead * 1000).toFixed(0)} µs (target ≤ 50 µs)\n`);
console.log(`(b) batching on vs off, [1, 64] per request, ${seconds} s each\n`);
console.log(table(load));
console.log(`\n${ratios.join('\n')}\n(target at 64: ≥ 4× throughput with p95 no worse)\n`);
console.log(`(c) against MLServer, [1, 64] per request, ${seconds} s each\n`);
console.log(table(versus));
console.log(`\n${versusRatios.join('\n')}\n(target: ≥ 3× MLServer's throughput with lower p99)`);
