import { definePlugin } from '@modelplane/plugin-sdk';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.ts';
import { createHooks } from './hooks.ts';
import { createKernel } from './kernel.ts';
import { Errors } from '../errors.ts';

describe('hooks', () => {
  it('is one frozen object with the lifecycle hooks', () => {
    const hooks = createHooks();
    expect(Object.isFrozen(hooks)).toBe(true);
    expect(Object.keys(hooks)).toEqual(expect.arrayContaining(['boot', 'ready', 'shutdown', 'versionRegistered']));
  });

  it('runs boot in plugin order and shutdown in reverse, recording who tapped what', async () => {
    const calls: string[] = [];
    const recorder = (name: string) =>
      definePlugin({
        name,
        version: '1.0.0',
        apiVersion: '^1',
        setup(ctx) {
          ctx.hooks.boot.tapPromise(name, async () => {
            calls.push(`boot:${name}`);
          });
          ctx.hooks.shutdown.tapPromise(name, async () => {
            calls.push(`shutdown:${name}`);
          });
        },
      });
    const kernel = await createKernel({
      loaded: resolveConfig({ storage: { dataDir: '/tmp/mp-hooks-test' } }),
      logger: pino({ level: 'silent' }),
      builtins: [recorder('a'), recorder('b'), recorder('c')],
    });
    await kernel.boot();
    await kernel.shutdown();
    await kernel.shutdown(); // idempotent
    expect(calls).toEqual(['boot:a', 'boot:b', 'boot:c', 'shutdown:c', 'shutdown:b', 'shutdown:a']);
    expect(kernel.plugins.map((p) => p.hooks)).toEqual([
      ['boot', 'shutdown'],
      ['boot', 'shutdown'],
      ['boot', 'shutdown'],
    ]);
  });

  it('orders ordinary taps by stage, then registration', async () => {
    const hooks = createHooks();
    const calls: string[] = [];
    hooks.ready.tap('late', () => void calls.push('late'));
    hooks.ready.tap({ name: 'early', stage: -10 }, () => void calls.push('early'));
    hooks.ready.tap('second', () => void calls.push('second'));
    await hooks.ready.promise();
    expect(calls).toEqual(['early', 'late', 'second']);
  });

  it('reports what a lifecycle tap throws as a coded error naming the hook and the tap, however it was tapped', async () => {
    const failure = (promise: Promise<unknown>) => promise.then(() => expect.unreachable(), (error: { code: string; message: string }) => `${error.code}: ${error.message}`);
    const sync = createHooks();
    sync.boot.tap('plugin-a', () => {
      throw new Error('no database');
    });
    expect(await failure(sync.boot.promise())).toBe('MP_ERR_PLUGIN_HOOK_FAILED: boot hook "plugin-a" threw: no database');
    const promised = createHooks();
    promised.ready.tapPromise('plugin-b', async () => Promise.reject(new Error('warm-up failed')));
    expect(await failure(promised.ready.promise())).toBe('MP_ERR_PLUGIN_HOOK_FAILED: ready hook "plugin-b" threw: warm-up failed');
    const callback = createHooks();
    callback.shutdown.tapAsync('plugin-c', (done) => done(new Error('flush failed')));
    expect(await failure(callback.shutdown.promise())).toBe('MP_ERR_PLUGIN_HOOK_FAILED: shutdown hook "plugin-c" threw: flush failed');
    // Coded errors pass through as they are; other hooks are not touched (beforeRegisterVersion throws coded 4xx).
    const ok = createHooks();
    ok.boot.tap('plugin-d', () => {
      throw new Errors.ConfigInvalid('bad');
    });
    expect(await failure(ok.boot.promise())).toBe('MP_ERR_CONFIG_INVALID: bad');
    ok.versionRegistered.tapPromise('plugin-e', async () => Promise.reject(new Error('plain')));
    await expect(ok.versionRegistered.promise({} as never)).rejects.toThrow(/^plain$/);
  });
});
