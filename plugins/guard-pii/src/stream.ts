import type { GuardFinding, GuardStream, GuardVerdict, StreamRelease } from '@modelplane/plugin-sdk';
import { placeholder } from './detectors.ts';

/** What a streaming guard needs from a detector set. */
export interface StreamPolicy {
  /** The longest text that may still grow into a match without matching yet: always held back. */
  readonly window: number;
  /**
   * Findings in `text` (offsets into it), and where the earliest match reaching the end of `text`
   * starts (it may still grow), Infinity when none.
   */
  scan(text: string): { readonly findings: readonly GuardFinding[]; readonly openFrom: number };
  /** True when this finding must end the stream instead of being masked. */
  blocks(finding: GuardFinding): boolean;
  /** The verdict for a set of findings (offsets into the whole generated text). */
  verdict(findings: readonly GuardFinding[], blockedBy?: GuardFinding): GuardVerdict;
}

export interface StreamGuardOptions {
  /**
   * Most characters held back at once. Past it the stream is blocked rather than released: a match that
   * keeps growing (an unterminated private key) must not be let out by a size limit. Default 64 KiB.
   */
  readonly maxHold?: number;
}

/** Characters of already-released text kept for look-behinds (a match needs to know what precedes it). */
const CONTEXT = 8;

/**
 * A post-guard for a streamed response. It holds back a sliding window of the newest text — enough to
 * contain the longest pattern still forming — plus any match still reaching the end of what arrived, and
 * releases only text no future chunk can turn into a finding. Masked findings leave as placeholders; a
 * blocking finding stops the stream before any of it is released, and nothing after it is.
 */
export function createStreamGuard(policy: StreamPolicy, options: StreamGuardOptions = {}): GuardStream {
  const maxHold = options.maxHold ?? 64 * 1024;
  let context = '';
  let pending = '';
  /** Characters of raw generated text released so far (offset of `pending` in the whole text). */
  let released = 0;
  let ended = false;
  let blocked: GuardVerdict | undefined;
  const findings: GuardFinding[] = [];

  function block(finding: GuardFinding | undefined, absolute: GuardFinding[], reason?: string): StreamRelease {
    findings.push(...absolute);
    blocked = policy.verdict(findings, finding);
    if (reason !== undefined) blocked = { ...blocked, action: 'block', risk: 1, reasons: [...blocked.reasons, reason] };
    pending = '';
    return { text: '', blocked };
  }

  function step(final: boolean): StreamRelease {
    if (blocked !== undefined) return { text: '', blocked };
    const text = context + pending;
    const offset = context.length;
    const base = released - offset;
    const scan = policy.scan(text);
    const fresh = scan.findings.filter((f) => f.start >= offset);
    const absolute = fresh.map((f) => ({ ...f, start: f.start + base, end: f.end + base }));
    const stopper = absolute.find((f) => policy.blocks(f));
    if (stopper !== undefined) return block(stopper, absolute);

    let cut = text.length;
    if (!final) {
      cut = Math.min(text.length - policy.window, scan.openFrom);
      // Never cut through a finding: it goes out whole, masked, or waits.
      for (const f of fresh) if (f.start < cut && f.end > cut) cut = f.start;
      cut = Math.max(cut, offset);
      if (text.length - cut > maxHold) {
        return block(undefined, [], `more than ${maxHold} characters of output were held back waiting for a match to end`);
      }
    }
    const out = fresh.filter((f) => f.end <= cut);
    findings.push(...absolute.slice(0, out.length));
    let result = '';
    let at = offset;
    for (const f of out) {
      result += text.slice(at, f.start) + placeholder(f.type);
      at = f.end;
    }
    result += text.slice(at, cut);
    const raw = text.slice(offset, cut);
    released += raw.length;
    context = (context + raw).slice(-CONTEXT);
    pending = text.slice(cut);
    return { text: result };
  }

  return {
    push(piece: string): StreamRelease {
      if (ended) throw new Error('push after end');
      if (blocked !== undefined) return { text: '', blocked };
      pending += piece;
      return step(false);
    },
    end(): StreamRelease {
      if (ended) return blocked === undefined ? { text: '' } : { text: '', blocked };
      ended = true;
      return step(true);
    },
    verdict(): GuardVerdict {
      return blocked ?? policy.verdict(findings);
    },
  };
}
