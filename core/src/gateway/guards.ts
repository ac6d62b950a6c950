import type { ChatMessage, Guard, GuardFinding, GuardStream, GuardVerdict, Moderate, StreamRelease } from '@modelplane/plugin-sdk';
import { Errors } from '../errors.ts';

/** One guard's decision, as the audit trail and the cost event record it. */
export interface GuardDecision {
  guard: string;
  stage: 'pre' | 'post' | 'stream';
  action: GuardVerdict['action'];
  risk: number;
  reasons: string[];
  /** Finding types and rules only: the matched text itself is never recorded. */
  findings: Array<Pick<GuardFinding, 'type' | 'rule'>>;
}

function decision(guard: string, stage: GuardDecision['stage'], verdict: GuardVerdict): GuardDecision {
  return {
    guard,
    stage,
    action: verdict.action,
    risk: verdict.risk,
    reasons: verdict.reasons,
    findings: (verdict.findings ?? []).map((f) => ({ type: f.type, rule: f.rule })),
  };
}

/**
 * Runs the installed guards around a call: `pre` on every message before any vendor sees it (redactions
 * replace the message text), `post` on a whole answer, and on a stream each guard's `stream()` filter in
 * series, so text reaches the client only once every guard has released it. A guard that cannot filter a
 * stream holds the whole answer back and judges it at the end: slower, but a block still blocks.
 */
export interface GuardPipelineOptions {
  /** The moderation call handed to guards in every input (`gateway.moderation`). */
  moderate?: Moderate;
  /** Record `allow` decisions too (one per guard and stage), not only redactions and blocks. */
  recordAllows?: boolean;
}

export class GuardPipeline {
  readonly #guards: readonly Guard[];
  readonly #extra: { moderate?: Moderate };
  readonly recordAllows: boolean;

  constructor(guards: readonly Guard[], options: GuardPipelineOptions = {}) {
    this.#guards = guards;
    this.#extra = options.moderate ? { moderate: options.moderate } : {};
    this.recordAllows = options.recordAllows ?? false;
  }

  get empty(): boolean {
    return this.#guards.length === 0;
  }

  async pre(messages: readonly ChatMessage[], context: { model: string; principal: string }): Promise<{ messages: ChatMessage[]; decisions: GuardDecision[] }> {
    const decisions: GuardDecision[] = [];
    let current = [...messages];
    for (const guard of this.#guards) {
      if (!guard.pre) continue;
      const next: ChatMessage[] = [];
      let highest = 0;
      const before = decisions.length;
      for (const [i, message] of current.entries()) {
        const verdict = await guard.pre({ text: message.content, messages: current, model: context.model, principal: context.principal, ...this.#extra });
        highest = Math.max(highest, verdict.risk);
        if (verdict.action !== 'allow') decisions.push({ ...decision(guard.id, 'pre', verdict), reasons: verdict.reasons.map((r) => `messages[${i}]: ${r}`) });
        if (verdict.action === 'block') {
          throw new Errors.GuardBlocked(`guard "${guard.id}" blocked the request: messages[${i}] (${message.role}): ${verdict.reasons.join('; ') || 'risk too high'}`, {
            details: { decisions },
          });
        }
        next.push(verdict.action === 'redact' && verdict.redacted !== undefined ? { ...message, content: verdict.redacted } : message);
      }
      if (this.recordAllows && decisions.length === before) decisions.push({ guard: guard.id, stage: 'pre', action: 'allow', risk: highest, reasons: [], findings: [] });
      current = next;
    }
    return { messages: current, decisions };
  }

  async post(
    text: string,
    context: { model: string; principal: string },
    only: (guard: Guard) => boolean = () => true,
  ): Promise<{ text: string; blocked?: GuardDecision; decisions: GuardDecision[] }> {
    const decisions: GuardDecision[] = [];
    let current = text;
    for (const guard of this.#guards) {
      if (!guard.post || !only(guard)) continue;
      const verdict = await guard.post({ text: current, model: context.model, principal: context.principal, ...this.#extra });
      const made = decision(guard.id, 'post', verdict);
      if (verdict.action === 'allow') {
        if (this.recordAllows) decisions.push(made);
        continue;
      }
      decisions.push(made);
      if (verdict.action === 'block') return { text: '', blocked: made, decisions };
      if (verdict.redacted !== undefined) current = verdict.redacted;
    }
    return { text: current, decisions };
  }

  /** A filter for one streamed answer. `push` and `end` return what may be sent now. */
  stream(context: { model: string; principal: string }): StreamFilter {
    return new StreamFilter(this, this.#guards, context);
  }
}

export class StreamFilter {
  readonly #pipeline: GuardPipeline;
  readonly #streams: Array<{ id: string; stream: GuardStream }>;
  readonly #holdAll: boolean;
  readonly #context: { model: string; principal: string };
  #held = '';
  blocked: GuardDecision | undefined;
  readonly decisions: GuardDecision[] = [];

  constructor(pipeline: GuardPipeline, guards: readonly Guard[], context: { model: string; principal: string }) {
    this.#pipeline = pipeline;
    this.#context = context;
    this.#streams = guards.filter((g) => g.stream).map((g) => ({ id: g.id, stream: g.stream!({ model: context.model, principal: context.principal }) }));
    this.#holdAll = guards.some((g) => !g.stream && g.post);
  }

  #through(text: string, final: boolean): string {
    let current = text;
    for (const { id, stream } of this.#streams) {
      let release: StreamRelease = stream.push(current);
      if (final && release.blocked === undefined) {
        const rest = stream.end();
        release = { text: release.text + rest.text, ...(rest.blocked ? { blocked: rest.blocked } : {}) };
      }
      if (release.blocked) {
        this.blocked = decision(id, 'stream', release.blocked);
        this.decisions.push(this.blocked);
        return '';
      }
      current = release.text;
    }
    return current;
  }

  push(text: string): string {
    if (this.blocked) return '';
    const released = this.#through(text, false);
    if (!this.#holdAll) return released;
    this.#held += released;
    return '';
  }

  async end(): Promise<string> {
    if (this.blocked) return '';
    const released = this.#through('', true);
    for (const { id, stream } of this.#streams) {
      const verdict = stream.verdict();
      if (verdict.action === 'redact' || (verdict.action === 'allow' && this.#pipeline.recordAllows)) this.decisions.push(decision(id, 'stream', verdict));
    }
    if (this.blocked || !this.#holdAll) return released;
    // Guards with a stream filter have judged this text already.
    const judged = await this.#pipeline.post(this.#held + released, this.#context, (g) => !g.stream);
    this.decisions.push(...judged.decisions);
    if (judged.blocked) {
      this.blocked = judged.blocked;
      return '';
    }
    return judged.text;
  }
}
