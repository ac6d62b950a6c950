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
