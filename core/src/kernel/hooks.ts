import type { HookName, ModelplaneHooks } from '@modelplane/plugin-sdk';
import { AsyncParallelHook, AsyncSeriesHook, AsyncSeriesWaterfallHook } from 'tapable';

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
        return registered;
      },
    });
  }
  return Object.freeze(hooks);
}
