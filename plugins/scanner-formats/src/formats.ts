import { type Finding, inspectOnnx } from '@modelplane/plugin-sdk';
import { HDF5_MAGIC, kerasModelConfig } from './h5.ts';
import { knownGadgets, PickleError, PROTOCOL0_START, scanPickle } from './pickle.ts';
import { scanSavedModel } from './savedmodel.ts';
import { isZip, listEntries, readEntry, type ZipLimits, ZipError } from './zip.ts';

export interface ScanOptions extends ZipLimits {
  /** Nested archives deeper than this are a finding. */
  maxDepth: number;
}

const PICKLE_NAMES = /\.(pkl|pickle|pt|pth|ckpt|joblib|sav|p)$/i;
/** Names raw tensor data has too (TF.js weight shards, ONNX external data): tried as a pickle, but not claiming to be one. */
const DATA_NAMES = /\.(bin|data|dat)$/i;

/** Finds the format by content, not by name, and scans it; archives are scanned entry by entry, recursively. */
export function scanBytes(bytes: Buffer, path: string, options: ScanOptions, depth = 0): Finding[] {
  if (isZip(bytes)) return scanZip(bytes, path, options, depth);
  if (bytes.length >= 6 && bytes.toString('latin1', 0, 6) === '\x93NUMPY') return scanNpy(bytes, path);
  if (looksLikeSafetensors(bytes)) return scanSafetensors(bytes, path);
  if (bytes.subarray(0, 8).equals(HDF5_MAGIC)) return scanHdf5(bytes, path);
  if (/(^|[/!])saved_model\.pb$/.test(path)) return scanSavedModel(bytes, path);
  if (path.endsWith('.onnx') || bytes[0] === 0x08) {
    const onnx = scanOnnx(bytes, path);
    if (onnx) return onnx;
  }
  const protocol2 = bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5;
  if (protocol2 || PICKLE_NAMES.test(path)) return scanAsPickle(bytes, path, true);
  if (bytes.length > 0 && (PROTOCOL0_START.has(bytes[0]!) || DATA_NAMES.test(path))) return scanAsPickle(bytes, path, false);
  return [];
}

/**
 * `mustParse`: the content claims to be a pickle, so failing to parse it is a finding rather than "not a pickle".
 * Either way, what was found before a parse error counts (an unpickler runs each opcode as it reads it): all of it
 * when the content claims to be a pickle, the known gadgets otherwise.
 */
function scanAsPickle(bytes: Buffer, path: string, mustParse: boolean): Finding[] {
  try {
    return scanPickle(bytes, path).findings;
  } catch (error) {
    if (!(error instanceof PickleError)) return [];
    if (!mustParse) return knownGadgets(error.findings);
    return [...error.findings, { severity: 'HIGH', file: path, rule: 'pickle-unparsable', detail: `cannot be read as a pickle (${error.message}); refusing to call it safe` }];
  }
}

function scanZip(bytes: Buffer, path: string, options: ScanOptions, depth: number): Finding[] {
  if (depth >= options.maxDepth) return [{ severity: 'HIGH', file: path, rule: 'archive-too-deep', detail: `archives nested deeper than ${options.maxDepth} are not scanned` }];
  let entries;
  try {
    entries = listEntries(bytes);
  } catch (error) {
    return [{ severity: 'HIGH', file: path, rule: 'archive-corrupt', detail: `the zip cannot be read: ${(error as Error).message}` }];
  }
  const findings: Finding[] = [];
  for (const entry of entries) {
    if (entry.name.endsWith('/')) continue;
    const where = `${path}!${entry.name}`;
    let data: Buffer;
    try {
      data = readEntry(bytes, entry, options);
    } catch (error) {
      findings.push({ severity: 'HIGH', file: where, rule: error instanceof ZipError ? 'archive-entry-unreadable' : 'archive-error', detail: `${(error as Error).message}; an entry that cannot be read cannot be called safe` });
      continue;
    }
    findings.push(...scanBytes(data, where, options, depth + 1));
    if (/(^|\/)config\.json$/.test(entry.name)) findings.push(...scanKerasConfig(data, where));
  }
  return findings;
}

/** NumPy .npy: an object-dtype array's data is a pickle. */
function scanNpy(bytes: Buffer, path: string): Finding[] {
  const major = bytes[6];
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthSize) return [{ severity: 'HIGH', file: path, rule: 'npy-truncated', detail: 'the header is truncated' }];
  const headerLength = lengthSize === 2 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataStart = 8 + lengthSize + headerLength;
  if (dataStart > bytes.length) return [{ severity: 'HIGH', file: path, rule: 'npy-truncated', detail: 'the header runs past the end of the file' }];
  const header = bytes.toString('latin1', 8 + lengthSize, dataStart);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) return [{ severity: 'HIGH', file: path, rule: 'npy-bad-header', detail: `unreadable header ${JSON.stringify(header.slice(0, 80))}` }];
  if (!descr.includes('O')) return [];
  const findings = scanAsPickle(bytes.subarray(dataStart), path, true);
  return [{ severity: 'MEDIUM', file: path, rule: 'npy-object-array', detail: 'an object array: loading it needs allow_pickle=True, which unpickles its data' }, ...findings];
}

