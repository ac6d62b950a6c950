/** Gateway extension points: router strategies and guards. */
import type { Contribution } from './contribution.ts';

export interface RouteCandidate {
  model: string;
  version: string;
  [attribute: string]: unknown;
}

export interface RankedCandidate {
  candidate: RouteCandidate;
  score: number;
  reasons?: string[];
}

export interface RouterStrategy extends Contribution {
  rank(candidates: readonly RouteCandidate[], request: Record<string, unknown>): RankedCandidate[];
}

export interface GuardVerdict {
  action: 'allow' | 'redact' | 'block';
  risk: number;
  reasons: string[];
  /** The text to pass on when action is `redact`. */
  redacted?: string;
}

export interface Guard extends Contribution {
  pre?(input: { text: string }): Promise<GuardVerdict>;
  post?(output: { text: string }): Promise<GuardVerdict>;
}
