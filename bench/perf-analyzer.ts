/**
 * Triton's own load generator, perf_analyzer, against Modelplane over HTTP (V2), across a concurrency range.
 * perf_analyzer 2.40 cannot send an Authorization header, so this server runs with `auth.mode: none`.
 *   node bench/perf-analyzer.ts      (builds the cached Python env of python/requirements-perf.txt on first run)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onnxServerConfig, repoRoot, startServerProcess, table } from './support.ts';

const venv = execFileSync(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-perf.txt')], { encoding: 'utf8' }).trim();
const cudart = join(venv, 'lib/python3.11/site-packages/nvidia/cuda_runtime/lib');
const dir = mkdtempSync(join(repoRoot, '.test-tmp-bench-'));
const server = await startServerProcess(dir, onnxServerConfig(), { authMode: 'none' });
const range = process.env.BENCH_CONCURRENCY ?? '1:16:5';
const result = spawnSync(
  join(venv, 'bin/perf_analyzer'),
  ['-m', 'ids', '-u', server.url.replace('http://', ''), '-i', 'http', '--concurrency-range', range, '--measurement-interval', '3000', '-b', '1'],
  { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: cudart } },
);
await server.stop();
rmSync(dir, { recursive: true, force: true });
if (result.status !== 0) {
  console.error(result.stdout, result.stderr);
  process.exit(1);
}
const rows = [...result.stdout.matchAll(/Concurrency: (\d+), throughput: ([\d.]+) infer\/sec, latency (\d+) usec/g)].map((m) => ({
  concurrency: m[1]!,
  'infer/s': m[2]!,
  'avg latency µs': m[3]!,
}));
console.log(`perf_analyzer (tritonclient 2.40.0) against Modelplane, ids-mlp, batch 1, HTTP, concurrency ${range}\n`);
console.log(table(rows));
console.log(`\nperf_analyzer exit status ${result.status}; errors reported: ${/error/i.test(result.stdout + result.stderr) ? 'yes' : 'none'}`);
