/**
 * A prompt-injection heuristic: weighted phrase rules over a normalised copy of the text, plus a look
 * inside encoded payloads. Each rule that fires adds its weight as an independent probability,
 * `risk = 1 − Π(1 − wᵢ)`, so two medium signals together outweigh either alone.
 */

export interface InjectionRule {
  readonly id: string;
  readonly weight: number;
  readonly reason: string;
  readonly pattern: RegExp;
}

const VERB_IGNORE = '(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)';
const EARLIER = '(?:previous|prior|above|earlier|preceding|initial|original|foregoing|system|developer|all)';
const DIRECTIVES = '(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|orders|constraints|programming)';

export const INJECTION_RULES: readonly InjectionRule[] = Object.freeze([
  {
    id: 'injection.ignore-previous',
    weight: 0.85,
    reason: 'asks to ignore the instructions it was given',
    pattern: new RegExp(`\\b${VERB_IGNORE}\\b[^.!?\\n]{0,30}?\\b${EARLIER}\\b[^.!?\\n]{0,25}?\\b${DIRECTIVES}\\b`),
  },
  {
    id: 'injection.new-instructions',
    weight: 0.35,
    reason: 'announces replacement instructions',
    pattern: /\b(?:new|updated|real|actual|true|revised) (?:system )?(?:instructions|rules|task|directives|prompt)\s*(?::|-|are\b|is\b)/,
  },
  {
    id: 'injection.system-prompt-exfiltration',
    weight: 0.6,
    reason: 'asks for the system prompt or hidden instructions',
    pattern:
      /\b(?:reveal|show|print|output|repeat|display|tell me|give me|what (?:is|are|was|were)|leak|dump|echo|recite|spell out|copy)\b[^.!?\n]{0,40}?\b(?:system (?:prompt|message|instructions?)|initial (?:prompt|instructions)|hidden (?:prompt|instructions|rules)|(?:your|the) (?:instructions|rules|guidelines) (?:above|before|you were given)|your (?:original |initial )?(?:prompt|instructions))/,
  },
  {
    id: 'injection.repeat-above',
    weight: 0.5,
    reason: 'asks to repeat the text before the conversation',
    pattern: /\brepeat (?:the |all )?(?:words|text|everything|content) (?:above|before this)\b/,
  },
  {
    id: 'injection.roleplay-jailbreak',
    weight: 0.8,
    reason: 'role-play that removes the model’s restrictions',
    pattern:
      /\b(?:you are|you're|act as|acting as|pretend (?:to be|you are)|role-?play as|from now on,? you(?: are|'re| will be)|imagine you are|simulate)\b[^.!?\n]{0,60}?\b(?:dan|do anything now|jailbr(?:oken|eak)|unfiltered|uncensored|unrestricted|evil|amoral|no (?:restrictions|limits|rules|filters|guidelines)|without (?:any )?(?:restrictions|limits|rules|filters|guidelines|morals|ethics))\b/,
  },
  {
    id: 'injection.dan',
    weight: 0.6,
    reason: 'names a known jailbreak persona',
    pattern: /\b(?:do anything now|dan mode|dan prompt|stan mode|dude mode|aim mode|jailbreak mode|jailbroken)\b/,
  },
  {
    id: 'injection.privileged-mode',
    weight: 0.45,
    reason: 'invokes a privileged mode',
    pattern: /\b(?:developer|dev|god|admin|debug|sudo|maintenance|unrestricted) mode\b/,
  },
  {
    id: 'injection.no-restrictions',
    weight: 0.45,
    reason: 'asks to drop safety or ethical limits',
    pattern:
      /\b(?:no|without|ignore (?:your|all|any)|free (?:of|from)|remove (?:your|all|any)) (?:any )?(?:ethical|moral|safety|content|openai|anthropic) (?:guidelines|restrictions|filters|limits|constraints|policies|polic(?:y|ies))\b/,
  },
  {
    id: 'injection.fake-delimiter',
    weight: 0.5,
    reason: 'contains chat-template or system delimiters',
    pattern: /<\|im_start\|>|<\|im_end\|>|<\|system\|>|<\|(?:begin|end)_of_text\|>|\[\/?inst\]|<<\/?sys>>|<\/?system>|###\s*(?:system|instruction)s?\s*:?/,
  },
  {
    id: 'injection.role-override',
    weight: 0.3,
    reason: 'a line claims to come from the system or assistant',
    pattern: /(?:^|\n)\s*(?:system|assistant|developer)\s*:/,
  },
  {
    id: 'injection.decode-and-follow',
    weight: 0.45,
    reason: 'asks to decode a payload and act on it',
    pattern: /\b(?:decode|decrypt|base64|rot13|hex|reverse)\b[^.!?\n]{0,40}?\b(?:follow|execute|run|obey|carry out|do what it says|then do|and do)\b/,
  },
  {
    id: 'injection.forced-prefix',
    weight: 0.2,
    reason: 'dictates how the answer must begin',
    pattern: /\b(?:start|begin) (?:your )?(?:response|reply|answer|output) with ["'“]?(?:sure|certainly|of course|absolutely)\b/,
  },
] satisfies InjectionRule[]);

