/**
 * Just enough of the protobuf wire format to inspect an ONNX model without loading it: every tensor's external-data
 * location (CVE-2022-25882, CVE-2024-27318: locations that leave the model's folder), and the operator domains and
 * types its nodes use. Shared by the ONNX runtime (refuses before onnxruntime opens a file) and the format scanner.
 */
export interface ProtobufField {
  number: number;
  wireType: number;
  bytes?: Uint8Array;
}

function readVarint(buffer: Uint8Array, offset: number): [number, number] {
  let result = 0;
  let shift = 0;
  let position = offset;
  for (;;) {
    if (position >= buffer.length) throw new Error('truncated varint');
    const byte = buffer[position++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, position];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

/** The fields of one protobuf message, in order; length-delimited ones carry their bytes. Throws on malformed input. */
export function* protobufFields(buffer: Uint8Array): Generator<ProtobufField> {
  let offset = 0;
  while (offset < buffer.length) {
    const [key, afterKey] = readVarint(buffer, offset);
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    offset = afterKey;
    if (wireType === 0) offset = readVarint(buffer, offset)[1];
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else if (wireType === 2) {
      const [length, start] = readVarint(buffer, offset);
      if (start + length > buffer.length) throw new Error('truncated length-delimited field');
      yield { number, wireType, bytes: buffer.subarray(start, start + length) };
      offset = start + length;
      continue;
    } else throw new Error(`unsupported wire type ${wireType}`);
    yield { number, wireType };
  }
}

const text = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** TensorProto.external_data (13) entries: key (1) / value (2). */
function tensorLocations(tensor: Uint8Array, found: string[]): void {
  for (const field of protobufFields(tensor)) {
    if (field.number !== 13 || !field.bytes) continue;
    let key = '';
    let value = '';
    for (const entry of protobufFields(field.bytes)) {
      if (entry.number === 1 && entry.bytes) key = text(entry.bytes);
      if (entry.number === 2 && entry.bytes) value = text(entry.bytes);
    }
    if (key === 'location') found.push(value);
  }
}

export interface OnnxModelInfo {
  externalData: string[];
  /** `domain::op_type` of every node, subgraphs included ('' is the default ONNX domain). */
  operators: string[];
  /** Domains the model imports opsets from. */
  opsetDomains: string[];
}

/** GraphProto: node (1) → AttributeProto t (5) / tensors (10) / g (6) / graphs (11); initializer (5); sparse_initializer (15). */
function graphLocations(graph: Uint8Array, found: string[], depth: number, operators: string[] = []): void {
  if (depth > 64) throw new Error('graphs nested too deeply');
  for (const field of protobufFields(graph)) {
    if (!field.bytes) continue;
    if (field.number === 5) tensorLocations(field.bytes, found);
    if (field.number === 15) {
      for (const part of protobufFields(field.bytes)) if (part.bytes && (part.number === 1 || part.number === 2)) tensorLocations(part.bytes, found);
    }
    if (field.number === 1) {
      let opType = '';
      let domain = '';
      for (const nodeField of protobufFields(field.bytes)) {
        if (!nodeField.bytes) continue;
        if (nodeField.number === 4) opType = text(nodeField.bytes);
        if (nodeField.number === 7) domain = text(nodeField.bytes);
        if (nodeField.number !== 5) continue;
        for (const attribute of protobufFields(nodeField.bytes)) {
          if (!attribute.bytes) continue;
          if (attribute.number === 5 || attribute.number === 10) tensorLocations(attribute.bytes, found);
          if (attribute.number === 6 || attribute.number === 11) graphLocations(attribute.bytes, found, depth + 1, operators);
        }
      }
      operators.push(`${domain}::${opType}`);
    }
  }
}

/** Reads an ONNX ModelProto: graph (7), opset_import (8) → domain (1). Throws on malformed protobuf. */
export function inspectOnnx(model: Uint8Array): OnnxModelInfo {
  const info: OnnxModelInfo = { externalData: [], operators: [], opsetDomains: [] };
  for (const field of protobufFields(model)) {
    if (field.number === 7 && field.bytes) graphLocations(field.bytes, info.externalData, 0, info.operators);
    if (field.number === 8 && field.bytes) {
      for (const part of protobufFields(field.bytes)) if (part.number === 1 && part.bytes) info.opsetDomains.push(text(part.bytes));
    }
  }
  return info;
}

/** Every external-data location an ONNX model (ModelProto bytes) names. */
export function externalDataLocations(model: Uint8Array): string[] {
  return inspectOnnx(model).externalData;
}
