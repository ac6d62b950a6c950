/**
 * Declarative, code-free artifacts for Python runtimes: an architecture spec (JSON, checked by the runtime's strict
 * schema) and weights in safetensors (a JSON header plus raw arrays). Both are checked here, in Node, before any
 * Python process sees them, so a pickle dressed as weights or code smuggled into a spec is refused with a clear
 * message, and the sidecar never has a reason to unpickle or import anything from an artifact.
 */
import type { z } from 'zod';
import { formatPath } from '../schema.ts';
import { readAll, type RuntimeLoadRequest, UnservableModel } from '../runtime.ts';

/** The one file of the version with this name (option) or, by default, the only one with this extension. */
export function pickFile(request: RuntimeLoadRequest, chosen: string | undefined, extension: string, option: string): string {
  const label = `${request.model}@${request.version}`;
  if (chosen !== undefined) {
    if (!request.files.some((f) => f.path === chosen)) throw new UnservableModel(`${label} has no file "${chosen}" (option ${option})`);
    return chosen;
  }
  const candidates = request.files.filter((f) => f.path.toLowerCase().endsWith(extension));
  if (candidates.length === 1) return candidates[0]!.path;
  const others = request.files.filter((f) => /\.(pt|pth|pkl|pickle|ckpt|bin|joblib)$/i.test(f.path)).map((f) => f.path);
  throw new UnservableModel(
    candidates.length === 0
      ? `${label} has no ${extension} file${others.length ? ` (${others.join(', ')} may hold pickles, which this runtime never loads; convert them to safetensors)` : ''}`
      : `${label} has ${candidates.length} ${extension} files (${candidates.map((f) => f.path).join(', ')}); set the ${option} option to pick one`,
  );
}

/** Parses a spec against the runtime's strict schema; every problem is named with its path. */
export function parseSpec<T extends z.ZodType>(bytes: Uint8Array, schema: T, file: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new UnservableModel(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatPath(file, issue.path)}: ${issue.message}`);
    throw new UnservableModel(`${file} is not a spec this runtime builds (specs are data, never code): ${problems.join('; ')}`);
  }
  return parsed.data as z.infer<T>;
}

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
}

function whatItIs(bytes: Uint8Array): string {
  if (bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) return `a Python pickle (protocol ${bytes[1]})`;
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'a zip archive (torch.save writes pickles inside one)';
  return 'not safetensors';
}

/** The tensors a safetensors file declares, after checking its header and that every tensor lies inside the file. */
export function readSafetensors(bytes: Uint8Array, file: string): Map<string, SafetensorsEntry> {
  const refuse = (why: string) => new UnservableModel(`${file} is ${why}; weights must be safetensors, and pickles are never loaded (they can run code)`);
  if (bytes.byteLength < 10) throw refuse('too short to be safetensors');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8 || bytes[8] !== 0x7b) throw refuse(whatItIs(bytes));
  let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8')) as typeof header;
  } catch {
    throw refuse('not safetensors (its header is not JSON)');
  }
  const dataBytes = bytes.byteLength - 8 - headerLength;
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const offsets = entry.data_offsets;
    if (
      typeof entry.dtype !== 'string' ||
      !Array.isArray(entry.shape) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !(Number(offsets[0]) <= Number(offsets[1]) && Number(offsets[1]) <= dataBytes)
    ) {
      throw refuse(`malformed safetensors (tensor "${name}")`);
    }
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape as number[] });
  }
  return tensors;
}

/** Checks that the weights hold exactly these float tensors with these shapes, naming the first misfit. */
export function expectTensors(tensors: Map<string, SafetensorsEntry>, expected: Record<string, number[]>, file: string): void {
  for (const [name, shape] of Object.entries(expected)) {
    const found = tensors.get(name);
    if (!found) throw new UnservableModel(`${file} has no tensor "${name}" (${JSON.stringify(shape)}), which the spec needs`);
    if (JSON.stringify(found.shape) !== JSON.stringify(shape)) {
      throw new UnservableModel(`${file}: tensor "${name}" has shape ${JSON.stringify(found.shape)}, the spec needs ${JSON.stringify(shape)}`);
    }
    if (!['F32', 'F64', 'F16', 'BF16'].includes(found.dtype)) throw new UnservableModel(`${file}: tensor "${name}" is ${found.dtype}, not a float type`);
  }
  const extra = [...tensors.keys()].filter((name) => !(name in expected));
  if (extra.length > 0) throw new UnservableModel(`${file} has tensors the spec does not use: ${extra.join(', ')}`);
}

/**
 * A version's spec and weights, read and checked as a sidecar runtime loads them: the spec file (the `specFile`
 * option, else the only `.json`) against `schema`, the weights (`weightsFile`, else the only `.safetensors`) against
 * exactly the tensors `tensorsOf(spec)` names.
 */
export async function readSpecAndWeights<T extends z.ZodType>(
  request: RuntimeLoadRequest,
  options: { specFile?: string | undefined; weightsFile?: string | undefined },
  schema: T,
  tensorsOf: (spec: z.infer<T>) => Record<string, number[]>,
): Promise<{ spec: z.infer<T>; specPath: string; weights: Buffer; weightsPath: string }> {
  const specPath = pickFile(request, options.specFile, '.json', 'specFile');
  const weightsPath = pickFile(request, options.weightsFile, '.safetensors', 'weightsFile');
  const spec = parseSpec(await readAll(request.openFile(specPath), request.signal), schema, specPath);
  const weights = await readAll(request.openFile(weightsPath), request.signal);
  expectTensors(readSafetensors(weights, weightsPath), tensorsOf(spec), weightsPath);
  return { spec, specPath, weights, weightsPath };
}
