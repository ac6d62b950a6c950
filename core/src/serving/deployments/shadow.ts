import type { InferResponse } from '@modelplane/plugin-sdk';
import { percentile } from './stats.ts';

const KEEP = 10_000;

/** What the shadow version did with mirrored requests: how often it agreed with the served answer, and how fast. */
export class ShadowReport {
  readonly #byVersion = new Map<string, { compared: number; agreed: number; errors: number; latencies: number[] }>();

  record(version: string, served: InferResponse, shadow: InferResponse, ms: number): void {
    const entry = this.#entry(version);
    entry.compared++;
    if (agree(served, shadow)) entry.agreed++;
    entry.latencies.push(ms);
    if (entry.latencies.length > KEEP) entry.latencies.shift();
  }

  fail(version: string): void {
    this.#entry(version).errors++;
  }

  summary(version: string) {
    const entry = this.#entry(version);
    return {
      version,
      requests: entry.compared + entry.errors,
      compared: entry.compared,
      errors: entry.errors,
      agreementRate: entry.compared === 0 ? null : entry.agreed / entry.compared,
      p50Ms: percentile(entry.latencies, 0.5),
      p99Ms: percentile(entry.latencies, 0.99),
    };
  }

  #entry(version: string) {
    let entry = this.#byVersion.get(version);
    if (!entry) this.#byVersion.set(version, (entry = { compared: 0, agreed: 0, errors: 0, latencies: [] }));
    return entry;
  }
}

/**
 * Two answers agree when every output they share predicts the same class per row (argmax over the last dimension);
 * for a scalar-per-row output, when the values are within 1e-4. Labels, not exact floats: a retrained model
 * never reproduces the old probabilities bit for bit.
 */
export function agree(a: InferResponse, b: InferResponse): boolean {
  for (const output of a.outputs) {
    const other = b.outputs.find((o) => o.name === output.name);
    if (!other) return false;
    const classes = output.shape.at(-1) ?? 1;
    const x = output.data as ArrayLike<number | bigint | string>;
    const y = other.data as ArrayLike<number | bigint | string>;
    if (x.length !== y.length) return false;
    if (typeof x[0] !== 'number') {
      for (let i = 0; i < x.length; i++) if (String(x[i]) !== String(y[i])) return false;
      continue;
    }
    for (let row = 0; row * classes < x.length; row++) {
      if (classes === 1) {
        if (Math.abs(Number(x[row]) - Number(y[row])) > 1e-4) return false;
      } else if (argmax(x, row, classes) !== argmax(y, row, classes)) return false;
    }
  }
  return true;
}

function argmax(data: ArrayLike<number | bigint | string>, row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (Number(data[row * classes + k]) > Number(data[row * classes + best])) best = k;
  return best;
}
