/**
 * The guard conformance kit: checks a guard's verdicts (pre, post and streaming) against the guard contract, from
 * any test runner (`for (const check of guardConformance(guard, samples)) it(check.name, check.run)`).
 */
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from 'node:assert/strict';
import type { Guard, GuardStream, GuardVerdict } from '../gateway.ts';
import type { ConformanceCheck } from './runtime.ts';

export interface GuardSamples {
  /** Texts the guard must allow. */
  allowed: readonly string[];
  /** Texts the guard must redact or block. */
  flagged: readonly string[];
}

const ACTIONS = ['allow', 'redact', 'block'] as const;

function checkVerdict(verdict: GuardVerdict, text: string, what: string, streamed = false): void {
  ok(ACTIONS.includes(verdict.action), `${what}: action must be allow, redact or block, got ${String(verdict.action)}`);
  ok(typeof verdict.risk === 'number' && verdict.risk >= 0 && verdict.risk <= 1, `${what}: risk must be within 0..1, got ${verdict.risk}`);
  ok(Array.isArray(verdict.reasons), `${what}: reasons must be an array`);
  if (verdict.action !== 'allow') ok(verdict.reasons.length > 0, `${what}: a ${verdict.action} verdict must say why`);
  // A stream has already released its redacted text piece by piece, so its verdict need not repeat it.
  if (verdict.action === 'redact' && !streamed) {
    ok(typeof verdict.redacted === 'string', `${what}: a redact verdict carries the redacted text`);
    notStrictEqual(verdict.redacted, text, `${what}: the redacted text must differ from the original`);
  }
  for (const finding of verdict.findings ?? []) {
    ok(finding.start >= 0 && finding.start <= finding.end && finding.end <= text.length, `${what}: finding ${finding.rule} lies outside the text`);
    ok(finding.risk >= 0 && finding.risk <= 1, `${what}: finding ${finding.rule} has risk ${finding.risk} outside 0..1`);
  }
}

/** Feeds a text a few characters at a time, as a model streams it, and collects what the guard lets through. */
function streamThrough(stream: GuardStream, text: string): { released: string; blocked: boolean } {
  let released = '';
  for (let i = 0; i < text.length; i += 3) {
    const step = stream.push(text.slice(i, i + 3));
    released += step.text;
    if (step.blocked) return { released, blocked: true };
  }
  const last = stream.end();
  return { released: released + last.text, blocked: last.blocked !== undefined };
}

export function guardConformance(guard: Guard, samples: GuardSamples): ConformanceCheck[] {
  const phases = (['pre', 'post'] as const).filter((phase) => typeof guard[phase] === 'function');
  const judge = (phase: 'pre' | 'post', text: string) => guard[phase]!({ text, messages: [{ role: 'user', content: text }] });
  const checks: ConformanceCheck[] = [
    {
      name: 'declares an id and at least one of pre, post, stream',
      run: async () => {
        ok(typeof guard.id === 'string' && guard.id.length > 0, 'id must be a non-empty string');
        ok(phases.length > 0 || typeof guard.stream === 'function', 'a guard needs pre, post or stream');
        ok(samples.allowed.length > 0 && samples.flagged.length > 0, 'give at least one allowed and one flagged sample');
      },
    },
  ];
  for (const phase of phases) {
    checks.push(
      {
        name: `${phase}: allows the allowed samples`,
        run: async () => {
          for (const text of samples.allowed) {
            const verdict = await judge(phase, text);
            checkVerdict(verdict, text, `${phase}(${JSON.stringify(text)})`);
            strictEqual(verdict.action, 'allow', `${phase}(${JSON.stringify(text)}): ${verdict.reasons.join('; ')}`);
          }
        },
      },
      {
        name: `${phase}: redacts or blocks the flagged samples, saying why`,
        run: async () => {
          for (const text of samples.flagged) {
            const verdict = await judge(phase, text);
            checkVerdict(verdict, text, `${phase}(${JSON.stringify(text)})`);
            notStrictEqual(verdict.action, 'allow', `${phase}(${JSON.stringify(text)}) was allowed`);
          }
        },
      },
      {
        name: `${phase}: gives the same verdict every time, also when called at once`,
        run: async () => {
          for (const text of [...samples.allowed, ...samples.flagged]) {
            const all = await Promise.all(Array.from({ length: 4 }, () => judge(phase, text)));
            for (const verdict of all) deepStrictEqual(verdict, all[0]);
          }
        },
      },
    );
  }
  if (typeof guard.stream === 'function') {
    checks.push({
      name: 'stream: lets allowed text through whole and never releases a flagged sample unchanged',
      run: async () => {
        for (const text of samples.allowed) {
          const { released, blocked } = streamThrough(guard.stream!(), text);
          strictEqual(blocked, false, `stream blocked allowed text ${JSON.stringify(text)}`);
          strictEqual(released, text, 'stream must release allowed text exactly');
        }
        for (const text of samples.flagged) {
          const stream = guard.stream!();
          const { released, blocked } = streamThrough(stream, text);
          ok(blocked || released !== text, `stream released flagged text unchanged: ${JSON.stringify(text)}`);
          checkVerdict(stream.verdict(), text, `stream verdict for ${JSON.stringify(text)}`, true);
        }
      },
    });
  }
  return checks;
}
