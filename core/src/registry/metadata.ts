import { formatPath } from '@modelplane/plugin-sdk';
import { z } from 'zod';
import { Errors } from '../errors.ts';
import { LlmMetadata } from '../gateway/llm-metadata.ts';

export const MAX_METADATA_BYTES = 64 * 1024;

const TensorSpec = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']),
  shape: z.array(z.int().min(-1)),
});

const LicenseRestrictions = z.looseObject({
  commercial_use: z.boolean().optional(),
  derivatives: z.boolean().optional(),
  mau_limit: z.int().positive().optional(),
  attribution_required: z.boolean().optional(),
});

/**
 * Version metadata (seeds 000, 002, 004). The seed-000 required fields are enforced; other known fields are
 * type-checked; unknown fields are kept, so teams can carry their own.
 */
export const VersionMetadata = z
  .looseObject({
    framework: z.string().min(1).describe('onnx, tensorflow, tfjs, pytorch, pennylane, snntorch, openai, anthropic, …'),
    architecture: z.string().min(1),
    training_data_description: z.string().min(1),
    performance_metrics: z.record(z.string(), z.number()).refine((m) => Object.keys(m).length > 0, 'needs at least one metric, e.g. { "accuracy": 0.97 }'),
    license: z.looseObject({ id: z.string().min(1), restrictions: LicenseRestrictions.optional(), url: z.string().optional() }),
    runtime: z.string().min(1).optional(),
    parameter_count: z.int().nonnegative().optional(),
    context_length: z.int().positive().optional(),
    signature: z.strictObject({ inputs: z.array(TensorSpec), outputs: z.array(TensorSpec) }).optional(),
    task_types: z.array(z.string().min(1)).optional(),
    requirements: z.looseObject({ hardware: z.string().optional(), min_memory_gb: z.number().positive().optional(), gpu: z.boolean().optional() }).optional(),
    changelog: z.string().optional(),
    known_limitations: z.union([z.string(), z.array(z.string())]).optional(),
    fine_tuning_params: z.record(z.string(), z.unknown()).optional(),
    deployment_recommendations: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    source: z.looseObject({ type: z.string().optional(), uri: z.string().optional() }).optional(),
    lineage: z.looseObject({ parent_version: z.string().optional(), source_uri: z.string().optional() }).optional(),
    llm: LlmMetadata.optional().describe('For a version that points at a provider model: the LLM gateway routes to it'),
  })
  .meta({ id: 'VersionMetadata' });

export type VersionMetadataValue = z.infer<typeof VersionMetadata>;

/** Validates metadata; the 400 lists every missing or invalid field with its path, all at once. */
export function validateMetadata(input: unknown): VersionMetadataValue {
  const size = Buffer.byteLength(JSON.stringify(input ?? null));
  if (size > MAX_METADATA_BYTES) {
    throw new Errors.InvalidMetadata(`metadata is ${size} bytes; the limit is ${MAX_METADATA_BYTES} (store large documents as files of the version)`);
  }
  // Seed 000 calls it license_info; accept that spelling.
  const normalised =
    input !== null && typeof input === 'object' && !('license' in input) && 'license_info' in input
      ? { ...(input as Record<string, unknown>), license: (input as Record<string, unknown>).license_info }
      : input;
  const parsed = VersionMetadata.safeParse(normalised ?? {});
  if (parsed.success) {
    const { license_info: _dropped, ...rest } = parsed.data as Record<string, unknown>;
    return rest as VersionMetadataValue;
  }
  const problems = parsed.error.issues.map((issue) => ({
    path: formatPath('metadata', issue.path),
    message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
  }));
  throw new Errors.InvalidMetadata(`invalid metadata: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems });
}
