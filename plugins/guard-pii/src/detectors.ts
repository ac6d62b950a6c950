import { isIPv6 } from 'node:net';
import type { GuardFinding } from '@modelplane/plugin-sdk';
import {
  cardNumberValid,
  IBAN_LENGTHS,
  ibanChecksumValid,
  looksLikePassword,
  looksLikeSecret,
  nanpValid,
  ssnValid,
} from './validators.ts';

export const PII_TYPES = ['email', 'phone', 'card', 'iban', 'ssn', 'ip', 'secret', 'private_key'] as const;
export type PiiType = (typeof PII_TYPES)[number];

/** `[EMAIL]`, `[PRIVATE_KEY]` … */
export function placeholder(type: string): string {
  return `[${type.toUpperCase()}]`;
}

/**
 * What a match means once checked: how many of its characters are the finding (a card number followed by
 * more digits, an IBAN followed by a word), or 0 when it is not one. Offsets inside the match.
 */
type Accept = (match: RegExpExecArray) => { start: number; end: number } | null;

export interface Detector {
  readonly rule: string;
  readonly type: PiiType;
  readonly description: string;
  /** Global; with the `d` flag when `group` picks the part to mask. */
  readonly pattern: RegExp;
  readonly group?: number;
  readonly accept?: Accept;
  /**
   * The longest text that can still be growing into a match without matching yet. A stream holds back
   * at least this much; once a prefix matches, the match itself holds the text (see stream.ts).
   */
  readonly maxPending: number;
}

const whole = (m: RegExpExecArray) => ({ start: 0, end: m[0].length });

/**
 * Separator positions where a longer run of digit groups may be cut: "4111 1111 1111 1111 12" is a card
 * followed by a number, not an 18-digit non-card.
 */
function groupEnds(text: string): number[] {
  const ends: number[] = [];
  for (let i = text.length - 1; i > 0; i--) if (text[i] === ' ' || text[i] === '-') ends.push(i);
  return ends;
}

const acceptCard: Accept = (m) => {
  const text = m[0];
  for (const end of [text.length, ...groupEnds(text)]) {
    if (cardNumberValid(text.slice(0, end).replace(/[ -]/g, ''))) return { start: 0, end };
  }
  return null;
};

const acceptIban: Accept = (m) => {
  const text = m[0].toUpperCase();
  const length = IBAN_LENGTHS[text.slice(0, 2)];
  if (length === undefined) return null;
  let seen = 0;
  let end = 0;
  while (end < text.length && seen < length) {
    if (text[end] !== ' ') seen++;
    end++;
  }
  // The IBAN must end where a group ends, not in the middle of a longer token.
  if (seen < length || (end < text.length && text[end] !== ' ')) return null;
  return ibanChecksumValid(text.slice(0, end).replace(/ /g, '')) ? { start: 0, end } : null;
};

const acceptSsn: Accept = (m) => (ssnValid(m[1]!, m[3]!, m[4]!) ? whole(m) : null);

const acceptUsPhone: Accept = (m) => (nanpValid(m[0].replace(/\D/g, '')) ? whole(m) : null);

const acceptIntlPhone: Accept = (m) => {
  const digits = m[0].replace(/\D/g, '');
  if (digits.length < 8 || digits.length > 15) return null;
  return digits.startsWith('1') && !nanpValid(digits) ? null : whole(m);
};

const acceptEmail: Accept = (m) => (m[0].length <= 254 ? whole(m) : null);

const acceptIpv6: Accept = (m) => (/\d/.test(m[0]) && isIPv6(m[0]) ? whole(m) : null);

/** Accepts only the captured value (after `key=`, after `Bearer `), when `check` says it is one. */
function valueOf(check: (value: string) => boolean): Accept {
  return (m) => {
    const [start, end] = m.indices![1]!;
    return check(m[1]!) ? { start: start - m.index, end: end - m.index } : null;
  };
}

