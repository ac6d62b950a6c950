import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '@modelplane/core';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const node = join(repoRoot, 'node_modules/.bin/node');

export interface BenchServer {
  url: string;
  adminKey: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `modelplane serve` as its own process (so its memory is measured alone) with the given config text. */
export async function startServerProcess(dir: string, configYaml: string, options: { authMode?: 'apiKey' | 'none' } = {}): Promise<BenchServer> {
  const adminKey = generateApiKey().token;
  const config = join(dir, 'modelplane.config.yaml');
  // Benchmarks measure the server, not the rate limiter.
  writeFileSync(
    config,
    `${configYaml}\nauth:\n  mode: ${options.authMode ?? 'apiKey'}\n  adminKey: ${adminKey}\n  rateLimit: { perSecond: 1000000000, burst: 1000000000 }\n`,
  );
  const child = spawn(node, [join(repoRoot, 'core/bin/modelplane.js'), 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /listening on (\S+)/.exec(line);
    if (match) {
      return {
        url: match[1]!,
        adminKey,
        child,
        stop: async () => {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
        },
      };
    }
  }
  throw new Error('server exited before listening');
}

/** Resident and peak resident memory of a process, in bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; clock ticks are 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function table(rows: Array<Record<string, string | number>>): string {
  const headers = Object.keys(rows[0]!);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(headers.map((h) => String(r[h]))))].join('\n');
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The seed 001 classifier every inference bench serves. */
export const IDS_MODEL = join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx');

/** Registry metadata (YAML flow style) for the models the benches register. */
export const BENCH_METADATA = '{ framework: onnx, architecture: mlp, training_data_description: bench, performance_metrics: { accuracy: 1 }, license: { id: MIT } }';

/** Config for a server with the ONNX runtime (one intra-op thread) serving IDS_MODEL as `ids`, plus extra models. */
export function onnxServerConfig(extraModels = ''): string {
  return `server: { port: 0, logLevel: warn }
storage: { dataDir: data }
plugins:
  - package: '@modelplane/runtime-onnx'
    options: { intraOpThreads: 1 }
models:
  - name: ids
    register: { path: ${IDS_MODEL}, version: 1.0.0, metadata: ${BENCH_METADATA} }
${extraModels}`;
}
