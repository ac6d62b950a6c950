import { Pool } from 'undici';
import { percentile } from './support.ts';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** Values of one Server-Timing metric (e.g. overhead), when asked for. */
  timing: number[];
}

/**
 * A closed-loop load generator: `concurrency` callers each send the next request as soon as the previous answer
 * arrives, for `seconds`. Latencies in milliseconds.
 */
export async function closedLoop(options: {
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  concurrency: number;
  seconds: number;
  timingMetric?: string;
}): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: options.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const timing: number[] = [];
  let errors = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const started = performance.now();
  const headers = { 'content-type': 'application/json', ...options.headers };
  const pattern = options.timingMetric ? new RegExp(`${options.timingMetric};dur=([\\d.]+)`) : undefined;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          const response = await pool.request({ method: 'POST', path: options.path, headers, body: options.body });
          await response.body.text();
          if (response.statusCode !== 200) errors++;
          else {
            latencies.push(performance.now() - t);
            const header = response.headers['server-timing'];
            const match = pattern && typeof header === 'string' ? pattern.exec(header) : null;
            if (match) timing.push(Number(match[1]));
          }
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  timing.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    timing,
  };
}

/**
 * An open-loop load generator: one request every 1/rps seconds whatever the answers do (so a slow server
 * queues, as it would in production), for `seconds`. Latencies in milliseconds.
 */
export async function openLoop(options: { url: string; path: string; body: string; headers?: Record<string, string>; rps: number; seconds: number }): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: 256, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const headers = { 'content-type': 'application/json', ...options.headers };
  const total = Math.max(1, Math.round(options.rps * options.seconds));
  const interval = 1000 / options.rps;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    // From when it was due if the generator is late (that wait counts, as it would for a real client), from when it
    // was sent if a sub-millisecond wait was skipped and it went out early.
    const from = Math.min(due, performance.now());
    inFlight.push(
      pool.request({ method: 'POST', path: options.path, headers, body: options.body }).then(
        async (response) => {
          await response.body.text();
          if (response.statusCode === 200) latencies.push(performance.now() - from);
          else errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), timing: [] };
}
