import { definePlugin, z } from '@modelplane/plugin-sdk';
import { PII_TYPES } from './detectors.ts';
import { DEFAULT_THRESHOLD, type Moderate, piiGuard, promptInjectionGuard } from './guards.ts';

export { DETECTORS, type Detector, type Detection, detect, holdWindow, mask, PII_TYPES, type PiiType, placeholder } from './detectors.ts';
export {
  DEFAULT_RISKS,
  DEFAULT_THRESHOLD,
  type InjectionGuardOptions,
  type Moderate,
  type ModerationOptions,
  type ModerationResult,
  moderationGuard,
  type PiiGuard,
  type PiiGuardOptions,
  piiGuard,
  piiVerdict,
  promptInjectionGuard,
} from './guards.ts';
export { assessInjection, type InjectionAssessment, type InjectionRule, INJECTION_RULES, normalise } from './injection.ts';
export { createStreamGuard, type StreamGuardOptions, type StreamPolicy } from './stream.ts';
export { cardNumberValid, IBAN_LENGTHS, ibanChecksumValid, luhnValid, shannonEntropy, ssnValid } from './validators.ts';

const VERSION = '0.1.0';
const piiType = z.enum(PII_TYPES);

export const GuardPiiOptions = z
  .object({
    threshold: z.number().min(0).max(1).default(DEFAULT_THRESHOLD),
    pii: z
      .object({
        types: z.array(piiType).optional(),
        blockInput: z.array(piiType).default([]),
        blockOutput: z.array(piiType).default([]),
        allow: z.array(z.string()).default([]),
        maxHold: z.int().positive().optional(),
      })
      .strict()
      .default({ blockInput: [], blockOutput: [], allow: [] }),
    injection: z
      .object({
        enabled: z.boolean().default(true),
        /** When the moderation call (`gateway.moderation`) fails: `allow` serves on and says so, `block` refuses. */
        onModerationError: z.enum(['allow', 'block']).default('allow'),
      })
      .strict()
      .default({ enabled: true, onModerationError: 'allow' }),
  })
  .strict();

/**
 * The plugin, with an optional moderation function: config cannot carry a function, so a composition
 * that has the OpenAI provider passes its moderation call here (`createGuardPiiPlugin({ moderate })`).
 */
export function createGuardPiiPlugin(deps: { moderate?: Moderate } = {}) {
  return definePlugin({
    name: '@modelplane/guard-pii',
    version: VERSION,
    apiVersion: '^1',
    description: 'PII and secret masking, prompt-injection heuristic, streaming output guard',
    optionsSchema: GuardPiiOptions,
    setup(ctx) {
      const { threshold, pii, injection } = ctx.options;
      ctx.register.guard(piiGuard({ ...pii, threshold }));
      if (injection.enabled) {
        ctx.register.guard(
          promptInjectionGuard({ threshold, onModerationError: injection.onModerationError, ...(deps.moderate === undefined ? {} : { moderate: deps.moderate }) }),
        );
      }
    },
  });
}

export default createGuardPiiPlugin();
