/**
 * Server-sent events for tests: framing what the mock upstreams send, and parsing what a server under
 * test sends back, by the WHATWG rules (fields `event`, `data`, `id`, `retry`; `:` comments; LF, CR or
 * CRLF line ends; several `data` lines joined with LF; an event dispatched at a blank line).
 */
import type { ServerResponse } from 'node:http';

export interface SseEvent {
  /** The `event:` field; undefined for a plain `data:` message (type "message"). */
  event: string | undefined;
  data: string;
  id?: string;
}

/** One event on the wire, ending with its blank line. */
export function sseFrame(message: { event?: string; data: string; id?: string }): string {
  let out = '';
  if (message.event !== undefined) out += `event: ${message.event}\n`;
  if (message.id !== undefined) out += `id: ${message.id}\n`;
  for (const line of message.data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** Writes one event and resolves once it has left for the socket (so a following cut cannot swallow it). */
export function writeSse(res: ServerResponse, message: { event?: string; data: string; id?: string }): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) {
      resolve();
      return;
    }
    res.write(sseFrame(message), () => resolve());
  });
}

/** An incremental parser: feed it text as it arrives, get back the events completed so far. */
export class SseParser {
  #buffer = '';
  #event: string | undefined;
  #data: string[] = [];
  #id: string | undefined;
  #sawData = false;

  push(chunk: string): SseEvent[] {
    this.#buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (match === null) break;
      // A lone CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const event = this.#line(line);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /** Flushes a final line that had no line end; an event not closed by a blank line is dropped, as browsers do. */
  end(): SseEvent[] {
    const rest = this.#buffer;
    this.#buffer = '';
    if (rest !== '') this.#line(rest);
    return [];
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      if (!this.#sawData) {
        this.#event = undefined;
        return undefined;
      }
      const event: SseEvent = { event: this.#event, data: this.#data.join('\n') };
      if (this.#id !== undefined) event.id = this.#id;
      this.#event = undefined;
      this.#data = [];
      this.#sawData = false;
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') {
      this.#data.push(value);
      this.#sawData = true;
    } else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }
}

/** Every event in a complete SSE body. */
export function parseSse(text: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

/** Events from a streamed body (a fetch `Response.body`, a Node stream), as they arrive. */
export async function* readSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    yield* parser.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* parser.push(decoder.decode());
  yield* parser.end();
}
