/** Per-version samples of a deployment's recent requests, for canary analysis, alerts and shadow reports. */
interface Sample {
  t: number;
  ms: number;
  ok: boolean;
}

export interface Summary {
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number | null;
  feedback: number;
  accuracy: number | null;
}

const MAX_SAMPLES = 20_000;
const MAX_AGE_MS = 15 * 60_000;

export class VersionStats {
  readonly #requests = new Map<string, Sample[]>();
  readonly #feedback = new Map<string, Array<{ t: number; correct: boolean }>>();

  observe(version: string, ms: number, ok: boolean, now = Date.now()): void {
    push(this.#requests, version, { t: now, ms, ok });
  }

  feedback(version: string, correct: boolean, now = Date.now()): void {
    push(this.#feedback, version, { t: now, correct });
  }

  /** `versions` undefined: every version together (the deployment as clients see it). */
  summary(versions: string | undefined, since: number): Summary {
    const pick = <T extends { t: number }>(map: Map<string, T[]>) =>
      (versions === undefined ? [...map.values()].flat() : (map.get(versions) ?? [])).filter((s) => s.t >= since);
    const requests = pick(this.#requests);
    const feedback = pick(this.#feedback);
    const errors = requests.filter((s) => !s.ok).length;
    const latencies = requests.filter((s) => s.ok).map((s) => s.ms);
    return {
      requests: requests.length,
      errors,
      errorRate: requests.length === 0 ? 0 : errors / requests.length,
      p99Ms: percentile(latencies, 0.99),
      feedback: feedback.length,
      accuracy: feedback.length === 0 ? null : feedback.filter((f) => f.correct).length / feedback.length,
    };
  }

  /** Drops what a new rollout step must not count. */
  reset(version: string): void {
    this.#requests.delete(version);
    this.#feedback.delete(version);
  }
}

function push<T extends { t: number }>(map: Map<string, T[]>, key: string, sample: T): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(sample);
  // Bounded: oldest first out, by count and by age.
  if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
  if (list[0] && sample.t - list[0].t > MAX_AGE_MS) list.splice(0, list.findIndex((s) => sample.t - s.t <= MAX_AGE_MS));
}

export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