const acceptSecretValue = valueOf((v) => looksLikeSecret(v));
const acceptPasswordValue = valueOf(looksLikePassword);
const acceptBearer = valueOf((v) => looksLikeSecret(v, 20, 3));

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/**
 * In priority order: where two findings overlap, the earlier detector wins (an IPv4-mapped IPv6 address is one
 * IPv6 address, not an IPv4 inside one; a private key block swallows everything in it).
 */
export const DETECTORS: readonly Detector[] = Object.freeze([
  {
    rule: 'private_key.pem',
    type: 'private_key',
    description: 'PEM private key',
    // An unterminated block runs to the end of the text: half a key is still a key.
    pattern: /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----|$)/g,
    maxPending: 64,
  },
  {
    rule: 'secret.anthropic',
    type: 'secret',
    description: 'Anthropic API key',
    pattern: /(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}/g,
    maxPending: 32,
  },
  {
    rule: 'secret.openai',
    type: 'secret',
    description: 'OpenAI API key',
    pattern: /(?<![\w-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g,
    maxPending: 40,
  },
  {
    rule: 'secret.aws',
    type: 'secret',
    description: 'AWS access key id',
    pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Z0-9])/g,
    maxPending: 24,
  },
  {
    rule: 'secret.github',
    type: 'secret',
    description: 'GitHub token',
    pattern: /(?<!\w)(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
    maxPending: 48,
  },
  {
    rule: 'secret.slack',
    type: 'secret',
    description: 'Slack token or webhook',
    pattern: /(?<!\w)(?:xox[abposr]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{20,})/g,
    maxPending: 80,
  },
  {
    rule: 'secret.google',
    type: 'secret',
    description: 'Google API key',
    pattern: /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g,
    maxPending: 48,
  },
  {
    rule: 'secret.stripe',
    type: 'secret',
    description: 'Stripe live key',
    pattern: /(?<!\w)(?:sk|rk)_live_[0-9A-Za-z]{20,}/g,
    maxPending: 40,
  },
  {
    rule: 'secret.jwt',
    type: 'secret',
    description: 'JSON Web Token',
    pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    maxPending: 48,
  },
  {
    rule: 'secret.bearer',
    type: 'secret',
    description: 'bearer token',
    pattern: /\b[Bb]earer[ \t]{1,4}([A-Za-z0-9._~+/-]{20,}=*)/dg,
    group: 1,
    accept: acceptBearer,
    maxPending: 40,
  },
  {
    rule: 'secret.password',
    type: 'secret',
    description: 'password assignment',
    pattern: /\b(?:passw(?:or)?d|passwd|pwd)[ \t]{0,4}[:=][ \t]{0,4}["']?([^\s"'`,;]{6,})/dgi,
    group: 1,
    accept: acceptPasswordValue,
    maxPending: 40,
  },
  {
    rule: 'secret.generic',
    type: 'secret',
    description: 'high-entropy value assigned to a key, secret or token',
    pattern:
      /\b[\w.-]{0,40}?(?:api[_-]?key|access[_-]?key|secret|token|credential)[\w.-]{0,40}["']?[ \t]{0,4}[:=][ \t]{0,4}["']?([A-Za-z0-9_\-./+=~]{16,})/dgi,
    group: 1,
    accept: acceptSecretValue,
    maxPending: 128,
  },
  {
    rule: 'card',
    type: 'card',
    description: 'payment card number (Luhn-valid)',
    pattern: /(?<![\d-])(?:\d[ -]?){12,18}\d(?!\d)/g,
    accept: acceptCard,
    maxPending: 40,
  },
  {
    rule: 'iban',
    type: 'iban',
    description: 'IBAN (mod-97 valid)',
    pattern: /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])/g,
    accept: acceptIban,
    maxPending: 48,
  },
  {
    rule: 'ssn',
    type: 'ssn',
    description: 'US Social Security number',
    pattern: /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g,
    accept: acceptSsn,
    maxPending: 12,
  },
  {
    rule: 'email',
    type: 'email',
    description: 'email address',
    pattern: /(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/g,
    accept: acceptEmail,
    maxPending: 256,
  },
  {
    rule: 'phone.us',
    type: 'phone',
    description: 'US phone number',
    pattern: /(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)/g,
    accept: acceptUsPhone,
    maxPending: 24,
  },
  {
    rule: 'phone.intl',
    type: 'phone',
    description: 'international phone number',
    pattern: /(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,6}(?!\d)/g,
    accept: acceptIntlPhone,
    maxPending: 48,
  },
  {
    rule: 'ip.v6',
    type: 'ip',
    description: 'IPv6 address',
    pattern: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?!\w|:[0-9A-Fa-f])/g,
    accept: acceptIpv6,
    maxPending: 48,
  },
  {
    rule: 'ip.v4',
    type: 'ip',
    description: 'IPv4 address',
    pattern: new RegExp(`(?<![\\w.])(?:${OCTET}\\.){3}${OCTET}(?!\\.?\\d)`, 'g'),
    maxPending: 16,
  },
] satisfies Detector[]);