/** Zero-width and bidi control characters, used to hide words from filters. */
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;
const LEET: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

/** Case-folded, compatibility-normalised, invisible characters removed, whitespace collapsed. */
export function normalise(text: string): string {
  return text.normalize('NFKC').replace(INVISIBLE, '').toLowerCase().replace(/[ \t\r\f\v]+/g, ' ');
}

function unleet(text: string): string {
  return text.replace(/[013457@$]/g, (ch) => LEET[ch] ?? ch);
}

const BASE64_RUN = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])/g;
const HEX_RUN = /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,}(?![0-9A-Fa-f])/g;

/** Decoded payloads that read as text (mostly printable ASCII): what a model could be asked to follow. */
function decodedPayloads(text: string): { kind: string; text: string }[] {
  const out: { kind: string; text: string }[] = [];
  for (const m of text.matchAll(BASE64_RUN)) {
    if (m[0].length % 4 === 1) continue;
    const decoded = Buffer.from(m[0], 'base64').toString('latin1');
    if (readable(decoded)) out.push({ kind: 'base64', text: decoded });
  }
  for (const m of text.matchAll(HEX_RUN)) {
    const decoded = Buffer.from(m[0], 'hex').toString('latin1');
    if (readable(decoded)) out.push({ kind: 'hex', text: decoded });
  }
  return out;
}

function readable(text: string): boolean {
  if (text.length < 12) return false;
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 10 || c === 9) printable++;
  }
  return printable / text.length > 0.9 && /[a-z]{3,} [a-z]{2,}/i.test(text);
}

export interface InjectionHit {
  readonly rule: string;
  readonly weight: number;
  readonly reason: string;
}

export interface InjectionAssessment {
  /** 0..1. */
  readonly risk: number;
  readonly hits: readonly InjectionHit[];
}

function matchRules(text: string, rules: readonly InjectionRule[], seen: Set<string>, hits: InjectionHit[], via = ''): void {
  for (const rule of rules) {
    if (seen.has(rule.id) || !rule.pattern.test(text)) continue;
    seen.add(rule.id);
    hits.push({ rule: rule.id, weight: rule.weight, reason: via === '' ? rule.reason : `${rule.reason} (${via})` });
  }
}

/** How likely the text is an attempt to subvert the model's instructions, and which rules say so. */
export function assessInjection(text: string, rules: readonly InjectionRule[] = INJECTION_RULES): InjectionAssessment {
  const seen = new Set<string>();
  const hits: InjectionHit[] = [];
  const plain = normalise(text);
  matchRules(plain, rules, seen, hits);
  const unleeted = unleet(plain);
  if (unleeted !== plain) matchRules(unleeted, rules, seen, hits, 'in leetspeak');
  if ((text.match(INVISIBLE)?.length ?? 0) >= 3) {
    hits.push({ rule: 'injection.hidden-characters', weight: 0.2, reason: 'hides words with invisible characters' });
  }
  for (const payload of decodedPayloads(text)) {
    const before = hits.length;
    matchRules(normalise(payload.text), rules, seen, hits, `inside a ${payload.kind} payload`);
    if (hits.length > before && !seen.has('injection.encoded-payload')) {
      seen.add('injection.encoded-payload');
      hits.push({ rule: 'injection.encoded-payload', weight: 0.5, reason: `hides instructions in ${payload.kind}` });
    }
  }
  let keep = 1;
  for (const hit of hits) keep *= 1 - hit.weight;
  return { risk: Math.round((1 - keep) * 1e6) / 1e6, hits };
}
