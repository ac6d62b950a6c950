import type { Guard, GuardFinding, GuardInput, GuardStream, GuardVerdict, Moderate } from '@modelplane/plugin-sdk';
import { DETECTORS, detect, holdWindow, mask, PII_TYPES, type PiiType } from './detectors.ts';
import { assessInjection, INJECTION_RULES, type InjectionRule } from './injection.ts';
import { createStreamGuard, type StreamGuardOptions } from './stream.ts';

export const DEFAULT_THRESHOLD = 0.8;

/**
 * The risk a finding carries when it is masked. All below the default threshold: masked PII is safe to
 * pass on. A type listed to block carries risk 1.
 */
export const DEFAULT_RISKS: Readonly<Record<PiiType, number>> = Object.freeze({
  email: 0.3,
  phone: 0.3,
  ip: 0.2,
  iban: 0.6,
  card: 0.7,
  ssn: 0.7,
  secret: 0.75,
  private_key: 0.75,
});

export interface PiiGuardOptions {
  /** Types to detect; all by default. */
  types?: readonly PiiType[];
  /** Types that block the prompt instead of being masked. Default none. */
  blockInput?: readonly PiiType[];
  /** Types that block the response (and stop a stream) instead of being masked. Default none. */
  blockOutput?: readonly PiiType[];
  /** Block at or above this risk. Default 0.8. */
  threshold?: number;
  risks?: Partial<Record<PiiType, number>>;
  /** Exact values never reported. */
  allow?: readonly string[];
  /** Most characters a stream may hold back (see createStreamGuard). */
  maxHold?: number;
}

const DESCRIPTIONS = new Map(DETECTORS.map((d) => [d.rule, d.description]));

/** "2 × email address", "OpenAI API key": what was found, never the value itself (it would leak into the audit log). */
function describe(findings: readonly GuardFinding[]): string[] {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.rule, (counts.get(f.rule) ?? 0) + 1);
  return [...counts].map(([rule, n]) => `${n > 1 ? `${n} × ` : ''}${DESCRIPTIONS.get(rule) ?? rule}`);
}

/**
 * A verdict from scored findings: nothing found → allow; the highest risk at or over the threshold →
 * block; otherwise → redact, with the masked text.
 */
export function piiVerdict(text: string | undefined, findings: readonly GuardFinding[], threshold: number, blockedBy?: GuardFinding): GuardVerdict {
  if (findings.length === 0) return { action: 'allow', risk: 0, reasons: [], findings: [] };
  let risk = 0;
  for (const f of findings) risk = Math.max(risk, f.risk);
  const reasons = describe(findings);
  if (risk >= threshold || blockedBy !== undefined) {
    const culprit = blockedBy ?? findings.find((f) => f.risk === risk)!;
    return { action: 'block', risk, reasons: [`blocked: ${DESCRIPTIONS.get(culprit.rule) ?? culprit.rule}`, ...reasons], findings: [...findings] };
  }
  return {
    action: 'redact',
    risk,
    reasons: reasons.map((r) => `masked ${r}`),
    ...(text === undefined ? {} : { redacted: mask(text, findings) }),
    findings: [...findings],
  };
}

export interface PiiGuard extends Guard {
  /** Findings and masked text, without a verdict: for callers that mask message by message. */
  scan(text: string): { findings: GuardFinding[]; masked: string };
  stream(): GuardStream;
}