export interface DetectOptions {
  /** Which types to look for; all when absent. */
  readonly types?: ReadonlySet<PiiType>;
  /** Exact values never reported (the company's support address, a documented example key …). */
  readonly allow?: ReadonlySet<string>;
}

export interface Detection {
  /** Accepted, non-overlapping, by start offset. */
  readonly findings: RawFinding[];
  /**
   * Start of the earliest raw match that reaches the end of the text: it may still grow (a key being
   * streamed), so a stream must not release anything from here on. Infinity when none.
   */
  readonly openFrom: number;
}

export interface RawFinding extends GuardFinding {
  readonly type: PiiType;
  readonly priority: number;
}

/** Every PII and secret finding in the text, overlaps resolved by detector priority. */
export function detect(text: string, options: DetectOptions = {}): Detection {
  const candidates: RawFinding[] = [];
  let openFrom = Number.POSITIVE_INFINITY;
  for (let priority = 0; priority < DETECTORS.length; priority++) {
    const detector = DETECTORS[priority]!;
    if (options.types !== undefined && !options.types.has(detector.type)) continue;
    const pattern = detector.pattern;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m[0].length === 0) {
        pattern.lastIndex++;
        continue;
      }
      if (m.index + m[0].length >= text.length && m.index < openFrom) openFrom = m.index;
      const span = detector.accept === undefined ? whole(m) : detector.accept(m);
      if (span === null) continue;
      const start = m.index + span.start;
      const end = m.index + span.end;
      if (options.allow?.has(text.slice(start, end))) continue;
      candidates.push({ type: detector.type, rule: detector.rule, start, end, risk: 0, priority });
    }
  }
  return { findings: resolveOverlaps(candidates), openFrom };
}

function resolveOverlaps(candidates: RawFinding[]): RawFinding[] {
  if (candidates.length < 2) return candidates;
  candidates.sort((a, b) => a.priority - b.priority || a.start - b.start);
  const kept: RawFinding[] = [];
  for (const c of candidates) {
    if (!kept.some((k) => c.start < k.end && k.start < c.end)) kept.push(c);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** The longest pending text any enabled detector needs to see before it can match. */
export function holdWindow(types?: ReadonlySet<PiiType>): number {
  let window = 0;
  for (const d of DETECTORS) if (types === undefined || types.has(d.type)) window = Math.max(window, d.maxPending);
  return window;
}

/** The text with each finding replaced by its typed placeholder. Findings must not overlap. */
export function mask(text: string, findings: readonly GuardFinding[], offset = 0): string {
  if (findings.length === 0) return text;
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start - offset) + placeholder(f.type);
    at = f.end - offset;
  }
  return out + text.slice(at);
}
