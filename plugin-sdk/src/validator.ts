/** Validator extension point: decides whether a candidate version may take traffic (after warm-up, before any). */
import type { Contribution } from './contribution.ts';
import type { InferRequest, InferResponse } from './runtime.ts';
import type { VersionRecord } from './stores.ts';

export interface ValidationContext {
  /** The candidate version being validated. */
  version: VersionRecord;
  /** Runs a request on the loaded, warmed-up candidate instance (not on the serving one). */
  infer(request: InferRequest): Promise<InferResponse>;
  /** Opens a file of a registry version (`model@version`), e.g. a held-out dataset. */
  openFile(reference: string, path: string): Promise<NodeJS.ReadableStream>;
}

export interface ValidationResult {
  passed: boolean;
  /** Why it passed or failed, in words; recorded with the decision. */
  reason: string;
  metric?: string;
  value?: number;
}

export interface ModelValidator extends Contribution {
  validate(context: ValidationContext): Promise<ValidationResult>;
}
