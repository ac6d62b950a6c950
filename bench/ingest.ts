/**
 * Ingest throughput: push one large file through `POST /api/v1/blobs` and compare with `cp` of the same file on the
 * same disk, in the same run; report the server process's memory growth.
 *   node bench/ingest.ts            (2 GiB; BENCH_INGEST_MB=512 for a quicker run)
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../core/src/cli/client.ts';
import { cpuSecondsOf, memoryOf, repoRoot, startServerProcess, table } from './support.ts';

const megabytes = Number(process.env.BENCH_INGEST_MB ?? 2048);
const dir = mkdtempSync(join(repoRoot, '.test-tmp-bench-'));
const source = join(dir, 'big.bin');

// Incompressible-looking, non-sparse bytes, so neither cp nor the filesystem can take shortcuts.
const block = Buffer.alloc(8 * 1024 * 1024);
for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
const fd = openSync(source, 'w');
for (let written = 0; written < megabytes * 1024 * 1024; written += block.length) {
  block.writeUInt32LE(written, 0);
  writeSync(fd, block);
}
closeSync(fd);
const bytes = megabytes * 1024 * 1024;
execFileSync('sync');

function timeCp(): number {
  const started = performance.now();
  execFileSync('cp', [source, join(dir, 'copy.bin')]);
  execFileSync('sync');
  const seconds = (performance.now() - started) / 1000;
  rmSync(join(dir, 'copy.bin'));
  return seconds;
}

const server = await startServerProcess(dir, `server: { port: 0, logLevel: warn }\nstorage: { dataDir: data }`);
// One small upload first, so the baseline includes the code paths' one-time allocations (HTTP parser, crypto,
// streams) and the growth measured is what the large file adds.
await fetch(`${server.url}/api/v1/blobs`, { method: 'POST', headers: { authorization: `Bearer ${server.adminKey}` }, body: Buffer.alloc(16 * 1024 * 1024, 1) });
const before = memoryOf(server.child.pid!);
const client = new ApiClient({ url: server.url, key: server.adminKey });

/**
 * One upload, by the upload path of `modelplane push` (node:http, file read in 1 MiB chunks) or by curl: on two cores
 * the client's own CPU is taken from the server, and curl's is the smaller share.
 */
async function timePush(by: 'cli' | 'curl'): Promise<number> {
  const started = performance.now();
  let stored: number;
  if (by === 'curl') {
    const out = execFileSync('curl', ['-sS', '-f', '-T', source, '-X', 'POST', '-H', `authorization: Bearer ${server.adminKey}`, '-H', 'content-type: application/octet-stream', '-H', 'expect:', `${server.url}/api/v1/blobs`], { encoding: 'utf8' });
    stored = (JSON.parse(out) as { size: number }).size;
  } else {
    const result = await client.upload<{ size: number }>('/api/v1/blobs', createReadStream(source, { highWaterMark: 1024 * 1024 }), {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes),
    });
    stored = result.size;
  }
  if (stored !== bytes) throw new Error(`server stored ${stored} bytes of ${bytes}`);
  execFileSync('sync');
  const seconds = (performance.now() - started) / 1000;
  // Delete so the next round writes again instead of deduplicating.
  await fetch(`${server.url}/api/v1/gc?min_age_seconds=0`, { method: 'POST', headers: { authorization: `Bearer ${server.adminKey}` } });
  return seconds;
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const cpuBefore = cpuSecondsOf(server.child.pid!);
const cp: number[] = [];
const push: number[] = [];
const curl: number[] = [];
for (let i = 0; i < rounds; i++) {
  cp.push(timeCp());
  push.push(await timePush('cli'));
  curl.push(await timePush('curl'));
}
const after = memoryOf(server.child.pid!);
const serverCpuPerGiB = (cpuSecondsOf(server.child.pid!) - cpuBefore) / (2 * rounds) / (bytes / 2 ** 30);
await server.stop();
rmSync(dir, { recursive: true, force: true });

const best = (xs: number[]) => Math.min(...xs);
const mbps = (seconds: number) => bytes / 1e6 / seconds;
console.log(`ingest of a ${megabytes} MiB file, best of ${rounds} rounds (cp and push alternate)\n`);
console.log(
  table([
    { method: 'cp + sync', 'MB/s': mbps(best(cp)).toFixed(0), seconds: best(cp).toFixed(2) },
    { method: 'POST /api/v1/blobs from modelplane push (node:http)', 'MB/s': mbps(best(push)).toFixed(0), seconds: best(push).toFixed(2) },
    { method: 'POST /api/v1/blobs from curl -T', 'MB/s': mbps(best(curl)).toFixed(0), seconds: best(curl).toFixed(2) },
  ]),
);
console.log(`\nratio push/cp: ${(mbps(best(push)) / mbps(best(cp))).toFixed(2)}× from modelplane push, ${(mbps(best(curl)) / mbps(best(cp))).toFixed(2)}× from curl (target ≥ 0.8×)`);
console.log(`server CPU: ${serverCpuPerGiB.toFixed(2)} s per GiB pushed (user + system; independent of how busy the machine is)`);
console.log(
  `server RSS: ${(before.rss / 2 ** 20).toFixed(0)} MiB after a 16 MiB warm-up upload, peak ${(after.peak / 2 ** 20).toFixed(0)} MiB over all rounds; ` +
    `growth ${((after.peak - before.rss) / 2 ** 20).toFixed(0)} MiB (target ≤ 64 MiB)`,
);
