import { readFileSync } from 'node:fs';

/** The version of the plugin API this core implements; plugins declare a semver range over it. */
export const PLUGIN_API_VERSION = '1.0.0';

export const CORE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