export function piiGuard(options: PiiGuardOptions = {}): PiiGuard {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const types = new Set(options.types ?? PII_TYPES);
  const allow = new Set(options.allow ?? []);
  const risks = { ...DEFAULT_RISKS, ...options.risks };
  const blockIn = new Set(options.blockInput ?? []);
  const blockOut = new Set(options.blockOutput ?? []);
  const window = holdWindow(types);

  function findings(text: string, blocking: ReadonlySet<PiiType>): { findings: GuardFinding[]; openFrom: number } {
    const detection = detect(text, { types, allow });
    return {
      findings: detection.findings.map(({ priority: _priority, ...f }) => ({ ...f, risk: blocking.has(f.type) ? 1 : risks[f.type] })),
      openFrom: detection.openFrom,
    };
  }

  const judge = (blocking: ReadonlySet<PiiType>) => async (input: GuardInput) =>
    piiVerdict(input.text, findings(input.text, blocking).findings, threshold);

  return {
    id: 'pii',
    pre: judge(blockIn),
    post: judge(blockOut),
    scan(text) {
      const found = findings(text, blockIn).findings;
      return { findings: found, masked: mask(text, found) };
    },
    stream() {
      const streamOptions: StreamGuardOptions = options.maxHold === undefined ? {} : { maxHold: options.maxHold };
      return createStreamGuard(
        {
          window,
          scan: (text) => findings(text, blockOut),
          blocks: (f) => f.risk >= threshold,
          verdict: (all, blockedBy) => piiVerdict(undefined, all, threshold, blockedBy),
        },
        streamOptions,
      );
    },
  };
}

export type { Moderate, ModerationResult } from '@modelplane/plugin-sdk';

export interface ModerationOptions {
  moderate?: Moderate;
  /**
   * When the moderation call fails: `allow` keeps serving (and says so in the reasons), `block` refuses.
   * Default `allow`: an outage of the moderation endpoint should not take the gateway down with it.
   */
  onModerationError?: 'allow' | 'block';
}

async function moderationHits(
  moderate: Moderate,
  text: string,
  onError: 'allow' | 'block',
): Promise<{ risk: number; reasons: string[] }> {
  try {
    const result = await moderate(text);
    let risk = 0;
    const reasons: string[] = [];
    for (const score of Object.values(result.scores)) risk = Math.max(risk, score);
    for (const [category, flagged] of Object.entries(result.categories)) {
      if (flagged) reasons.push(`moderation flagged ${category} (${(result.scores[category] ?? 1).toFixed(2)})`);
    }
    // A flag from the moderation model is a block, whatever its score says.
    if (result.flagged) risk = 1;
    return { risk, reasons };
  } catch (error) {
    const why = `moderation unavailable: ${(error as Error).message}`;
    return onError === 'block' ? { risk: 1, reasons: [why] } : { risk: 0, reasons: [why] };
  }
}

export interface InjectionGuardOptions extends ModerationOptions {
  threshold?: number;
  rules?: readonly InjectionRule[];
}

/** The prompt-injection heuristic, and the moderation call when one is given, on the input. */
export function promptInjectionGuard(options: InjectionGuardOptions = {}): Guard {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const rules = options.rules ?? INJECTION_RULES;
  return {
    id: 'prompt-injection',
    async pre(input) {
      const assessment = assessInjection(input.text, rules);
      let risk = assessment.risk;
      const reasons = assessment.hits.map((h) => `${h.reason} [${h.rule} ${h.weight}]`);
      // Its own moderation function, else the one the gateway is configured with (`gateway.moderation`).
      const moderate = options.moderate ?? input.moderate;
      if (moderate !== undefined) {
        const moderation = await moderationHits(moderate, input.text, options.onModerationError ?? 'allow');
        risk = Math.max(risk, moderation.risk);
        reasons.push(...moderation.reasons);
      }
      const findings: GuardFinding[] = assessment.hits.map((h) => ({ type: 'injection', rule: h.rule, start: 0, end: input.text.length, risk: h.weight }));
      return { action: risk >= threshold ? 'block' : 'allow', risk, reasons, findings };
    },
  };
}

/** Moderation on both sides, as its own guard (`moderation`), for deployments that want it without the heuristic. */
export function moderationGuard(options: ModerationOptions & { moderate: Moderate; threshold?: number }): Guard {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const judge = async (input: GuardInput): Promise<GuardVerdict> => {
    const { risk, reasons } = await moderationHits(options.moderate, input.text, options.onModerationError ?? 'allow');
    return { action: risk >= threshold ? 'block' : 'allow', risk, reasons };
  };
  return { id: 'moderation', pre: judge, post: judge };
}
