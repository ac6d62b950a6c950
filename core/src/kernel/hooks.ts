import { type HookName, isMpError, type ModelplaneHooks } from '@modelplane/plugin-sdk';
import { AsyncParallelHook, AsyncSeriesHook, AsyncSeriesWaterfallHook, type FullTap } from 'tapable';
import { Errors } from '../errors.ts';

export type TapListener = (hook: HookName, tap: { name: string; stage?: number }) => void;

/**
 * Builds the server's one hooks object. Taps run in the order tapable gives them (by `stage`, then
 * registration), except `shutdown`: each new tap gets a lower stage than the last, so what was set up
 * last is torn down first.
 */
export function createHooks(onTap: TapListener = () => {}): ModelplaneHooks {
  const hooks: ModelplaneHooks = {
    boot: new AsyncSeriesHook<[]>([], 'boot'),
    ready: new AsyncSeriesHook<[]>([], 'ready'),
    shutdown: new AsyncSeriesHook<[]>([], 'shutdown'),
    beforeRegisterVersion: new AsyncSeriesWaterfallHook(['metadata', 'target'], 'beforeRegisterVersion'),
    versionRegistered: new AsyncParallelHook(['version'], 'versionRegistered'),
    aliasChanged: new AsyncParallelHook(['change'], 'aliasChanged'),
    modelCallPlanned: new AsyncParallelHook(['call'], 'modelCallPlanned'),
    modelCallStarted: new AsyncParallelHook(['call'], 'modelCallStarted'),
    modelCallCompleted: new AsyncParallelHook(['call'], 'modelCallCompleted'),
    modelCallFailed: new AsyncParallelHook(['call'], 'modelCallFailed'),
    budgetThresholdCrossed: new AsyncParallelHook(['crossing'], 'budgetThresholdCrossed'),
  };
  let shutdownTaps = 0;
  for (const name of Object.keys(hooks) as HookName[]) {
    (hooks[name] as AsyncSeriesHook<[]>).intercept({
      register: (tap) => {
        const registered = name === 'shutdown' ? { ...tap, stage: -++shutdownTaps } : tap;
        onTap(name, registered);
        return LIFECYCLE.has(name) ? codeErrors(name, registered) : registered;
      },
    });
  }
  return Object.freeze(hooks);
}

/** Hooks whose failure stops the server (or its shutdown): what a tap throws there is reported as one coded line. */
const LIFECYCLE = new Set<HookName>(['boot', 'ready', 'shutdown']);

function codeErrors(hook: HookName, tap: FullTap): FullTap {
  const coded = (error: unknown) =>
    isMpError(error)
      ? error
      : new Errors.PluginHookFailed(`${hook} hook "${tap.name}" threw: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { hook, tap: tap.name },
        });
  const fn = tap.fn as (...args: unknown[]) => unknown;
  if (tap.type === 'promise') return { ...tap, fn: (...args: unknown[]) => Promise.resolve().then(() => fn(...args)).catch((error: unknown) => Promise.reject(coded(error))) };
  if (tap.type === 'async') {
    return {
      ...tap,
      fn: (...args: unknown[]) => {
        const done = args.pop() as (error?: unknown, result?: unknown) => void;
        fn(...args, (error: unknown, result: unknown) => (error ? done(coded(error)) : done(error, result)));
      },
    };
  }
  return {
    ...tap,
    fn: (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (error) {
        throw coded(error);
      }
    },
  };
}
