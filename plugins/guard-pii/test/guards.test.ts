import { describe, expect, it } from 'vitest';
import plugin, { createGuardPiiPlugin, moderationGuard, piiGuard } from '../src/index.ts';

const prompt = 'I am jane@example.com, card 4111 1111 1111 1111, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z.';

describe('pii guard', () => {
  it('redacts by default: masked text, risk below the threshold, reasons without the values', async () => {
    const verdict = await piiGuard().pre!({ text: prompt });
    expect(verdict.action).toBe('redact');
    expect(verdict.redacted).toBe('I am [EMAIL], card [CARD], key [SECRET].');
    expect(verdict.risk).toBe(0.75);
    expect(verdict.reasons).toEqual(['masked email address', 'masked payment card number (Luhn-valid)', 'masked OpenAI API key']);
    expect(JSON.stringify(verdict.reasons)).not.toContain('jane');
    expect(verdict.findings?.map((f) => f.type)).toEqual(['email', 'card', 'secret']);
  });

  it('allows clean text', async () => {
    expect(await piiGuard().pre!({ text: 'What is 2 + 2?' })).toEqual({ action: 'allow', risk: 0, reasons: [], findings: [] });
  });

  it('blocks the types it is told to, on the side it is told to', async () => {
    const guard = piiGuard({ blockInput: ['card'], blockOutput: ['secret'] });
    const input = await guard.pre!({ text: prompt });
    expect(input).toMatchObject({ action: 'block', risk: 1 });
    expect(input.reasons[0]).toBe('blocked: payment card number (Luhn-valid)');
    expect(input.redacted).toBeUndefined();
    const output = await guard.post!({ text: 'Your card 4111 1111 1111 1111 is on file.' });
    expect(output.action).toBe('redact');
    expect((await guard.post!({ text: 'use sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z' })).action).toBe('block');
  });

  it('a lower threshold blocks high-risk types without listing them', async () => {
    const verdict = await piiGuard({ threshold: 0.7 }).pre!({ text: 'SSN 123-45-6789' });
    expect(verdict.action).toBe('block');
  });

  it('can be limited to some types', async () => {
    const verdict = await piiGuard({ types: ['email'] }).pre!({ text: prompt });
    expect(verdict.redacted).toBe('I am [EMAIL], card 4111 1111 1111 1111, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z.');
  });

  it('scan masks without a verdict, for message-by-message masking', () => {
    expect(piiGuard().scan('mail bob@example.org').masked).toBe('mail [EMAIL]');
  });
});

describe('moderation guard', () => {
  it('judges both sides with the injected call', async () => {
    const guard = moderationGuard({
      moderate: async (text) => ({ flagged: text.includes('bad'), categories: { hate: text.includes('bad') }, scores: { hate: text.includes('bad') ? 0.9 : 0.1 } }),
    });
    expect(guard.id).toBe('moderation');
    expect((await guard.pre!({ text: 'bad words' })).action).toBe('block');
    expect((await guard.post!({ text: 'kind words' })).action).toBe('allow');
  });
});

describe('plugin', () => {
  function load(options: unknown, target = plugin) {
    const guards: { id: string }[] = [];
    const parsed = target.optionsSchema!['~standard'].validate(options) as { value: unknown };
    target.setup({ options: parsed.value, register: { guard: (g: { id: string }) => guards.push(g) } } as never);
    return guards;
  }

  it('registers the pii and prompt-injection guards', () => {
    expect(load({}).map((g) => g.id)).toEqual(['pii', 'prompt-injection']);
    expect(load({ injection: { enabled: false } }).map((g) => g.id)).toEqual(['pii']);
  });

  it('passes options through to the guards', async () => {
    const [pii] = load({ pii: { blockInput: ['email'] } }) as unknown as [{ pre: (i: { text: string }) => Promise<{ action: string }> }];
    expect((await pii.pre({ text: 'x@example.com' })).action).toBe('block');
  });

  it('rejects unknown types in options', () => {
    const result = plugin.optionsSchema!['~standard'].validate({ pii: { blockInput: ['passport'] } }) as { issues?: unknown[] };
    expect(result.issues?.length).toBeGreaterThan(0);
  });

  it('takes a moderation function in code', async () => {
    const withModeration = createGuardPiiPlugin({ moderate: async () => ({ flagged: true, categories: { violence: true }, scores: { violence: 0.99 } }) });
    const guards = load({}, withModeration) as { id: string; pre?: (i: { text: string }) => Promise<{ action: string }> }[];
    const injection = guards.find((g) => g.id === 'prompt-injection')!;
    expect((await injection.pre!({ text: 'anything' })).action).toBe('block');
  });
});