function looksLikeSafetensors(bytes: Buffer): boolean {
  if (bytes.length < 10) return false;
  const length = bytes.readBigUInt64LE(0);
  return length > 1n && length <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

const SAFETENSORS_DTYPES: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8 };

/** safetensors: a bounded JSON header, then tensors whose offsets lie inside the data, without overlaps or gaps. */
function scanSafetensors(bytes: Buffer, path: string): Finding[] {
  const bad = (detail: string): Finding[] => [{ severity: 'HIGH', file: path, rule: 'safetensors-invalid', detail }];
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > 100 * 1024 * 1024) return bad(`header of ${headerLength} bytes exceeds 100 MiB`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>;
  } catch (error) {
    return bad(`the header is not JSON: ${(error as Error).message}`);
  }
  const dataLength = bytes.length - 8 - headerLength;
  const spans: Array<[number, number, string]> = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const tensor = value as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const width = tensor.dtype ? SAFETENSORS_DTYPES[tensor.dtype] : undefined;
    if (!width || !Array.isArray(tensor.shape) || !Array.isArray(tensor.data_offsets)) return bad(`tensor "${name}" lacks a known dtype, shape or data_offsets`);
    const [begin, end] = tensor.data_offsets;
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && begin <= end && end <= dataLength)) {
      return bad(`tensor "${name}" has offsets [${begin}, ${end}] outside the ${dataLength}-byte data`);
    }
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (elements * width !== end - begin) return bad(`tensor "${name}": ${tensor.dtype}${JSON.stringify(tensor.shape)} needs ${elements * width} bytes, offsets give ${end - begin}`);
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin < covered) return bad(`tensor "${name}" overlaps the tensor before it`);
    if (begin > covered) return bad(`${begin - covered} bytes before tensor "${name}" belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength) return bad(`${dataLength - covered} bytes after the last tensor belong to no tensor`);
  return [];
}

const STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft', 'ai.onnx.preview.training']);
/** Operators that run Python or load native code. */
const CODE_OPERATORS = new Set(['com.microsoft::PyOp', 'ai.onnx.contrib::PyOp']);

/**
 * ONNX: external data must stay inside the model's folder; operators outside the standard domains need a custom-op
 * library; PyOp runs Python. Answers null when the bytes are not an ONNX model (and the name does not claim one).
 */
function scanOnnx(bytes: Buffer, path: string): Finding[] | null {
  let info;
  try {
    info = inspectOnnx(bytes);
  } catch (error) {
    return path.endsWith('.onnx') ? [{ severity: 'HIGH', file: path, rule: 'onnx-unparsable', detail: `not a readable ONNX model: ${(error as Error).message}` }] : null;
  }
  if (!path.endsWith('.onnx') && info.operators.length === 0) return null;
  const findings: Finding[] = [];
  for (const location of info.externalData) {
    const escapes = location.startsWith('/') || /^[A-Za-z]:/.test(location) || location.split(/[\\/]/).includes('..');
    if (escapes) findings.push({ severity: 'CRITICAL', file: path, rule: 'onnx-external-data-escape', detail: `external data location "${location}" leaves the model's folder` });
  }
  for (const operator of new Set(info.operators)) {
    const domain = operator.split('::')[0]!;
    if (CODE_OPERATORS.has(operator)) findings.push({ severity: 'CRITICAL', file: path, rule: 'onnx-python-operator', detail: `${operator} runs Python code` });
    else if (!STANDARD_DOMAINS.has(domain)) findings.push({ severity: 'MEDIUM', file: path, rule: 'onnx-custom-domain', detail: `operator ${operator} needs a custom-op library from domain "${domain}"` });
  }
  return findings;
}

/** Keras `.h5`: the model's JSON config is the root `model_config` attribute. */
function scanHdf5(bytes: Buffer, path: string): Finding[] {
  let config: string | undefined;
  try {
    config = kerasModelConfig(bytes);
  } catch (error) {
    return [{ severity: 'HIGH', file: path, rule: 'hdf5-unreadable', detail: `the HDF5 file cannot be read: ${(error as Error).message}` }];
  }
  return config === undefined ? [] : scanKerasConfig(Buffer.from(config), path);
}

/** Keras `.keras` config: Lambda layers carry Python code that runs when the model is loaded. */
function scanKerasConfig(bytes: Buffer, path: string): Finding[] {
  let config: unknown;
  try {
    config = JSON.parse(bytes.toString('utf8'));
  } catch {
    return [];
  }
  const findings: Finding[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.class_name === 'Lambda') {
      findings.push({ severity: 'HIGH', file: path, rule: 'keras-lambda', detail: `Lambda layer "${String((record.config as { name?: string })?.name ?? '?')}" runs Python code when the model loads` });
    }
    Object.values(record).forEach(walk);
  };
  walk(config);
  return findings;
}
