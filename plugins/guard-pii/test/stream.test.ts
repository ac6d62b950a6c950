import type { GuardStream } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { detect, mask, piiGuard } from '../src/index.ts';

/** Deterministic chunk sizes (mulberry32), so a failure names a reproducible split. */
function chunker(seed: number, max: number): (text: string) => string[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (text) => {
    const out: string[] = [];
    for (let i = 0; i < text.length; ) {
      const n = 1 + Math.floor(next() * max);
      out.push(text.slice(i, i + n));
      i += n;
    }
    return out;
  };
}

interface Played {
  released: string;
  /** What the client had received when each chunk was pushed. */
  history: string[];
  blocked: boolean;
}

function play(stream: GuardStream, chunks: readonly string[]): Played {
  let released = '';
  const history: string[] = [];
  let blocked = false;
  for (const chunk of chunks) {
    const out = stream.push(chunk);
    released += out.text;
    history.push(released);
    if (out.blocked) blocked = true;
  }
  const last = stream.end();
  released += last.text;
  if (last.blocked) blocked = true;
  return { released, history, blocked };
}

const secret = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';
const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJ${'zdWIiOiIxMjM0NTY3ODkwIn0'.repeat(40)}.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`;
const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n'.repeat(30)}-----END OPENSSH PRIVATE KEY-----`;

const corpus = [
  `Sure! Email jane.doe@example.com or call +44 20 7946 0958. Your card 4111 1111 1111 1111 is saved. ${'Filler text. '.repeat(30)}Done.`,
  `Here is the config:\napi_key = "Zx9Qw3Er5Ty7Ui9Op1As"\nserver: 10.0.0.7\nIBAN DE89 3704 0044 0532 0130 00\nThat is all.`,
  `Token: Bearer ${jwt} — keep it safe. SSN 123-45-6789.`,
  `Your key:\n${pem}\nStore it in ~/.ssh.`,
  `${'No personal data here, just a long answer about the weather. '.repeat(20)}`,
  'Order 4111111111111112 shipped on 2024-01-15 to 221B Baker Street.',
];

describe('streaming post-guard, redacting', () => {
  it('any split of the output releases exactly the masked whole', () => {
    const guard = piiGuard();
    for (const text of corpus) {
      const expected = mask(text, detect(text).findings);
      for (const [seed, max] of [
        [1, 1],
        [2, 3],
        [3, 7],
        [4, 40],
        [5, 500],
      ] as const) {
        const { released, blocked } = play(guard.stream(), chunker(seed, max)(text));
        expect(blocked).toBe(false);
        expect(released).toBe(expected);
      }
    }
  });

  it('no piece of a finding is released before it is masked, however it is split', () => {
    const guard = piiGuard();
    const text = corpus[2]!;
    const { history, released } = play(guard.stream(), chunker(9, 5)(text));
    for (const sent of [...history, released]) {
      expect(sent).not.toContain('eyJ');
      expect(sent).not.toContain('123-45');
    }
    expect(history.at(-1)).toContain('Token: Bearer');
    expect(released).toBe('Token: Bearer [SECRET] — keep it safe. SSN [SSN].');
  });

  it('an unterminated private key is held to the end and masked', () => {
    const text = `key: ${pem.slice(0, 900)}`;
    const { released, history } = play(piiGuard().stream(), chunker(11, 9)(text));
    expect(released).toBe('key: [PRIVATE_KEY]');
    for (const sent of history) expect(sent).not.toContain('BEGIN');
  });

  it('clean text flows with a bounded lag', () => {
    const stream = piiGuard().stream();
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(50);
    let released = '';
    for (const piece of chunker(3, 10)(text)) released += stream.push(piece).text;
    expect(released.length).toBeGreaterThanOrEqual(text.length - 256);
    expect(released + stream.end().text).toBe(text);
  });

  it('the verdict lists what was masked, at offsets in the whole output', () => {
    const stream = piiGuard().stream();
    const text = corpus[0]!;
    play(stream, chunker(5, 4)(text));
    const verdict = stream.verdict();
    expect(verdict.action).toBe('redact');
    expect(verdict.findings?.map((f) => [f.type, text.slice(f.start, f.end)])).toEqual([
      ['email', 'jane.doe@example.com'],
      ['phone', '+44 20 7946 0958'],
      ['card', '4111 1111 1111 1111'],
    ]);
  });
});

describe('streaming post-guard, blocking', () => {
  const guard = piiGuard({ blockOutput: ['secret', 'private_key'] });

  it('a secret split across chunks never reaches the client', () => {
    const text = `Of course. Use this key: ${secret} and never share it. ${'More words follow here. '.repeat(10)}`;
    for (const [seed, max] of [
      [1, 1],
      [2, 2],
      [3, 6],
      [4, 16],
      [5, 1000],
    ] as const) {
      const { released, blocked, history } = play(guard.stream(), chunker(seed, max)(text));
      expect(blocked).toBe(true);
      for (const sent of history) {
        expect(sent).not.toContain('sk-');
        expect(text.startsWith(sent)).toBe(true); // only text before the key, unaltered
      }
      expect(released).not.toContain('never share');
    }
  });

  it('stops at the first blocking finding and stays stopped', () => {
    const stream = guard.stream();
    expect(stream.push('Here: sk-proj-Ab3dEf6hIj').text).toBe('');
    const out = stream.push('9kLm2nOp5qRs8tUv1wXy4z more');
    expect(out.text).toBe('');
    expect(out.blocked).toMatchObject({ action: 'block', risk: 1 });
    expect(out.blocked?.reasons[0]).toBe('blocked: OpenAI API key');
    expect(stream.push('anything else').blocked?.action).toBe('block');
    expect(stream.end()).toMatchObject({ text: '', blocked: { action: 'block' } });
    expect(stream.verdict().action).toBe('block');
  });

  it('a private key blocks as soon as its header is complete', () => {
    const stream = guard.stream();
    let sent = '';
    let blockedAt = -1;
    const text = `ok ${pem}`;
    for (let i = 0; i < text.length && blockedAt < 0; i++) {
      const out = stream.push(text[i]!);
      sent += out.text;
      if (out.blocked) blockedAt = i;
    }
    expect(blockedAt).toBe(text.indexOf('-----BEGIN') + '-----BEGIN OPENSSH PRIVATE KEY-----'.length - 1);
    expect(sent).toBe('');
  });

  it('masked types still pass, masked, while secrets would block', () => {
    const { released, blocked } = play(guard.stream(), chunker(7, 3)('Mail jane@example.com for help.'));
    expect(blocked).toBe(false);
    expect(released).toBe('Mail [EMAIL] for help.');
  });

  it('text held beyond the limit blocks rather than leaks', () => {
    const stream = piiGuard({ maxHold: 2000 }).stream();
    const out = play(stream, chunker(1, 50)(`${pem.slice(0, 1500)}${'A'.repeat(3000)}`));
    expect(out.blocked).toBe(true);
    expect(out.released).toBe('');
    expect(stream.verdict().reasons.at(-1)).toMatch(/more than 2000 characters/);
  });
});
