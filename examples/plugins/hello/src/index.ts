import { definePlugin, z } from '@modelplane/plugin-sdk';

/**
 * The smallest useful plugin: it contributes a guard that blocks text containing any of a list of words,
 * and says hello once the server is ready. Copy it to start your own; `templates/` has fuller scaffolds.
 */
export default definePlugin({
  name: 'modelplane-plugin-hello',
  version: '0.1.0',
  apiVersion: '^1',
  description: 'Example plugin: a blocked-words guard and a greeting',
  optionsSchema: z.object({
    greeting: z.string().default('hello from modelplane-plugin-hello'),
    blockedWords: z.array(z.string().min(1)).default([]),
  }),
  setup(ctx) {
    const words = ctx.options.blockedWords.map((w) => w.toLowerCase());
    const check = async ({ text }: { text: string }) => {
      const hits = words.filter((w) => text.toLowerCase().includes(w));
      return hits.length > 0
        ? { action: 'block' as const, risk: 1, reasons: hits.map((w) => `contains blocked word "${w}"`) }
        : { action: 'allow' as const, risk: 0, reasons: [] };
    };
    ctx.register.guard({ id: 'blocked-words', pre: check, post: check });
    ctx.hooks.ready.tapPromise(ctx.name, async () => {
      ctx.logger.info({ blockedWords: words.length }, ctx.options.greeting);
    });
  },
});
