import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseSse, readSse, SseParser, sseFrame } from '../support/sse.ts';

describe('SSE framing and parsing', () => {
  it('frames events with their name and one data line per line', () => {
    expect(sseFrame({ event: 'ping', data: '{"type":"ping"}' })).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(sseFrame({ data: 'a\nb', id: '7' })).toBe('id: 7\ndata: a\ndata: b\n\n');
  });

  it('parses what it frames', () => {
    const wire = [sseFrame({ event: 'message_start', data: '{}' }), sseFrame({ data: 'line one\nline two' }), sseFrame({ data: '[DONE]' })].join('');
    expect(parseSse(wire)).toEqual([
      { event: 'message_start', data: '{}' },
      { event: undefined, data: 'line one\nline two' },
      { event: undefined, data: '[DONE]' },
    ]);
  });

  it('follows the spec: CRLF and CR line ends, comments, no space after the colon, ids', () => {
    const wire = ': keep-alive\r\nevent:delta\r\ndata:x\r\nid: 3\r\n\r\ndata: y\r\rdata\n\n';
    expect(parseSse(wire)).toEqual([
      { event: 'delta', data: 'x', id: '3' },
      { event: undefined, data: 'y', id: '3' },
      { event: undefined, data: '', id: '3' },
    ]);
  });

  it('an event without its blank line is not dispatched, and a block without data is not an event', () => {
    expect(parseSse('event: ping\n\ndata: half')).toEqual([]);
  });

  it('assembles events split anywhere, CRLF split included', () => {
    const wire = 'event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n';
    for (let cut = 1; cut < wire.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(wire.slice(0, cut)), ...parser.push(wire.slice(cut)), ...parser.end()];
      expect(events).toEqual([
        { event: 'a', data: '1' },
        { event: undefined, data: '2' },
      ]);
    }
  });

  it('reads a byte stream, multi-byte characters split across chunks', async () => {
    const bytes = Buffer.from('data: héllo wörld ✓\n\n');
    const chunks = [bytes.subarray(0, 8), bytes.subarray(8, 9), bytes.subarray(9)];
    const events = [];
    for await (const event of readSse(Readable.from(chunks))) events.push(event);
    expect(events).toEqual([{ event: undefined, data: 'héllo wörld ✓' }]);
  });
});
