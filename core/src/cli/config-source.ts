import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type LoadedConfig, loadConfigFile, resolveConfig } from '../kernel/config.ts';

export const DEFAULT_CONFIG_NAMES = ['modelplane.config.yaml', 'modelplane.config.yml', 'modelplane.config.json'];

/** `-c file` if given, else a modelplane.config.* in the working directory, else the embedded defaults. */
export async function loadConfigForCli(file: string | undefined): Promise<LoadedConfig> {
  if (file) return loadConfigFile(file);
  const found = DEFAULT_CONFIG_NAMES.map((name) => resolve(name)).find((path) => existsSync(path));
  return found ? loadConfigFile(found) : resolveConfig({});
}
