import type { DeploymentSpec } from './spec.ts';
import type { Summary } from './stats.ts';

type AlertPolicy = NonNullable<DeploymentSpec['alerts']>;
type Kind = 'latency_p99' | 'error_rate';

/**
 * Seed 004's alerts: a condition must hold for `forMs` before `alert.<kind>` fires (one event, not one per check),
 * and `alert.resolved` follows when it stops holding.
 */
export class AlertTracker {
  readonly #since = new Map<Kind, number>();
  readonly #firing = new Set<Kind>();

  firing(): Kind[] {
    return [...this.#firing];
  }

  evaluate(policy: AlertPolicy, window: Summary, now = Date.now()): Array<{ type: string; data: Record<string, unknown> }> {
    const enough = window.requests >= policy.minRequests;
    const checks: Array<[Kind, boolean, Record<string, unknown>]> = [];
    if (policy.p99LatencyMs !== undefined) {
      checks.push(['latency_p99', enough && (window.p99Ms ?? 0) > policy.p99LatencyMs, { p99Ms: window.p99Ms, thresholdMs: policy.p99LatencyMs }]);
    }
    if (policy.errorRate !== undefined) {
      checks.push(['error_rate', enough && window.errorRate > policy.errorRate, { errorRate: window.errorRate, threshold: policy.errorRate }]);
    }
    const out: Array<{ type: string; data: Record<string, unknown> }> = [];
    for (const [kind, breached, figures] of checks) {
      const data = { ...figures, requests: window.requests, windowMs: policy.windowMs, forMs: policy.forMs };
      if (!breached) {
        this.#since.delete(kind);
        if (this.#firing.delete(kind)) out.push({ type: 'alert.resolved', data: { alert: kind, ...data } });
        continue;
      }
      const since = this.#since.get(kind) ?? now;
      this.#since.set(kind, since);
      if (now - since >= policy.forMs && !this.#firing.has(kind)) {
        this.#firing.add(kind);
        out.push({ type: `alert.${kind}`, data });
      }
    }
    return out;
  }
}
