/**
 * The sidecar wire format, shared by Node and Python (`plugin-sdk/python/modelplane_sidecar`). One frame:
 *
 * ```
 * u32 LE  length of everything after this field
 * u32 LE  request id (the reply carries the request's id, so requests can be pipelined)
 * u8      op
 * u32 LE  header length
 * header  UTF-8 JSON: small metadata only (tensor names, datatypes, shapes, byte sizes, messages) — never tensor values
 * payload raw little-endian tensor bytes, one tensor after another in the header's order
 * ```
 *
 * Tensor values travel as raw bytes because JSON floats cost a parse per element and lose FP32/FP64 exactness.
 */
import { BadTensor, elementCount, fromBinary, type Tensor, toBinary } from '../tensors.ts';

export const Op = {
  /** Node → sidecar: build the model (header: spec and options; payload: the weights file). */
  LOAD: 1,
  /** Node → sidecar: run a request (header: tensor specs and wanted outputs; payload: input bytes). */
  INFER: 2,
  PING: 3,
  /** Node → sidecar: finish what is queued, answer, exit 0. */
  SHUTDOWN: 4,
  /** Sidecar → Node: the request with this id succeeded. */
  OK: 0x80,
  /** Sidecar → Node: the request failed (header: `{ message, kind }`, kind `bad_input` or `internal`). */
  ERROR: 0x81,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export interface Frame {
  id: number;
  op: number;
  header: Record<string, unknown>;
  payload: Uint8Array;
}

/** The wire description of one tensor in a header. */
export interface WireTensor {
  name: string;
  datatype: Tensor['datatype'];
  shape: number[];
  /** Bytes this tensor takes in the payload. */
  bytes: number;
}

const PREFIX = 4 + 4 + 1 + 4;
/** Frames larger than this are refused, so a corrupt length cannot make us buffer gigabytes. */
export const MAX_FRAME_BYTES = 1 << 30;

export function encodeFrame(id: number, op: number, header: Record<string, unknown>, payload: readonly Uint8Array[] = []): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const payloadBytes = payload.reduce((n, p) => n + p.byteLength, 0);
  const prefix = Buffer.allocUnsafe(PREFIX);
  prefix.writeUInt32LE(PREFIX - 4 + json.length + payloadBytes, 0);
  prefix.writeUInt32LE(id, 4);
  prefix.writeUInt8(op, 8);
  prefix.writeUInt32LE(json.length, 9);
  // A list of buffers, so tensor memory is written as is (writev) instead of being copied into one frame buffer.
  return [prefix, json, ...payload.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))];
}

/** Incremental decoder: feed it stream chunks, it hands out whole frames. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;

  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.#buffered >= 4) {
      let head = this.#chunks[0]!;
      if (head.length < 4) head = this.#merge();
      const length = head.readUInt32LE(0);
      if (length < PREFIX - 4 || length > MAX_FRAME_BYTES) throw new Error(`sidecar sent a frame of ${length} bytes; the stream is corrupt`);
      if (this.#buffered < 4 + length) break;
      const whole = this.#merge();
      const headerLength = whole.readUInt32LE(9);
      if (PREFIX + headerLength > 4 + length) throw new Error('sidecar sent a header longer than its frame; the stream is corrupt');
      frames.push({
        id: whole.readUInt32LE(4),
        op: whole.readUInt8(8),
        header: JSON.parse(whole.toString('utf8', PREFIX, PREFIX + headerLength)) as Record<string, unknown>,
        payload: whole.subarray(PREFIX + headerLength, 4 + length),
      });
      const rest = whole.subarray(4 + length);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
    }
    return frames;
  }

  #merge(): Buffer {
    const merged = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [merged];
    return merged;
  }
}

/** Tensors as header specs plus payload parts (views of the tensors' memory, not copies). */
export function tensorsToWire(tensors: readonly Tensor[]): { specs: WireTensor[]; payload: Uint8Array[] } {
  const payload = tensors.map((t) => toBinary(t));
  return { specs: tensors.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: t.shape, bytes: payload[i]!.byteLength })), payload };
}

/** Tensors back from header specs and a payload; sizes are checked against the shapes. */
export function tensorsFromWire(specs: unknown, payload: Uint8Array): Tensor[] {
  if (!Array.isArray(specs)) throw new BadTensor('sidecar reply has no tensor list');
  let offset = 0;
  return (specs as WireTensor[]).map((spec) => {
    const bytes = payload.subarray(offset, offset + spec.bytes);
    offset += spec.bytes;
    if (bytes.byteLength !== spec.bytes) throw new BadTensor(`sidecar reply: tensor "${spec.name}" overruns the payload`);
    if (spec.datatype !== 'BYTES' && elementCount(spec.shape) === 0) return fromBinary(spec.name, spec.datatype, spec.shape, new Uint8Array(0));
    return fromBinary(spec.name, spec.datatype, spec.shape, bytes);
  });
}
