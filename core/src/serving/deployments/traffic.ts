import { createHash } from 'node:crypto';
import type { Traffic } from './spec.ts';

/**
 * Picks a version by weight. With a sticky key (A/B by request header) the pick is a hash of the key, so the same
 * caller lands on the same version for as long as the weights stay the same.
 */
export function pickVersion(traffic: Traffic, stickyKey?: string): string {
  const point = stickyKey === undefined ? Math.random() * 100 : hashToPercent(stickyKey);
  let cumulative = 0;
  for (const entry of traffic) {
    cumulative += entry.weight;
    if (entry.weight > 0 && point < cumulative) return entry.version;
  }
  // Rounding at the top end: the last version with any weight.
  return [...traffic].reverse().find((e) => e.weight > 0)!.version;
}

function hashToPercent(key: string): number {
  return (createHash('sha256').update(key).digest().readUInt32BE(0) / 0x1_0000_0000) * 100;
}

/** The split during a canary step: the candidate gets `percent`, the stable version the rest. */
export function canaryTraffic(stable: string, candidate: string, percent: number): Traffic {
  if (percent >= 100) return [{ version: candidate, weight: 100 }];
  return [
    { version: stable, weight: 100 - percent },
    { version: candidate, weight: percent },
  ];
}
