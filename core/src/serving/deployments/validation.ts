import type { InferRequest, ModelSignature, ModelValidator, ValidationResult } from '@modelplane/plugin-sdk';
import { z } from 'zod';
import type { Registry } from '../../registry/registry.ts';
import type { LoadedModel, ModelManager } from '../model-manager.ts';
import { checkAgainstSignature, decodeInferRequest } from '../v2-codec.ts';
import type { DeploymentSpec } from './spec.ts';

/**
 * A labelled dataset, stored as a file of a registry version: batched V2 input tensors (dim 0 = sample) and one
 * expected class index per sample; a prediction is the argmax of `output` (default: the first output) per row.
 */
const Dataset = z.strictObject({
  inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.int().nonnegative()).min(1), data: z.array(z.unknown()) })).min(1),
  labels: z.array(z.int().nonnegative()).min(1),
  output: z.string().optional(),
});

interface ValidationDeps {
  registry: Registry;
  models: ModelManager;
  validators: { get(id: string): ModelValidator | undefined };
}

/**
 * How moving a deployment's clients from `stable` to `candidate` would break them: an input dropped, added (every
 * input is required), or taken with another datatype or a narrower shape; an output no longer produced. Empty when
 * every request the stable version accepts still fits.
 */
export function signatureBreaks(stable: ModelSignature, candidate: ModelSignature): string[] {
  const breaks: string[] = [];
  const shape = (dims: readonly number[]) => JSON.stringify(dims);
  for (const before of stable.inputs) {
    const after = candidate.inputs.find((input) => input.name === before.name);
    if (!after) breaks.push(`input "${before.name}" is gone`);
    else if (after.datatype !== before.datatype) breaks.push(`input "${before.name}" is ${after.datatype}, not ${before.datatype}`);
    else if (after.shape.length !== before.shape.length || after.shape.some((d, i) => d !== -1 && d !== before.shape[i])) {
      breaks.push(`input "${before.name}" takes ${shape(after.shape)}, not ${shape(before.shape)}`);
    }
  }
  for (const input of candidate.inputs) if (!stable.inputs.some((s) => s.name === input.name)) breaks.push(`input "${input.name}" is new`);
  for (const output of stable.outputs) if (!candidate.outputs.some((o) => o.name === output.name)) breaks.push(`output "${output.name}" is gone`);
  return breaks;
}

/** Runs the deployment's validation on a warmed-up candidate that serves no traffic yet. */
export async function validateCandidate(deps: ValidationDeps, spec: DeploymentSpec, candidate: LoadedModel): Promise<ValidationResult> {
  const policy = spec.validation;
  if (!policy) return { passed: true, reason: 'no validation configured' };
  const infer = async (request: InferRequest) => (await deps.models.inferOn(candidate, request)).response;
  const openFile = async (reference: string, path: string) => {
    const version = await deps.registry.resolve(reference);
    return (await deps.registry.openFile(version.model, version.version, path)).stream;
  };
  try {
    if (policy.validator) {
      const validator = deps.validators.get(policy.validator);
      if (!validator) return { passed: false, reason: `no validator "${policy.validator}" is installed` };
      return await validator.validate({ version: candidate.version, infer, openFile });
    }
    const reference = policy.dataset ?? `${candidate.version.model}@${candidate.version.version}`;
    const stream = await openFile(reference, policy.file);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    const parsed = Dataset.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.success) return { passed: false, reason: `dataset ${reference}/${policy.file} is malformed: ${parsed.error.issues[0]?.message}` };
    const accuracy = await datasetAccuracy(parsed.data, candidate, infer);
    const passed = accuracy >= policy.threshold;
    return {
      passed,
      metric: policy.metric,
      value: accuracy,
      reason: `${policy.metric} ${accuracy.toFixed(4)} on ${parsed.data.labels.length} samples of ${reference}/${policy.file} ${passed ? '≥' : '<'} threshold ${policy.threshold}`,
    };
  } catch (error) {
    return { passed: false, reason: `validation could not run: ${(error as Error).message}` };
  }
}

async function datasetAccuracy(dataset: z.infer<typeof Dataset>, candidate: LoadedModel, infer: (r: InferRequest) => Promise<{ outputs: InferRequest['inputs'] }>): Promise<number> {
  const samples = dataset.labels.length;
  const batch = Math.max(1, candidate.batching.maxBatchSize || 1);
  let correct = 0;
  for (let start = 0; start < samples; start += batch) {
    const rows = Math.min(batch, samples - start);
    const body = {
      inputs: dataset.inputs.map((input) => {
        const rowSize = input.shape.slice(1).reduce((a, b) => a * b, 1);
        return { ...input, shape: [rows, ...input.shape.slice(1)], data: input.data.slice(start * rowSize, (start + rows) * rowSize) };
      }),
    };
    const decoded = decodeInferRequest(body);
    checkAgainstSignature(candidate.instance.signature, decoded, candidate.batching.maxBatchSize);
    const { outputs } = await infer({ inputs: decoded.inputs });
    const output = dataset.output ? outputs.find((o) => o.name === dataset.output) : outputs[0];
    if (!output) throw new Error(`the candidate has no output "${dataset.output}"`);
    const classes = output.shape.at(-1) ?? 1;
    const data = output.data as ArrayLike<number>;
    for (let row = 0; row < rows; row++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if (Number(data[row * classes + k]) > Number(data[row * classes + best])) best = k;
      if (best === dataset.labels[start + row]) correct++;
    }
  }
  return correct / samples;
}
