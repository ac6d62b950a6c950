import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { defineError } from '@modelplane/plugin-sdk';

/** clamd could not be reached or did not answer: the core decides whether that is SKIPPED or FAILED. */
export const ScannerUnavailable = defineError('MP_ERR_SCANNER_UNAVAILABLE', 503);
export const ClamdError = defineError('MP_ERR_CLAMD', 502);

export type ClamdAddress = { host: string; port: number } | { socket: string };

export interface ClamdOptions {
  address: ClamdAddress;
  /** Whole-scan time limit, including connecting. */
  timeoutMs: number;
  /** Bytes per INSTREAM chunk. */
  chunkSize?: number;
}

export type ClamdVerdict = { infected: false } | { infected: true; signature: string } | { infected: null; reason: string };

/**
 * Streams a file to clamd with the INSTREAM command: each chunk is prefixed with its length as a 4-byte
 * network-order integer, and a zero length ends the stream. The reply is `stream: OK`,
 * `stream: <signature> FOUND`, or an error such as `INSTREAM size limit exceeded. ERROR`.
 */
export async function scanStream(stream: Readable, options: ClamdOptions): Promise<ClamdVerdict> {
  const socket = await open(options);
  const reply = readReply(socket);
  try {
    await write(socket, 'zINSTREAM\0');
    const chunkSize = options.chunkSize ?? 64 * 1024;
    for await (const data of stream) {
      const buffer = data as Buffer;
      for (let offset = 0; offset < buffer.length; offset += chunkSize) {
        const chunk = buffer.subarray(offset, offset + chunkSize);
        const header = Buffer.allocUnsafe(4);
        header.writeUInt32BE(chunk.length, 0);
        await write(socket, header);
        await write(socket, chunk);
      }
    }
    await write(socket, Buffer.alloc(4));
  } catch (error) {
    // clamd closes the connection when the stream passes StreamMaxLength; its reply says so, unless the reset
    // that our next write provoked discarded it.
    const answer = await reply.catch(() => undefined);
    socket.destroy();
    if (answer !== undefined) return parseReply(answer);
    return { infected: null, reason: `clamd closed the connection mid-stream (${(error as Error).message}); the file is probably larger than its StreamMaxLength` };
  }
  try {
    return parseReply(await reply);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error as NodeJS.ErrnoException).code === 'EPIPE') {
      return { infected: null, reason: 'clamd reset the connection; the file is probably larger than its StreamMaxLength' };
    }
    throw error;
  } finally {
    socket.destroy();
  }
}

export async function ping(options: ClamdOptions): Promise<boolean> {
  try {
    const socket = await open(options);
    const reply = readReply(socket);
    await write(socket, 'zPING\0');
    const answer = await reply;
    socket.destroy();
    return answer === 'PONG';
  } catch {
    return false;
  }
}

export async function version(options: ClamdOptions): Promise<string> {
  const socket = await open(options);
  const reply = readReply(socket);
  await write(socket, 'zVERSION\0');
  try {
    return await reply;
  } finally {
    socket.destroy();
  }
}

function parseReply(reply: string): ClamdVerdict {
  const body = reply.replace(/^stream: /, '');
  if (body === 'OK') return { infected: false };
  const found = /^(.*) FOUND$/.exec(body);
  if (found) return { infected: true, signature: found[1]! };
  if (/size limit exceeded/i.test(body)) return { infected: null, reason: `clamd refused the file: ${body}` };
  throw new ClamdError(`clamd answered an error: ${body}`);
}

function open(options: ClamdOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      'socket' in options.address ? connect(options.address.socket) : connect(options.address.port, options.address.host);
    const where = 'socket' in options.address ? options.address.socket : `${options.address.host}:${options.address.port}`;
    socket.setTimeout(options.timeoutMs, () =>
      socket.destroy(new ScannerUnavailable(`clamd at ${where} did not answer within ${options.timeoutMs} ms`)),
    );
    socket.once('connect', () => resolve(socket));
    socket.once('error', (error) =>
      reject(error instanceof Error && 'code' in error && String(error.code).startsWith('MP_ERR') ? error : new ScannerUnavailable(`cannot reach clamd at ${where}: ${error.message}`)),
    );
  });
}

function write(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error('connection closed'));
      return;
    }
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** clamd's z-commands end their reply with a NUL byte. */
function readReply(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\0');
      if (end >= 0) resolve(text.slice(0, end).trim());
    });
    socket.once('error', (error) => {
      const text = Buffer.concat(chunks).toString('utf8').replace(/\0$/, '').trim();
      if (text) resolve(text);
      else reject(error);
    });
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8').replace(/\0$/, '').trim();
      if (text) resolve(text);
      else reject(new ScannerUnavailable('clamd closed the connection without answering'));
    });
  });
}
