import { crc32, inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  encrypted: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipLimits {
  /** Largest decompressed entry. */
  maxEntryBytes: number;
  /** Largest decompressed/compressed ratio (archive bombs). */
  maxRatio: number;
}

export class ZipError extends Error {}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;

export function isZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && (bytes.readUInt32LE(0) === LOCAL || bytes.readUInt32LE(0) === EOCD);
}

/** Reads the central directory (ZIP64 included); the entries are checked against their local headers when read. */
export function listEntries(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record: truncated or not a zip');
  let count = zip.readUInt16LE(eocd + 10);
  let directoryOffset = zip.readUInt32LE(eocd + 16);
  if ((count === 0xffff || directoryOffset === 0xffffffff) && eocd >= 20 && zip.readUInt32LE(eocd - 20) === ZIP64_EOCD_LOCATOR) {
    const zip64 = Number(zip.readBigUInt64LE(eocd - 20 + 8));
    if (zip64 + 56 > zip.length || zip.readUInt32LE(zip64) !== ZIP64_EOCD) throw new ZipError('broken ZIP64 end-of-central-directory record');
    count = Number(zip.readBigUInt64LE(zip64 + 32));
    directoryOffset = Number(zip.readBigUInt64LE(zip64 + 48));
  }
  const entries: ZipEntry[] = [];
  let offset = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== CENTRAL) throw new ZipError(`central directory entry ${i} is damaged`);
    const flags = zip.readUInt16LE(offset + 8);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    let compressedSize = zip.readUInt32LE(offset + 20);
    let size = zip.readUInt32LE(offset + 24);
    let localHeaderOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    // ZIP64 extra field (id 1): the 0xffffffff fields, in order.
    let extra = offset + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = zip.readUInt16LE(extra);
      const length = zip.readUInt16LE(extra + 2);
      if (id === 1) {
        let field = extra + 4;
        if (size === 0xffffffff) {
          size = Number(zip.readBigUInt64LE(field));
          field += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(zip.readBigUInt64LE(field));
          field += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(zip.readBigUInt64LE(field));
      }
      extra += 4 + length;
    }
    entries.push({ name, encrypted: (flags & 1) === 1, method: zip.readUInt16LE(offset + 10), crc: zip.readUInt32LE(offset + 16), compressedSize, size, localHeaderOffset });
    offset = extraEnd + commentLength;
  }
  return entries;
}

/** An entry's bytes, after checking its local header, size limits, method and CRC; any problem throws. */
export function readEntry(zip: Buffer, entry: ZipEntry, limits: ZipLimits): Buffer {
  if (entry.encrypted) throw new ZipError('the entry is encrypted, so it cannot be inspected');
  const at = entry.localHeaderOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== LOCAL) throw new ZipError('its local header is missing or damaged');
  const nameLength = zip.readUInt16LE(at + 26);
  const localName = zip.toString('utf8', at + 30, at + 30 + nameLength);
  if (localName !== entry.name) throw new ZipError(`its local header names "${localName}", the central directory "${entry.name}"`);
  const start = at + 30 + nameLength + zip.readUInt16LE(at + 28);
  if (start + entry.compressedSize > zip.length) throw new ZipError('its data runs past the end of the archive');
  if (entry.size > limits.maxEntryBytes) throw new ZipError(`it expands to ${entry.size} bytes, over the ${limits.maxEntryBytes}-byte limit`);
  if (entry.compressedSize > 0 && entry.size / entry.compressedSize > limits.maxRatio) {
    throw new ZipError(`its compression ratio ${(entry.size / entry.compressedSize).toFixed(0)}:1 exceeds ${limits.maxRatio}:1 (archive bomb?)`);
  }
  const stored = zip.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = stored;
  else if (entry.method === 8) {
    try {
      data = inflateRawSync(stored, { maxOutputLength: Math.max(1, Math.min(limits.maxEntryBytes, entry.size + 1)) });
    } catch (error) {
      throw new ZipError(`its deflate data is corrupt or larger than declared: ${(error as Error).message}`);
    }
  } else throw new ZipError(`it uses compression method ${entry.method}, which the scanner does not read`);
  if (data.length !== entry.size) throw new ZipError(`it holds ${data.length} bytes, the directory says ${entry.size}`);
  if (crc32(data) >>> 0 !== entry.crc >>> 0) throw new ZipError('its CRC-32 does not match its data (corrupt or tampered)');
  return data;
}
