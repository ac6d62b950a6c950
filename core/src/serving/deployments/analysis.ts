import type { RolloutPolicy } from './spec.ts';
import type { Summary } from './stats.ts';

export type Verdict = { action: 'rollback'; reason: string } | { action: 'wait'; reason: string } | { action: 'advance'; reason: string };

/** Judges one canary step: the candidate against the stable version over the same window. */
export function analyseStep(policy: RolloutPolicy, candidate: Summary, stable: Summary): Verdict {
  const rate = (s: Summary) => `${(s.errorRate * 100).toFixed(1)} % of ${s.requests}`;
  // A breach is acted on as soon as it shows, even before minRequests: a broken candidate must not wait.
  if (candidate.requests > 0 && candidate.errorRate - stable.errorRate > policy.maxErrorRateIncrease) {
    return { action: 'rollback', reason: `error rate ${rate(candidate)} vs stable ${rate(stable)} (allowed increase ${policy.maxErrorRateIncrease * 100} points)` };
  }
  if (candidate.p99Ms !== null && stable.p99Ms !== null) {
    const ratio = candidate.p99Ms / Math.max(stable.p99Ms, 1e-3);
    if (ratio > policy.maxP99Ratio && candidate.p99Ms - stable.p99Ms > policy.minP99DeltaMs) {
      return { action: 'rollback', reason: `p99 latency ${candidate.p99Ms.toFixed(1)} ms vs stable ${stable.p99Ms.toFixed(1)} ms (allowed ×${policy.maxP99Ratio})` };
    }
  }
  if (candidate.accuracy !== null && stable.accuracy !== null && candidate.feedback >= policy.minFeedback && stable.feedback >= policy.minFeedback) {
    if (stable.accuracy - candidate.accuracy > policy.maxAccuracyDrop) {
      return {
        action: 'rollback',
        reason: `accuracy from feedback ${candidate.accuracy.toFixed(3)} vs stable ${stable.accuracy.toFixed(3)} (allowed drop ${policy.maxAccuracyDrop})`,
      };
    }
  }
  if (candidate.requests < policy.minRequests) {
    return { action: 'wait', reason: `only ${candidate.requests} candidate requests this window (need ${policy.minRequests})` };
  }
  return { action: 'advance', reason: `healthy: error rate ${rate(candidate)}, p99 ${candidate.p99Ms?.toFixed(1) ?? '–'} ms` };
}
