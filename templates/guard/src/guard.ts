import type { Guard, GuardInput, GuardVerdict } from '@modelplane/plugin-sdk';

export interface TermsOptions {
  /** Text containing any of these (case-insensitive) is blocked. */
  block: readonly string[];
  /** These are replaced by `[REDACTED]` and the text passes. */
  redact: readonly string[];
}

const escape = (term: string) => term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function termsGuard(options: TermsOptions): Guard {
  const matcher = (terms: readonly string[]) => (terms.length === 0 ? undefined : new RegExp(terms.map(escape).join('|'), 'gi'));
  const block = matcher(options.block);
  const redact = matcher(options.redact);
  const judge = async ({ text }: GuardInput): Promise<GuardVerdict> => {
    const blocked = block ? [...text.matchAll(block)] : [];
    if (blocked.length > 0) return { action: 'block', risk: 1, reasons: blocked.map((m) => `contains blocked term "${m[0]}"`) };
    const found = redact ? [...text.matchAll(redact)] : [];
    if (found.length === 0) return { action: 'allow', risk: 0, reasons: [] };
    return {
      action: 'redact',
      risk: 0.5,
      reasons: [`redacted ${found.length} term(s)`],
      redacted: text.replace(redact!, '[REDACTED]'),
      findings: found.map((m) => ({ type: 'term', rule: 'terms.redact', start: m.index, end: m.index + m[0].length, risk: 0.5 })),
    };
  };
  // The same policy on the way in (pre) and on the way out (post); without `stream`, the core judges a streamed
  // answer as a whole once it ends.
  return { id: 'template-guard', pre: judge, post: judge };
}
