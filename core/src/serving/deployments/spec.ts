import { z } from 'zod';

/** Dynamic batching options, shared by `models:` and `deployments:`. */
export const BatchingSchema = z.strictObject({
  maxBatchSize: z.int().min(0).optional(),
  maxQueueDelayMs: z.number().min(0).optional(),
  preferredBatchSizes: z.array(z.int().positive()).optional(),
  maxQueueSize: z.int().positive().optional(),
  timeoutMs: z.int().positive().optional(),
  /** false: wait up to maxQueueDelayMs for a fuller batch even when idle (Triton's behaviour). */
  eager: z.boolean().optional(),
});

export const TrafficSchema = z
  .array(z.strictObject({ version: z.string().min(1), weight: z.number().min(0).max(100) }))
  .min(1)
  .refine((t) => Math.abs(t.reduce((a, b) => a + b.weight, 0) - 100) < 1e-6, 'weights must add up to 100')
  .refine((t) => new Set(t.map((e) => e.version)).size === t.length, 'a version may appear only once');

/** How a new version takes over: canary steps with analysis (default) or an immediate validated swap. */
export const RolloutPolicySchema = z.strictObject({
  strategy: z.enum(['canary', 'swap']).default('canary'),
  /** Candidate share (%) per step; reaching 100 promotes it. */
  steps: z.array(z.number().gt(0).max(100)).min(1).default([5, 25, 50, 75, 100]),
  /** How long each step runs before it is analysed. */
  windowMs: z.int().positive().default(60_000),
  /** Candidate requests a step needs before it can advance (fewer: the step runs another window). */
  minRequests: z.int().min(0).default(20),
  /** Breach: candidate error rate minus stable error rate above this. */
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.05),
  /** Breach: candidate p99 above stable p99 × this AND by more than minP99DeltaMs (sub-ms jitter is not a regression). */
  maxP99Ratio: z.number().min(1).default(1.5),
  minP99DeltaMs: z.number().min(0).default(10),
  /** Breach: candidate accuracy from labelled feedback below stable's by more than this (needs minFeedback each). */
  maxAccuracyDrop: z.number().min(0).max(1).default(0.02),
  minFeedback: z.int().min(1).default(20),
  /** A server restarted mid-rollout resumes the persisted step, or rolls back to the stable version. */
  onRestart: z.enum(['resume', 'rollback']).default('resume'),
});

/** Gate before a candidate takes any traffic: a labelled dataset from the registry, or a plugin's validator. */
export const ValidationPolicySchema = z.strictObject({
  /** Registry reference of the version holding the dataset file; default: the candidate version itself. */
  dataset: z.string().min(1).optional(),
  file: z.string().min(1).default('validation.json'),
  metric: z.enum(['accuracy']).default('accuracy'),
  threshold: z.number().min(0).max(1).default(0.95),
  /** Use this validator contribution (ctx.register.validator) instead of a dataset. */
  validator: z.string().min(1).optional(),
});

export const UpdatePolicySchema = z.strictObject({
  /** A source contribution id (`remote:<name>` for the remote registries under `updates.remotes`). */
  source: z.string().min(1),
  /** The model's name at the source; default: the deployment's model. */
  remoteModel: z.string().min(1).optional(),
  /** The metric (in `performance_metrics`) that must improve. */
  metric: z.string().min(1).default('accuracy'),
  /** Relative improvement needed: 0.02 = the candidate's metric is at least 2 % higher than the stable version's. */
  minImprovement: z.number().min(0).default(0.02),
  allowMajor: z.boolean().default(false),
});

export const AlertPolicySchema = z.strictObject({
  /** Fire `alert.latency_p99` when the deployment's p99 stays above this for `forMs`. */
  p99LatencyMs: z.number().positive().optional(),
  /** Fire `alert.error_rate` when the error rate stays above this (0–1) for `forMs`. */
  errorRate: z.number().min(0).max(1).optional(),
  forMs: z.int().positive().default(60_000),
  /** The sliding window the p99 and error rate are computed over. */
  windowMs: z.int().positive().default(60_000),
  /** Fewer requests than this in the window never fire an alert. */
  minRequests: z.int().min(1).default(10),
});

export const DeploymentSpecSchema = z.strictObject({
  /** The name clients call (V2 model name). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_", "-"; at most 128'),
  /** Registry model whose versions this deployment serves. */
  model: z.string().min(1),
  /** The live split; several versions with fixed weights is an A/B test. */
  traffic: TrafficSchema,
  /** A/B: requests carrying this header always reach the same version (hash of its value). */
  stickyHeader: z.string().min(1).optional(),
  runtime: z.string().min(1).optional(),
  /** Runtime options (e.g. ONNX `executionProviders`, `intraOpThreads`). */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Runtime instances per version (passed as the `instances` runtime option). */
  instances: z.int().positive().optional(),
  /** `cpu`, `cuda`, … (passed as the `device` runtime option; ONNX maps it to its execution providers). */
  device: z.string().min(1).optional(),
  batching: BatchingSchema.optional(),
  rollout: RolloutPolicySchema.prefault({}),
  validation: ValidationPolicySchema.optional(),
  /** Mirror this share of requests to `version`; its answers are compared, never returned. */
  shadow: z.strictObject({ version: z.string().min(1), share: z.number().min(0).max(1).default(1) }).optional(),
  updates: UpdatePolicySchema.optional(),
  alerts: AlertPolicySchema.optional(),
});

export type DeploymentSpec = z.infer<typeof DeploymentSpecSchema>;
export type DeploymentSpecInput = z.input<typeof DeploymentSpecSchema>;
export type Traffic = DeploymentSpec['traffic'];
export type RolloutPolicy = DeploymentSpec['rollout'];

/** A rollout in progress; persisted with the deployment so a restart resumes or rolls it back. */
export interface RolloutState {
  stable: string;
  candidate: string;
  stepIndex: number;
  startedAt: string;
  stepStartedAt: string;
  actor: string;
}

/** How the last rollout ended. */
export interface RolloutOutcome {
  candidate: string;
  status: 'promoted' | 'rolled_back' | 'aborted' | 'rejected';
  reason: string;
  at: string;
}
