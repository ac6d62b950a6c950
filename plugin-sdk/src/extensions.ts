/**
 * Extension points: what a plugin can contribute through `ctx.register.<point>(…)`.
 * Each point's types live in their own module.
 */
import type { Guard, RouterStrategy } from './gateway.ts';
import type { ChatProvider } from './provider.ts';
import type { RuntimePlugin } from './runtime.ts';
import type { ScannerPlugin } from './scanner.ts';
import type { ModelSource } from './source.ts';
import type { ArtifactStoreProvider, MetadataStoreProvider } from './stores.ts';
import type { ModelValidator } from './validator.ts';

export type { Contribution } from './contribution.ts';
export type * from './gateway.ts';
export type * from './provider.ts';
export type * from './runtime.ts';
export type * from './scanner.ts';
export type * from './source.ts';
export type * from './stores.ts';
export type * from './validator.ts';

/** The extension points, by the name used in `ctx.register.<name>`. */
export interface ExtensionPoints {
  runtime: RuntimePlugin;
  scanner: ScannerPlugin;
  routerStrategy: RouterStrategy;
  guard: Guard;
  provider: ChatProvider;
  metadataStore: MetadataStoreProvider;
  artifactStore: ArtifactStoreProvider;
  source: ModelSource;
  validator: ModelValidator;
}

export type ExtensionPointName = keyof ExtensionPoints;

export const EXTENSION_POINTS: readonly ExtensionPointName[] = Object.freeze([
  'runtime',
  'scanner',
  'routerStrategy',
  'guard',
  'provider',
  'metadataStore',
  'artifactStore',
  'source',
  'validator',
]);
