export { type App, buildServer } from './api/server.ts';
export { closeOnSignals, type RunningServer, type StartOptions, startServer } from './app.ts';
export { Errors } from './errors.ts';
export {
  type Config,
  type ConfigInput,
  ConfigSchema,
  type LoadedConfig,
  loadConfigFile,
  resolveConfig,
} from './kernel/config.ts';
export { createKernel, type Kernel, type LoadedPlugin } from './kernel/kernel.ts';
export { CORE_VERSION, PLUGIN_API_VERSION } from './version.ts';
export { generateKey as generateApiKey } from './auth/api-keys.ts';
export type { DeclaredRoute } from './api/access-control.ts';
