import {
  BadTensor,
  fromBinary,
  fromJsonData,
  isDatatype,
  type Tensor,
  type TensorSpec,
  toBinary,
  toJsonData,
} from '@modelplane/plugin-sdk';
import { z } from 'zod';

/** The V2 inference request body (JSON part), as the Open Inference Protocol and Triton's binary extension define it. */
export const InferRequestBody = z.object({
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.int().nonnegative()),
        datatype: z.string(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        data: z.unknown().optional(),
      }),
    )
    .min(1),
  outputs: z
    .array(z.object({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
});
export type InferRequestBody = z.infer<typeof InferRequestBody>;

export interface DecodedRequest {
  id?: string;
  inputs: Tensor[];
  /** Requested output names, or undefined for all. */
  outputs?: string[];
  /** Output names to return as binary (Triton's binary_data / binary_data_output). */
  binaryOutputs: Set<string> | 'all' | 'none';
  parameters?: Record<string, unknown>;
}

export function describeZodIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/** Decodes the JSON header (and, with the binary extension, the bytes after it) into tensors. */
export function decodeInferRequest(header: unknown, binary?: Buffer): DecodedRequest {
  const parsed = InferRequestBody.safeParse(header);
  if (!parsed.success) throw new BadTensor(`invalid inference request: ${describeZodIssues(parsed.error)}`);
  const body = parsed.data;
  let offset = 0;
  const seen = new Set<string>();
  const inputs = body.inputs.map((input) => {
    if (seen.has(input.name)) throw new BadTensor(`input "${input.name}" is given twice`);
    seen.add(input.name);
    if (!isDatatype(input.datatype)) throw new BadTensor(`input "${input.name}": unknown datatype "${input.datatype}"`);
    const binarySize = input.parameters?.binary_data_size;
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isInteger(binarySize) || binarySize < 0) {
        throw new BadTensor(`input "${input.name}": binary_data_size must be a non-negative integer`);
      }
      if (!binary || offset + binarySize > binary.length) {
        throw new BadTensor(`input "${input.name}": binary_data_size ${binarySize} runs past the ${binary?.length ?? 0} bytes of binary data`);
      }
      const tensor = fromBinary(input.name, input.datatype, input.shape, binary.subarray(offset, offset + binarySize));
      offset += binarySize;
      return tensor;
    }
    if (input.data === undefined) throw new BadTensor(`input "${input.name}" has neither data nor binary_data_size`);
    return fromJsonData(input.name, input.datatype, input.shape, input.data);
  });
  if (binary && offset !== binary.length) throw new BadTensor(`${binary.length - offset} bytes of binary data are not claimed by any input`);
  // No outputs named (the list left out or empty): all of them, as Triton answers.
  const requested = body.outputs?.length ? body.outputs : undefined;
  const allBinary = body.parameters?.binary_data_output === true;
  // An output's own `binary_data` overrides the request's `binary_data_output`.
  const perOutput = new Set((requested ?? []).filter((o) => (typeof o.parameters?.binary_data === 'boolean' ? o.parameters.binary_data : allBinary)).map((o) => o.name));
  return {
    ...(body.id === undefined ? {} : { id: body.id }),
    inputs,
    ...(requested ? { outputs: requested.map((o) => o.name) } : {}),
    binaryOutputs: requested ? perOutput : allBinary ? 'all' : 'none',
    ...(body.parameters ? { parameters: body.parameters } : {}),
  };
}

/**
 * Checks a request against the model's signature before it is queued, so one bad request can never fail the batch
 * it would have joined. Errors name the tensor.
 */
export function checkAgainstSignature(signature: { inputs: TensorSpec[]; outputs: TensorSpec[] }, request: DecodedRequest, maxBatchSize: number): void {
  const given = new Map(request.inputs.map((t) => [t.name, t]));
  for (const tensor of request.inputs) {
    if (!signature.inputs.some((s) => s.name === tensor.name)) {
      throw new BadTensor(`unexpected input "${tensor.name}"; the model takes: ${signature.inputs.map((s) => s.name).join(', ')}`);
    }
  }
  let rows: number | undefined;
  for (const spec of signature.inputs) {
    const tensor = given.get(spec.name);
    if (!tensor) throw new BadTensor(`input "${spec.name}" is missing (${spec.datatype} ${JSON.stringify(spec.shape)})`);
    if (tensor.datatype !== spec.datatype) throw new BadTensor(`input "${spec.name}": datatype must be ${spec.datatype}, got ${tensor.datatype}`);
    const fits = spec.shape.length === tensor.shape.length && spec.shape.every((d, i) => d === -1 || d === tensor.shape[i]);
    if (!fits) throw new BadTensor(`input "${spec.name}": shape must match ${JSON.stringify(spec.shape)} (-1: any), got ${JSON.stringify(tensor.shape)}`);
    if (maxBatchSize > 0) {
      // Refused here, not only by the runtime: batched with other requests, an empty one would pass the runtime's check.
      if (tensor.shape[0] === 0) throw new BadTensor(`input "${spec.name}" has no rows (shape ${JSON.stringify(tensor.shape)}); send at least one`);
      if (rows !== undefined && tensor.shape[0] !== rows) throw new BadTensor(`input "${spec.name}": ${tensor.shape[0]} rows, but other inputs have ${rows}`);
      rows = tensor.shape[0];
    }
  }
  for (const name of request.outputs ?? []) {
    if (!signature.outputs.some((s) => s.name === name)) {
      throw new BadTensor(`unknown output "${name}"; the model produces: ${signature.outputs.map((s) => s.name).join(', ')}`);
    }
  }
}

export interface EncodedResponse {
  /** JSON header (the whole body when nothing is binary). */
  header: Record<string, unknown>;
  /** Binary output bytes in output order, when any output is binary. */
  binary: Buffer[];
}

export function encodeInferResponse(
  model: { name: string; version: string },
  request: DecodedRequest,
  outputs: readonly Tensor[],
): EncodedResponse {
  const binary: Buffer[] = [];
  const encoded = outputs.map((tensor) => {
    const asBinary = request.binaryOutputs === 'all' || (request.binaryOutputs !== 'none' && request.binaryOutputs.has(tensor.name));
    if (asBinary) {
      const bytes = toBinary(tensor);
      binary.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, parameters: { binary_data_size: bytes.byteLength } };
    }
    return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: toJsonData(tensor) };
  });
  return {
    header: {
      model_name: model.name,
      model_version: model.version,
      ...(request.id === undefined ? {} : { id: request.id }),
      outputs: encoded,
    },
    binary,
  };
}
